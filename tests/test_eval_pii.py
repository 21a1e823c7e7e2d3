"""``supportai eval pii``: scoring, the shared ``eval`` command group, and bad input."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from supportai.cli import build_parser, main
from supportai.evaluation import eval_commands, percentile
from supportai.evaluation.pii import evaluate, filter_redactor, parse_cases
from supportai.filters import (
    FilterContext,
    FilterStream,
    HoldbackStream,
    Span,
)

DIGITS = re.compile(r"\d{4,}")


class DigitFilter:
    """Redacts runs of four digits or more, except values in the turn's grounding."""

    name = "digits"

    def __init__(self) -> None:
        self.seen_grounding: list[tuple[str, ...]] = []

    def open(self, context: FilterContext) -> FilterStream:
        self.seen_grounding.append(context.grounding)

        def find(text: str) -> list[Span]:
            return [
                Span(m.start(), m.end(), "[n]", "number")
                for m in DIGITS.finditer(text)
                if not any(m.group() in g for g in context.grounding)
            ]

        return HoldbackStream(find, holdback=16, step=4)


async def test_recall_false_redactions_and_latency_are_scored() -> None:
    cases = parse_cases(
        [
            {"text": "card 12345678 and pin 1234", "pii": [{"kind": "num", "value": "12345678"}]},
            {"text": "code 12 and 34", "pii": [{"kind": "num", "value": "12"}]},
            {"text": "order 99999 shipped", "pii": []},
            {"text": "call 555 1234 ok", "pii": []},
            {"text": "help line 0800123", "pii": [], "grounding": ["Call 0800123 any time."]},
        ],
        "inline",
    )
    digits = DigitFilter()
    report = await evaluate(cases, filter_redactor([digits], chunk_size=3), "digits")
    data = report.as_dict()
    assert data["recall_by_kind"] == {"num": {"values": 2, "removed": 1, "recall": 0.5}}
    assert data["benign_texts"] == 3 and data["benign_altered"] == 2
    assert [text for text, _ in report.altered] == ["order 99999 shipped", "call 555 1234 ok"]
    assert [m.value for m in report.misses] == ["12"]
    assert data["texts"] == 5 and data["latency_ms"]["p99"] >= data["latency_ms"]["p50"] >= 0
    # The row's grounding reaches the filter as the turn's grounding would.
    assert ("Call 0800123 any time.",) in digits.seen_grounding


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) == 0.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 0.99) == 99.0


def test_other_modules_add_their_own_eval_commands_in_any_order() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    other = eval_commands(sub).add_parser("a-host-measurement")
    other.add_argument("file")
    other.set_defaults(func=lambda args: 0)
    assert parser.parse_args(["eval", "a-host-measurement", "q.jsonl"]).file == "q.jsonl"
    assert parser.parse_args(["eval", "pii", "x.jsonl", "--chunk-size", "4"]).chunk_size == 4
    for built_in in ("classifier", "pii", "retrieval", "answers"):
        assert built_in in eval_commands(sub).choices


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json}\n", "row.jsonl:1: not JSON"),
        ('{"text": "a"}\n[1]\n', "row.jsonl:2: expected a JSON object"),
        ('{"text": 5}\n', "'text' must be a string"),
        ('{"text": "call me", "pii": [{"kind": "phone", "value": "555"}]}\n', "is not in the text"),
        ('{"text": "x", "pii": [{"kind": "phone"}]}\n', "needs a 'kind' and a 'value'"),
        ('{"text": "x", "grounding": "y"}\n', "'grounding' must be a list of strings"),
        ("\n\n", "no rows"),
    ],
)
def test_bad_files_exit_2_with_where_and_what(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "row.jsonl"
    path.write_text(content, encoding="utf-8")
    assert main(["eval", "pii", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "pii", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_without_output_filters_it_measures_the_redact_hook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTAI_PLUGINS", "[]")  # core alone: its fallback redactor
    monkeypatch.setenv("SUPPORTAI_OUTPUT_FILTERS", "[]")
    path = tmp_path / "rows.jsonl"
    rows = [
        {"text": "mail ann@example.com", "pii": [{"kind": "email", "value": "ann@example.com"}]},
        {"text": "thanks a lot", "pii": []},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["eval", "pii", str(path), "--json", "--max-altered", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["redactor"] == "supportai_redact hook"
    assert report["recall_by_kind"]["email"]["recall"] == 1.0
    assert report["benign_altered"] == 0
