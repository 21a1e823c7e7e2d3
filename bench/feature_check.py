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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    alternating_searches,
    example_questions,
    median_p99,
    minilm_service,
    rounds_main,
)

ARTICLES = ROOT / "examples" / "host_app" / "articles"


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
    from supportai_llm_backends.retrieval.source import FileArticleSource
    from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore

    service_module.RESULT_CACHE = 0  # every search runs in full
    source, store, embedder = FileArticleSource(ARTICLES), MemoryEmbeddingStore(), CountingMiniLM()
    checked = minilm_service(source, embedder, store)
    unchecked = minilm_service(source, embedder, store, feature_coverage=0)
    questions = example_questions()
    await checked.search("bench", questions[0])
    await unchecked.search("bench", questions[0])
    # a question itself goes through ``embed_query_pieces``: what reaches ``embed_query``
    # now is a feature embedded alone
    embedder.queries.clear()
    for question in questions:
        await checked.search("bench", question)
    second_embeddings = len(embedder.queries)
    with_check, without_check = await alternating_searches(checked, unchecked, questions, rounds)
    (on_p50, on_p99), (off_p50, off_p99) = median_p99(with_check), median_p99(without_check)
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
