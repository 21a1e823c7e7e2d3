"""``supportai eval``: question sets, the retrieval and answer figures, bad input."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from supportai.cli import main
from supportai.evaluation import percentile
from supportai.evaluation.questions import contains_fact, load_questions
from supportai.evaluation.runner import evaluate_answers, evaluate_retrieval
from supportai.llm import Citation, ContextDocument, Finish, TextDelta
from supportai.runtime import Runtime
from supportai.testing import ScriptedBackend, backend_plugin, plugin

ARTICLES = {"refunds": "refund money back", "invoices": "invoice bill pdf"}


def retrieval_plugin() -> object:
    """Ranks the two articles by shared words; nothing shared means no answer."""

    def supportai_retrieve_context(
        query: str, caller: Any, limit: int, context: Any
    ) -> list[ContextDocument]:
        words = set(query.lower().split())
        scored = sorted(
            ((len(words & set(text.split())), slug) for slug, text in ARTICLES.items()),
            reverse=True,
        )
        return [
            ContextDocument(slug, slug.title(), ARTICLES[slug], float(score))
            for score, slug in scored[:limit]
            if score
        ]

    return plugin(supportai_retrieve_context=supportai_retrieve_context)


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


QUESTIONS = [
    {"id": "a", "question": "money back please", "article": "refunds", "fact": "refund"},
    {"id": "b", "question": "my bill as pdf", "article": "invoices", "fact": "PDF"},
    {"id": "c", "question": "refund my invoice", "article": "invoices", "fact": "never said"},
    {"id": "d", "question": "tell me a joke", "article": None, "fact": None},
    {"id": "e", "question": "a joke about a bill", "article": None, "fact": None},
]


async def test_retrieval_figures(supportai_settings: Any, tmp_path: Path) -> None:
    runtime = Runtime.build(supportai_settings, [retrieval_plugin()], load_entry_points=False)
    questions = load_questions(write(tmp_path / "q.jsonl", QUESTIONS))
    summary = (await evaluate_retrieval(runtime, questions, "acme")).summary()
    # a: first; b: first; c: refunds 1 word, invoices 1 word -> invoices second.
    assert summary["counts"] == {"hit@1": 2, "hit@3": 3}
    assert summary["hit@1"] == round(2 / 3, 4) and summary["mrr"] == round((1 + 1 + 0.5) / 3, 4)
    # d: nothing (a correct no-answer); e: answered with invoices (a wrong answer).
    assert summary["no_answer_precision"] == 1.0 and summary["no_answer_recall"] == 0.5
    assert summary["latency_p99_ms"] >= summary["latency_p50_ms"] >= 0


async def test_latency_counts_no_search_the_warm_up_cached(
    supportai_settings: Any, tmp_path: Path
) -> None:
    """A retrieval plugin that keeps its results (the knowledge base does) answers a
    repeated query at once; the warm-up must not be one of the timed questions."""
    seen: set[str] = set()

    async def supportai_retrieve_context(
        query: str, caller: Any, limit: int, context: Any
    ) -> list[ContextDocument]:
        if query not in seen:  # a first search takes time, a cached one none
            seen.add(query)
            await asyncio.sleep(0.005)
        return []

    runtime = Runtime.build(
        supportai_settings,
        [plugin(supportai_retrieve_context=supportai_retrieve_context)],
        load_entry_points=False,
    )
    questions = load_questions(write(tmp_path / "q.jsonl", QUESTIONS))
    report = await evaluate_retrieval(runtime, questions, "acme")
    assert len(report.latencies_ms) == len(QUESTIONS)
    # every timed search slept its 5 ms (a cached one takes microseconds); the margin
    # keeps the loop's timer granularity out of it
    assert min(report.latencies_ms) >= 4.0


async def test_answer_figures_run_through_the_backend(
    supportai_settings: Any, tmp_path: Path
) -> None:
    cited = [TextDelta("Ask for a refund. "), Citation("refunds", "Refunds"), Finish("stop")]
    honest = [TextDelta("I could not find this; ask for a human."), Finish("stop")]
    backend = ScriptedBackend([cited, cited, cited, honest, cited])
    runtime = Runtime.build(
        supportai_settings.model_copy(update={"llm_backend": "scripted"}),
        [retrieval_plugin(), backend_plugin(backend)],
        load_entry_points=False,
    )
    questions = load_questions(write(tmp_path / "q.jsonl", QUESTIONS))
    summary = (await evaluate_answers(runtime, questions, "acme", ["human"])).summary()
    assert summary["counts"] == {"fact_in_answer": 1, "out_of_scope_honest": 1}
    # The backend saw the retrieved context, as in a turn.
    assert [d.source_id for d in backend.requests[0].context] == ["refunds"]


def test_facts_ignore_case_markdown_and_spacing() -> None:
    assert contains_fact("Open **Settings →  Billing**", "settings → billing")
    assert not contains_fact("Open Settings", "Billing")
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0 and percentile([], 0.99) == 0.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "q.jsonl:1: not a question"),
        ('{"question": ""}\n', "q.jsonl:1: not a question"),
        ('{"question": "hi", "article": 3}\n', "article must be a string"),
        ("\n", "holds no question"),
    ],
)
def test_a_bad_question_set_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content, encoding="utf-8")
    assert main(["eval", "retrieval", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_question_set_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "answers", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read the question set" in capsys.readouterr().err


def test_split_selects_questions(tmp_path: Path) -> None:
    rows = [{**row, "split": "dev" if i % 2 else "test"} for i, row in enumerate(QUESTIONS)]
    path = write(tmp_path / "q.jsonl", rows)
    assert [q.id for q in load_questions(path, "dev")] == ["b", "d"]
