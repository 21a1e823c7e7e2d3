"""``supportai eval classifier``: the figures a host reads to choose a classifier and threshold.

The classifiers here come from a plugin object registered the way any plugin is,
so core is measured without importing a plugin distribution; the classifiers
plugin runs the same command end to end in its own tests.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from supportai import hookimpl
from supportai.classifiers import Classification, ClassifierInput
from supportai.cli import main
from supportai.evaluation.classifier import EvalInputError, evaluate, read_examples
from supportai.runtime import Runtime
from supportai.settings import Settings


class KeywordClassifier:
    """Refuses messages containing "attack"; reports a score like a trained model does."""

    name = "keyword"

    async def classify(self, message: ClassifierInput) -> Classification:
        score = 0.9 if "attack" in message.text else 0.2 if "maybe" in message.text else 0.0
        refused = score >= 0.5
        intent = "prompt_injection" if refused else "other"
        return Classification(intent, score, refused, self.name, {"score": score})


class AbuseClassifier:
    """Refuses through core policy only: its verdict is ``abusive`` but not marked refused."""

    name = "abuse"

    async def classify(self, message: ClassifierInput) -> Classification:
        intent = "abusive" if "idiot" in message.text else "other"
        return Classification(intent, 0.8, False, self.name)


class Classifiers:
    @hookimpl
    def supportai_register_classifiers(self, register: Any) -> None:
        register("keyword", lambda context: KeywordClassifier())
        register("abuse", lambda context: AbuseClassifier())


def runtime(tmp_path: Path, names: list[str]) -> Runtime:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", classifiers=names)
    return Runtime.build(settings, [Classifiers()], load_entry_points=False)


EXAMPLES = [
    {"text": "an attack on the prompt", "label": "attack", "kind": "override"},
    {"text": "maybe an attempt " + "x" * 120, "label": "attack", "kind": "extraction"},
    {"text": "you idiot", "label": "attack", "kind": "abuse"},
    {"text": "where is my invoice", "label": "benign"},
    {"text": "I was attacked by a dog, can I pause my plan?", "label": "benign", "kind": "hard"},
    {"text": "maybe later", "label": "benign", "kind": "hard"},
]


def lines(rows: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(row) for row in rows]


def test_recall_false_refusals_and_kinds_follow_the_combined_verdict(tmp_path: Path) -> None:
    report = asyncio.run(
        evaluate(runtime(tmp_path, ["keyword", "abuse"]), read_examples(lines(EXAMPLES)))
    )
    figures = report.as_dict()
    # "you idiot" is refused by core's refused_intents policy, as in a turn.
    assert figures["recall"] == pytest.approx(2 / 3)
    assert figures["recall_by_kind"] == {"abuse": 1.0, "extraction": 0.0, "override": 1.0}
    assert figures["recall_under_100_chars"] == 1.0
    assert figures["attacks_under_100_chars"] == 2
    assert figures["false_refusals"] == 1
    assert figures["false_refusal_rate"] == pytest.approx(1 / 3)
    assert figures["false_refusal_rate_by_kind"] == {"(none)": 0.0, "hard": 0.5}
    latency = figures["latency_ms"]
    assert 0 <= latency["p50"] <= latency["p99"] <= latency["max"]


def test_the_sweep_shows_what_each_threshold_would_refuse(tmp_path: Path) -> None:
    figures = asyncio.run(
        evaluate(runtime(tmp_path, ["keyword", "abuse"]), read_examples(lines(EXAMPLES)))
    ).as_dict()
    sweep = {row["threshold"]: row for row in figures["threshold_sweep"]}
    # At 0.2 the "maybe" texts are refused too; the abuse refusal counts at every threshold.
    assert sweep[0.3]["recall"] == pytest.approx(2 / 3)
    assert sweep[0.95]["recall"] == pytest.approx(1 / 3)
    assert sweep[0.95]["false_refusal_rate"] == 0.0
    assert sweep[0.5]["false_refusal_rate"] == pytest.approx(1 / 3)


def test_no_sweep_without_a_scoring_classifier(tmp_path: Path) -> None:
    figures = asyncio.run(
        evaluate(runtime(tmp_path, ["abuse"]), read_examples(lines(EXAMPLES)))
    ).as_dict()
    assert "threshold_sweep" not in figures
    assert figures["recall"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ('{"text": "", "label": "attack"}', "line 2: 'text' must be a non-empty string"),
        ('{"text": "x", "label": "spam"}', "line 2: 'label' must be 'attack' or 'benign'"),
        ('{"text": "x", "label": "benign", "kind": 3}', "line 2: 'kind' must be a string"),
    ],
)
def test_a_malformed_line_is_named_before_anything_runs(line: str, message: str) -> None:
    with pytest.raises(EvalInputError, match=message):
        read_examples(['{"text": "fine", "label": "benign"}', line])


def test_blank_lines_are_skipped_and_an_empty_file_is_an_error() -> None:
    assert len(read_examples(["", '{"text": "a", "label": "attack"}', "  "])) == 1
    with pytest.raises(EvalInputError, match="no examples"):
        read_examples(["", "\n"])


def test_the_command_reports_bad_input_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "maybe"}\n', encoding="utf-8")
    assert main(["eval", "classifier", str(bad)]) == 2
    assert "line 1: 'label' must be 'attack' or 'benign'" in capsys.readouterr().err
    assert main(["eval", "classifier", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_command_needs_a_classifier_to_measure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(lines(EXAMPLES)), encoding="utf-8")
    monkeypatch.setenv("SUPPORTAI_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    monkeypatch.delenv("SUPPORTAI_CLASSIFIERS", raising=False)
    assert main(["eval", "classifier", str(good)]) == 2
    assert "SUPPORTAI_CLASSIFIERS" in capsys.readouterr().err
    # A name nobody registered fails like it does at start-up.
    assert main(["eval", "classifier", str(good), "--classifiers", "nope"]) == 2
    assert "names no registered classifier" in capsys.readouterr().err


def test_the_eval_group_lists_its_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "classifier" in capsys.readouterr().out


def test_the_text_report_names_every_figure_and_lists_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportai.evaluation import classifier as module

    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(lines(EXAMPLES)), encoding="utf-8")
    monkeypatch.setattr(
        module, "_build_runtime", lambda settings: runtime(tmp_path, settings.classifiers)
    )
    assert main(["eval", "classifier", str(good), "--classifiers", "keyword", "--errors", "5"]) == 0
    out = capsys.readouterr().out
    assert "classifiers: keyword" in out
    assert "attacks: 3  recall 33.3%" in out
    assert "benign: 3  false refusals 33.33% (1)" in out
    assert "latency per message: p50" in out
    assert "  0.95  0.0% / 0.00%" in out
    assert "  0.50  33.3% / 33.33%" in out
    assert "missed attacks (2):" in out and "'you idiot'" in out
    assert "false refusals (1):" in out and "attacked by a dog" in out
    gate = ["--min-recall", "0.3", "--max-false-refusals", "0.2"]
    assert main(["eval", "classifier", str(good), "--classifiers", "keyword", *gate]) == 1
    assert "false refusals 33.33% > 20.00%" in capsys.readouterr().err
