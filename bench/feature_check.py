"""Retrieval with the feature check against without it, on the same index.

The check (``RetrievalService._names_feature``, decision 0026) reads every question for
"is there…", "does it have…" and the like; a feature question whose first article lacks
the feature's words gets one more embedding of the feature alone. This times whole
searches of every question of the example question set through two services that share
one embedder and one store, alternating which goes first question by question so that
the machine's noise falls on both alike, and counts the questions that took the second
embedding.

Needs the ``minilm`` extra. Run: ``python bench/feature_check.py [--rounds 3] [--json]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import median_p99, rounds_main  # noqa: E402

ARTICLES = ROOT / "examples" / "host_app" / "articles"
QUESTIONS = ROOT / "examples" / "host_app" / "eval" / "questions.jsonl"


class CountingMiniLM:
    """``minilm``, counting the texts it embeds alone as questions."""

    def __init__(self) -> None:
        from supportai_llm_backends.retrieval.embedders import MiniLMEmbedder

        self.inner = MiniLMEmbedder()
        self.model = self.inner.model
        self.name = self.inner.name
        self.queries: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def embed_query(self, text: str) -> Sequence[float]:
        self.queries.append(text)
        return await self.inner.embed_query(text)


async def compare(rounds: int) -> dict[str, Any]:
    import supportai_llm_backends.retrieval.service as service_module
    from supportai_llm_backends.knowledge import calibrated, service_with
    from supportai_llm_backends.retrieval.source import FileArticleSource
    from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore
    from supportai_llm_backends.settings import KnowledgeBaseSettings

    service_module.RESULT_CACHE = 0  # every search runs in full
    source, store, embedder = FileArticleSource(ARTICLES), MemoryEmbeddingStore(), CountingMiniLM()
    checked = service_with(
        calibrated(KnowledgeBaseSettings(embedder="minilm")), source, lambda: embedder, store
    )
    unchecked = service_with(
        calibrated(KnowledgeBaseSettings(embedder="minilm", feature_coverage=0)),
        source,
        lambda: embedder,
        store,
    )
    questions = [
        json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
    ]
    await checked.search("bench", questions[0])
    await unchecked.search("bench", questions[0])
    # a question itself goes through ``embed_query_pieces``: what reaches ``embed_query``
    # now is a feature embedded alone
    embedder.queries.clear()
    for question in questions:
        await checked.search("bench", question)
    second_embeddings = len(embedder.queries)
    times: dict[bool, list[float]] = {True: [], False: []}
    for round_ in range(rounds):
        for n, question in enumerate(questions):
            order = (True, False) if (n + round_) % 2 == 0 else (False, True)
            for with_check in order:
                service = checked if with_check else unchecked
                started = time.perf_counter()
                await service.search("bench", question)
                times[with_check].append(time.perf_counter() - started)
    (on_p50, on_p99), (off_p50, off_p99) = median_p99(times[True]), median_p99(times[False])
    return {
        "questions": len(questions),
        "feature_embedded_for": second_embeddings,
        "without_check_p50_ms": round(off_p50 * 1000, 3),
        "with_check_p50_ms": round(on_p50 * 1000, 3),
        "with_over_without_p50": round(on_p50 / off_p50, 3),
        "without_check_p99_ms": round(off_p99 * 1000, 3),
        "with_check_p99_ms": round(on_p99 * 1000, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    description = __doc__.splitlines()[0]
    return rounds_main(description, lambda rounds: asyncio.run(compare(rounds)), argv)


if __name__ == "__main__":
    raise SystemExit(main())
