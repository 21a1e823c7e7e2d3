"""Knowledge retrieval at scale: p50/p99 per query, index build time, memory per 10k chunks.

One tenant's help center is grown to 1k, 10k and 100k sections by cloning the
example help center's articles (each clone gets its own id and a distinct last
sentence; its other sections repeat the original's text, so the content-keyed
embedding store embeds each distinct text once: 18,900 of 473,200 texts at 100k,
and the build time understates a help center of truly distinct articles), then
searched with the
example question set, the way a turn searches: clean the question, stem it, embed
it with an offline embedder (``wordllama``, the default, or ``minilm`` with its
calibrated weights), fuse BM25 and cosine scores, rank articles. The example help
center itself (~150 sections) is measured first.

Run: ``python bench/knowledge_scale.py [--sizes 1000,10000,100000] [--embedder minilm] [--json]``.
Timings are wall-clock on whatever machine runs it; compare sizes within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "examples" / "host_app" / "articles"
QUESTIONS = ROOT / "examples" / "host_app" / "eval" / "questions.jsonl"


class ClonedSource:
    """The example articles repeated until the help center has ``sections`` sections (each
    copy with its tags and past questions)."""

    def __init__(self, sections: int) -> None:
        from supportai_llm_backends.retrieval.service import chunks_of
        from supportai_llm_backends.retrieval.source import FileArticleSource

        self.base = FileArticleSource(ARTICLES).read()
        per_round = len(chunks_of(self.base))
        self.rounds = max(1, round(sections / per_round))

    async def version(self, tenant_id: str) -> str:
        return f"clones-{self.rounds}"

    async def articles(self, tenant_id: str) -> Sequence[Any]:
        from supportai_llm_backends.retrieval.source import SourceArticle

        cloned = []
        for copy in range(self.rounds):
            for article in self.base:
                note = f"\n\nReference {copy}: this applies to workspace group {copy % 97}."
                cloned.append(
                    SourceArticle(
                        f"{article.article_id}-{copy}",
                        None,
                        article.body + note,
                        tags=article.tags,
                        questions=article.questions,
                    )
                )
        return cloned


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(share * len(ordered) + 0.5) - 1))]


async def measure(
    source: Any, questions: list[str], embedder: str, rounds: int = 3
) -> dict[str, Any]:
    from supportai_llm_backends.knowledge import calibrated, service_with
    from supportai_llm_backends.retrieval import embedders
    from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore
    from supportai_llm_backends.settings import KnowledgeBaseSettings

    # The model load is start-up, not index build.
    if embedder == "minilm":
        from supportai_llm_backends.retrieval.minilm import load_minilm

        load_minilm()
        model: Any = embedders.MiniLMEmbedder
    else:
        embedders.load_wordllama()
        model = embedders.WordLlamaEmbedder
    # The weights and thresholds an app with this embedder gets.
    settings = calibrated(KnowledgeBaseSettings(embedder=embedder, version_check_s=3600))
    store = MemoryEmbeddingStore()
    service = service_with(settings, source, model, store)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    started = time.perf_counter()
    index = await service.index_for("bench")
    build_s = time.perf_counter() - started
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # The embedding store holds a copy of every vector (a database would hold it instead).
    stored = sum(len(v) for vectors in store.data.values() for v in vectors.values())
    latencies: list[float] = []
    for _ in range(rounds):
        for question in questions:
            service._results.clear()  # measure the search, not the per-turn result cache
            started = time.perf_counter()
            await service.search("bench", question)
            latencies.append((time.perf_counter() - started) * 1000)
    sections = len(index.chunks)
    index_bytes = grown - stored
    return {
        "sections": sections,
        "articles": len(index.article_ids),
        "build_s": round(build_s, 2),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "queries": len(latencies),
        "index_mb": round(index_bytes / 2**20, 1),
        "index_mb_per_10k_sections": round(index_bytes / 2**20 * 10_000 / sections, 1),
        "vectors_mb_per_10k_sections": round(index.memory_bytes / 2**20 * 10_000 / sections, 1),
    }


async def run(sizes: list[int], embedder: str) -> dict[str, Any]:
    from supportai_llm_backends.retrieval.source import FileArticleSource

    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()]
    results = {"example": await measure(FileArticleSource(ARTICLES), questions, embedder)}
    for size in sizes:
        results[f"{size}"] = await measure(ClonedSource(size), questions, embedder, rounds=1)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--embedder", choices=["wordllama", "minilm"], default="wordllama")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    results = asyncio.run(run(sizes, args.embedder))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    columns = ["sections", "build_s", "p50_ms", "p99_ms", "index_mb_per_10k_sections"]
    print(f"{'help center':>12} " + " ".join(f"{c:>26}" for c in columns))
    for name, row in results.items():
        print(f"{name:>12} " + " ".join(f"{row[c]!s:>26}" for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
