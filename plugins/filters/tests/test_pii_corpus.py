"""The ``pii`` filter on the corpora, measured the way hosts measure: ``supportai eval pii``.

* ``pii_dev`` / ``benign_dev``: generated (seed 19), what the detectors were tuned on;
* ``pii_heldout`` / ``benign_heldout``: generated with another seed, only measured;
* ``pii_handwritten`` / ``benign_handwritten``: written by hand, not by the
  generator: other formats, other phrasings (order ids, versions, dates, amounts,
  tracking and invoice numbers, timestamps, ports, hashes...);
* ``pii_unseen`` / ``benign_unseen``: written by hand last, measured once before
  any change for them (recall 100%, 2 of 30 benign texts altered: a spaced
  meeting id and a customer number with a leading 00; both fixed since).

Every kind must keep recall >= 97% and no benign text may change, whole or
streamed in small pieces. ``scripts/make_pii_corpus.py`` must still produce the
committed generated files (the corpus is reproducible, not edited by hand).
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
from pathlib import Path

import pytest

from supportai.cli import main

DATA = Path(__file__).parent / "data"
SCRIPT = Path(__file__).parents[1] / "scripts" / "make_pii_corpus.py"
SPLITS = ["dev", "heldout", "handwritten", "unseen"]


def eval_pii(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code = main(["eval", "pii", *args, "--filters", "pii", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    report: dict[str, object] = json.loads(out)
    return report


@pytest.mark.parametrize("split", SPLITS)
def test_recall_per_kind_is_at_least_97_percent(
    split: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = eval_pii(capsys, str(DATA / f"pii_{split}.jsonl"))
    by_kind = report["recall_by_kind"]
    assert isinstance(by_kind, dict)
    assert {"email", "phone", "card", "iban", "ssn", "ip"} <= set(by_kind)
    for kind, score in by_kind.items():
        assert score["recall"] >= 0.97, (kind, score)
    assert report["recall"] >= 0.97


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("chunk", ["0", "3"])
def test_no_benign_text_is_altered(
    split: str, chunk: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = eval_pii(capsys, str(DATA / f"benign_{split}.jsonl"), "--chunk-size", chunk)
    assert report["benign_texts"] and report["benign_altered"] == 0


def test_the_cli_fails_when_a_floor_is_not_met(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "mixed.jsonl"
    corpus.write_text(
        json.dumps({"text": "Order 12345 is late", "pii": []})
        + "\n"
        + json.dumps({"text": "my name is Ann Lee", "pii": [{"kind": "name", "value": "Ann Lee"}]})
        + "\n",
        encoding="utf-8",
    )
    code = main(["eval", "pii", str(corpus), "--filters", "pii", "--min-recall", "0.5"])
    captured = capsys.readouterr()
    assert code == 1
    assert "name" in captured.out and "0/1" in captured.out  # names are not a kind it finds
    assert "recall 0.00% is below 50.00%" in captured.err


def test_the_generated_corpus_is_what_the_script_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_pii_corpus", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ["pii_dev", "benign_dev", "pii_heldout", "benign_heldout"]:
        assert filecmp.cmp(tmp_path / f"{name}.jsonl", DATA / f"{name}.jsonl", shallow=False)
