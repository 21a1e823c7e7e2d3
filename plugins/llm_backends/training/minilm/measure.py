"""What the ``minilm`` embedder costs against ``wordllama``, in the same process.

Run from the repository root::

    python plugins/llm_backends/training/minilm/measure.py

Prints, for both embedders: model load time (a fresh process each, so nothing is
cached), per-question embedding p50/p99 over the example question set, and the
time to embed the example help center (every section, heading and passage text
the index needs). The figures in docs/decisions/0015-minilm-numpy-embedder.md (numpy)
and 0016-minilm-on-onnx-runtime.md (ONNX Runtime)
come from here.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[4]
QUESTIONS = ROOT / "examples/host_app/eval/questions.jsonl"
ARTICLES = ROOT / "examples/host_app/articles"

LOAD = """
import time, sys
started = time.perf_counter()
if sys.argv[1] == "minilm":
    from supportai_llm_backends.retrieval.minilm import load_minilm
    load_minilm().embed(["warm"])
else:
    from supportai_llm_backends.retrieval.embedders import WordLlamaEmbedder
    WordLlamaEmbedder().embed_sync(["warm"])
print((time.perf_counter() - started) * 1000)
"""


def load_ms(name: str) -> float:
    run = subprocess.run(
        [sys.executable, "-c", LOAD, name], capture_output=True, text=True, check=True
    )
    return float(run.stdout.strip().splitlines()[-1])


async def measure(name: str) -> dict[str, float]:
    from supportai_llm_backends.retrieval.embedders import MiniLMEmbedder, WordLlamaEmbedder
    from supportai_llm_backends.retrieval.service import chunks_of, embed_query
    from supportai_llm_backends.retrieval.source import FileArticleSource

    embedder = MiniLMEmbedder() if name == "minilm" else WordLlamaEmbedder()
    questions = [
        json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line
    ]
    await embed_query(embedder, "warm up")
    latencies = []
    for question in questions:
        started = time.perf_counter()
        await embed_query(embedder, question)
        latencies.append((time.perf_counter() - started) * 1000)
    chunks = chunks_of(await FileArticleSource(ARTICLES).articles("default"))
    texts = list(
        dict.fromkeys(t for c in chunks for t in (c.search_text, c.heading_text, *c.passages))
    )
    started = time.perf_counter()
    await embedder.embed(texts)
    build = time.perf_counter() - started
    return {
        "load_ms": load_ms(name),
        "query_p50_ms": float(np.percentile(latencies, 50)),
        "query_p99_ms": float(np.percentile(latencies, 99)),
        "index_texts": len(texts),
        "index_embed_s": build,
    }


def main() -> None:
    for name in ("wordllama", "minilm"):
        print(name, json.dumps({k: round(v, 3) for k, v in asyncio.run(measure(name)).items()}))


if __name__ == "__main__":
    main()
