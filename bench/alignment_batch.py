"""The word-piece alignment's candidates, aligned together against one at a time.

A question is aligned with each of its best three articles and four sections of each
(``retrieval/alignment.py``, decision 0025). This compares, in one process and on the
same candidates, the shipped :func:`alignments` (every candidate's int8 pieces widened
and multiplied at once) with the same arithmetic run candidate by candidate (the first
version), alternating the two on every question of the example question set so that
the machine's noise falls on both alike. It also checks they agree.

Needs the ``minilm`` extra. Run: ``python bench/alignment_batch.py [--rounds 5] [--json]``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import rounds_main  # noqa: E402

ARTICLES = ROOT / "examples" / "host_app" / "articles"
QUESTIONS = ROOT / "examples" / "host_app" / "eval" / "questions.jsonl"


def one_at_a_time(question: np.ndarray, candidates: Sequence[Any]) -> list[float]:
    """The baseline: each candidate's alignment from its own product."""
    return [
        float(((question @ c.values.astype(np.float32)) * c.scales).max(axis=1).mean())
        for c in candidates
    ]


async def candidates_per_question() -> list[tuple[np.ndarray, list[Any]]]:
    """Each question's pieces and the candidates a search aligns it with."""
    from supportai_llm_backends.knowledge import calibrated, service_with
    from supportai_llm_backends.retrieval.embedders import MiniLMEmbedder
    from supportai_llm_backends.retrieval.service import SECTION_RERANK_DEPTH
    from supportai_llm_backends.retrieval.source import FileArticleSource
    from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore
    from supportai_llm_backends.settings import KnowledgeBaseSettings

    settings = calibrated(KnowledgeBaseSettings(embedder="minilm"))
    service = service_with(
        settings, FileArticleSource(ARTICLES), MiniLMEmbedder, MemoryEmbeddingStore()
    )
    embedder = MiniLMEmbedder()
    found = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        result = await service.search("bench", json.loads(line)["question"], limit=3)
        index = result.index
        _, question = await embedder.embed_query_pieces(result.query)
        if question is None or index.pieces is None or index.section_pieces is None:
            continue
        candidates = [index.pieces[hit.article_id] for hit in result.hits]
        candidates += [
            index.section_pieces[c.chunk.chunk_id]
            for hit in result.hits
            for c in hit.chunks[:SECTION_RERANK_DEPTH]
            if c.chunk.chunk_id in index.section_pieces
        ]
        found.append((question, candidates))
    return found


def compare(data: list[tuple[np.ndarray, list[Any]]], rounds: int) -> dict[str, Any]:
    from supportai_llm_backends.retrieval.alignment import alignments

    worst = max(
        max(abs(a - b) for a, b in zip(alignments(q, c), one_at_a_time(q, c), strict=True))
        for q, c in data
    )
    batched: list[float] = []
    alone: list[float] = []
    for _ in range(rounds):
        for question, candidates in data:
            started = time.perf_counter()
            alignments(question, candidates)
            batched.append(time.perf_counter() - started)
            started = time.perf_counter()
            one_at_a_time(question, candidates)
            alone.append(time.perf_counter() - started)
    p50_batched, p50_alone = statistics.median(batched), statistics.median(alone)
    return {
        "questions": len(data),
        "candidates_per_question": statistics.mean(len(c) for _, c in data),
        "largest_difference": worst,
        "one_at_a_time_p50_ms": round(p50_alone * 1000, 3),
        "together_p50_ms": round(p50_batched * 1000, 3),
        "together_over_one_at_a_time": round(p50_batched / p50_alone, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    def run(rounds: int) -> dict[str, Any]:
        return compare(asyncio.run(candidates_per_question()), rounds)

    return rounds_main(__doc__.splitlines()[0], run, argv, rounds=5)


if __name__ == "__main__":
    raise SystemExit(main())
