"""Retrieval with numpy's BLAS on one thread against BLAS as it starts, in one process.

Ranking multiplies small matrices, and OpenBLAS leaves its worker threads spinning after
each product, on the CPUs the next question's embedding needs (``SUPPORTAI_KB_BLAS_THREADS``,
``retrieval/blas.py``). This times whole searches of every question of the example
question set through one ``minilm`` service, in blocks of questions: each block runs with
BLAS at the count it started with (the baseline), then at one thread, or the other way
round on the next block, so that the machine's noise falls on both alike. A block's first
question is not timed (it meets the previous block's threads). The count is switched
with threadpoolctl from this thread; the service itself is told to leave BLAS alone.

Needs the ``minilm`` extra. Run: ``python bench/blas_threads.py [--rounds 3] [--json]``.
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
BLOCK = 25


def blas_count() -> int:
    """BLAS's thread count now (the largest, if numpy loaded several libraries)."""
    from threadpoolctl import threadpool_info

    return int(max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"))


async def compare(rounds: int) -> dict[str, Any]:
    import numpy  # noqa: F401  (BLAS must be loaded before its count is read)
    import supportai_llm_backends.retrieval.service as service_module
    from supportai_llm_backends.knowledge import calibrated, service_with
    from supportai_llm_backends.retrieval.embedders import MiniLMEmbedder
    from supportai_llm_backends.retrieval.source import FileArticleSource
    from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore
    from supportai_llm_backends.settings import KnowledgeBaseSettings
    from threadpoolctl import threadpool_limits

    service_module.RESULT_CACHE = 0  # every search runs in full
    settings = calibrated(KnowledgeBaseSettings(embedder="minilm", blas_threads=0))
    embedder = MiniLMEmbedder()
    service = service_with(
        settings, FileArticleSource(ARTICLES), lambda: embedder, MemoryEmbeddingStore()
    )
    questions = [
        json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
    ]
    baseline = blas_count()
    await service.search("bench", questions[0])
    times: dict[int, list[float]] = {baseline: [], 1: []}
    blocks = [questions[i : i + BLOCK] for i in range(0, len(questions), BLOCK)]
    for round_ in range(rounds):
        for n, block in enumerate(blocks):
            order = (baseline, 1) if (n + round_) % 2 == 0 else (1, baseline)
            for threads in order:
                threadpool_limits(limits=threads, user_api="blas")
                await service.search("bench", block[0])
                for question in block[1:]:
                    started = time.perf_counter()
                    await service.search("bench", question)
                    times[threads].append(time.perf_counter() - started)
    threadpool_limits(limits=baseline, user_api="blas")
    base, one = times[baseline], times[1]
    (base_p50, base_p99), (one_p50, one_p99) = median_p99(base), median_p99(one)
    return {
        "searches_per_arm": len(one),
        "baseline_blas_threads": baseline,
        "baseline_p50_ms": round(base_p50 * 1000, 3),
        "one_thread_p50_ms": round(one_p50 * 1000, 3),
        "baseline_p99_ms": round(base_p99 * 1000, 3),
        "one_thread_p99_ms": round(one_p99 * 1000, 3),
        "one_over_baseline_p50": round(one_p50 / base_p50, 3),
        "one_over_baseline_p99": round(one_p99 / base_p99, 3),
        "baseline_over_5ms": sum(t > 0.005 for t in base),
        "one_thread_over_5ms": sum(t > 0.005 for t in one),
    }


def main(argv: Sequence[str] | None = None) -> int:
    description = __doc__.splitlines()[0]
    return rounds_main(description, lambda rounds: asyncio.run(compare(rounds)), argv)


if __name__ == "__main__":
    raise SystemExit(main())
