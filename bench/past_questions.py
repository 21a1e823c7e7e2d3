"""Retrieval with the articles' past questions against without them, on the same index.

With ``SUPPORTAI_KB_WEIGHT_QUESTIONS`` above 0 (decision 0032), each of the fused ranking's
best three articles gets the cosine of its closest past question as a bonus in choosing
the first: a gather of its past questions' half-precision vectors and one small product
per question. This times whole searches of every question of the example question set
through two services that share one embedder, one store and the example's articles (8
past questions each), one with the weight and one without, alternating which goes first
question by question, and counts how many questions got another first article.

Needs the ``minilm`` extra. Run: ``python bench/past_questions.py [--rounds 3] [--json]``.
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
    ratio,
    rounds_main,
)

ARTICLES = ROOT / "examples" / "host_app" / "articles"


async def compare(rounds: int) -> dict[str, Any]:
    import supportai_llm_backends.retrieval.service as service_module
    from supportai_llm_backends.retrieval.embedders import MiniLMEmbedder
    from supportai_llm_backends.retrieval.source import FileArticleSource
    from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore

    service_module.RESULT_CACHE = 0  # every search runs in full
    source, store, embedder = FileArticleSource(ARTICLES), MemoryEmbeddingStore(), MiniLMEmbedder()
    asked = minilm_service(source, embedder, store)
    plain = minilm_service(source, embedder, store, weight_questions=0)
    questions = example_questions()
    moved = 0
    for question in questions:
        with_them, without = (
            await asked.search("bench", question),
            await plain.search("bench", question),
        )
        moved += with_them.hits[:1] != without.hits[:1]
    index = await asked.index_for("bench")
    held = index.questions.memory_bytes if index.questions is not None else 0
    with_times, without_times = await alternating_searches(asked, plain, questions, rounds)
    (on_p50, on_p99), (off_p50, off_p99) = median_p99(with_times), median_p99(without_times)
    return {
        "questions": len(questions),
        "first_article_changed_for": moved,
        "past_question_bytes": held,
        "without_p50_ms": round(off_p50 * 1000, 3),
        "with_p50_ms": round(on_p50 * 1000, 3),
        "with_over_without_p50": round(ratio(on_p50, off_p50), 3),
        "without_p99_ms": round(off_p99 * 1000, 3),
        "with_p99_ms": round(on_p99 * 1000, 3),
        "with_over_without_p99": round(ratio(on_p99, off_p99), 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    description = __doc__.splitlines()[0]
    return rounds_main(description, lambda rounds: asyncio.run(compare(rounds)), argv)


if __name__ == "__main__":
    raise SystemExit(main())
