"""Precision and recall of the rules classifier over the labelled sets.

``labelled.jsonl`` is the dev split the rules were written against;
``heldout.jsonl`` was committed before the rules and never tuned on, so its
numbers are the honest ones. The tables are printed in pytest's terminal
summary and must match the README (``python bench/evaluate.py --write-readme``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from classifiers_metrics import REPORTS, Example, binary, load, score, stdlib_paragraphs, table_for
from supportai_classifiers import INTENTS, SECURITY_INTENTS, SUPPORT_INTENTS, RulesClassifier

README = Path(__file__).resolve().parent.parent / "README.md"
CLASSIFIER = RulesClassifier()
ALL_SETS = ("labelled.jsonl", "heldout.jsonl", "probe.jsonl", "heldout2.jsonl", "heldout3.jsonl")
REFUSED = set(CLASSIFIER.refused)


def _intent(text: str) -> str:
    return CLASSIFIER.classify_text(text).intent


def _refused(text: str) -> bool:
    return CLASSIFIER.classify_text(text).refused


def table_md(name: str) -> str:
    return table_for(name, CLASSIFIER)


def test_dataset_is_big_and_covers_every_intent_and_style() -> None:
    dev, heldout = load("labelled.jsonl"), load("heldout.jsonl")
    assert len(dev) + len(heldout) >= 300
    for split in (dev, heldout):
        assert {ex.intent for ex in split} == set(INTENTS)
    styles = {ex.style for ex in dev}
    for style in (
        "override",
        "extraction",
        "roleplay",
        "base64",
        "leetspeak",
        "zero_width",
        "homoglyph",
        "spaced",
        "flood",
        "multilingual",
        "benign_alarming",
    ):
        assert style in styles
    splits = [dev, heldout, *(load(n) for n in ("probe.jsonl", "heldout2.jsonl", "heldout3.jsonl"))]
    seen: set[str] = set()
    for split in splits:
        texts = {ex.text for ex in split}
        assert not texts & seen, "splits overlap"
        seen |= texts


@pytest.mark.parametrize("name", ["labelled.jsonl", "heldout.jsonl"])
def test_refusal_precision_and_recall(name: str) -> None:
    examples = load(name)
    overall = binary(examples, _refused, REFUSED)
    assert overall.precision >= 0.95, overall
    assert overall.recall >= 0.9, overall
    table, errors = score(examples, _intent, INTENTS)
    REPORTS.append(f"\nrules classifier on {name} ({len(examples)} examples)\n{table_md(name)}")
    floor = 0.95 if name == "labelled.jsonl" else 0.9
    for intent in SECURITY_INTENTS:
        row = table[intent]
        assert row.precision >= floor, (row, _errors_for(intent, errors))
        assert row.recall >= floor, (row, _errors_for(intent, errors))


@pytest.mark.parametrize("name", ["labelled.jsonl", "heldout.jsonl"])
def test_support_intents_are_routed(name: str) -> None:
    examples = [ex for ex in load(name) if ex.intent in SUPPORT_INTENTS]
    table, errors = score(examples, _intent, INTENTS)
    accuracy = 1 - len(errors) / len(examples)
    assert accuracy >= (0.95 if name == "labelled.jsonl" else 0.85), errors
    for intent in SUPPORT_INTENTS:
        assert table[intent].recall >= 0.75, (table[intent], _errors_for(intent, errors))


def test_the_latest_held_out_set_is_reported_and_keeps_its_precision() -> None:
    """``heldout3.jsonl``: fresh phrasings for the rules as shipped, never tuned on.

    Its recall is low (see the README) and is reported, not asserted: a floor set
    from the measurement would only pretend. What is asserted is that benign
    messages there keep not being refused.
    """
    examples = load("heldout3.jsonl")
    overall = binary(examples, _refused, REFUSED)
    REPORTS.append(
        f"\nrules classifier on heldout3.jsonl ({len(examples)} examples)\n"
        f"{table_md('heldout3.jsonl')}"
    )
    assert overall.precision >= 0.95, overall


@pytest.mark.parametrize("name", ["probe.jsonl", "heldout2.jsonl"])
def test_regression_sets_keep_their_precision(name: str) -> None:
    """Sets the rules were later extended for: kept as checks, not quoted as accuracy."""
    examples = load(name)
    overall = binary(examples, _refused, REFUSED)
    assert overall.precision >= 0.95, overall
    assert overall.recall >= 0.9, overall


def test_benign_look_alikes_are_never_refused() -> None:
    benign = [ex for name in ALL_SETS for ex in load(name) if ex.style == "benign_alarming"]
    assert len(benign) >= 30
    refused = [ex.text for ex in benign if _refused(ex.text)]
    assert refused == []


def test_stdlib_docstrings_are_rarely_refused() -> None:
    """Prose nobody wrote for this test: Python's own docstrings.

    They say "kill", "terminate", "ignore", "override", "repeat", "system" and
    "prompt" all the time. A refusal here is a false positive by construction.
    """
    paragraphs = stdlib_paragraphs()
    assert len(paragraphs) >= 1000
    refused = [p for p in paragraphs if _refused(p)]
    assert len(refused) / len(paragraphs) <= 0.005, refused[:10]
    REPORTS.append(f"\nstdlib docstring paragraphs refused: {len(refused)} of {len(paragraphs)}")


def test_readme_shows_the_current_tables() -> None:
    readme = README.read_text(encoding="utf-8")
    for name in ("labelled.jsonl", "heldout.jsonl", "heldout3.jsonl"):
        assert table_md(name) in readme, (
            f"README table for {name} is stale: run python bench/evaluate.py --write-readme"
        )


def _errors_for(intent: str, errors: list[tuple[Example, str]]) -> list[tuple[str, str, str]]:
    return [(ex.intent, got, ex.text[:60]) for ex, got in errors if intent in (ex.intent, got)]
