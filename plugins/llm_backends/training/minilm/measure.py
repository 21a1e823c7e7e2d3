"""What the ``minilm`` embedder costs against ``wordllama``, in the same process.

Run from the repository root::

    python plugins/llm_backends/training/minilm/measure.py

Prints, for both embedders: model load time (a fresh process each, so nothing is
cached), per-question embedding p50/p99 over the example question set, and the
time to embed the example help center (every section, heading and passage text
the index needs). Then, for ``minilm`` on one thread against two (the default), in
the same process: a question's p50/p99 on idle cores, and questions per second when
as many callers as there are CPUs embed at once (``SUPPORTAI_EMBEDDINGS_MINILM_THREADS``
trades the one for the other). Last, the shipped session against one with every
ONNX Runtime graph rewrite applied (``minilm.UNFUSED``, decision 0024), on one
thread, in the same process. The figures in
docs/decisions/0015-minilm-numpy-embedder.md (numpy), 0016-minilm-on-onnx-runtime.md
(ONNX Runtime), 0020-minilm-7-bit-weights-and-two-threads.md and
0024-minilm-without-the-skip-layer-norm-fusion.md come from here.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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
    await embed_query(embedder, "warm up")
    latencies = []
    for question in questions():
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


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line]


def idle_latencies(model: Any, texts: list[str]) -> list[float]:
    """Each question alone, one after the other, in milliseconds."""
    latencies = []
    for text in texts:
        started = time.perf_counter()
        model.embed([text], max_tokens=64)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def saturated_rate(model: Any, texts: list[str], callers: int) -> float:
    """Questions per second with ``callers`` threads embedding the question set at once."""

    def work() -> None:
        for text in texts:
            model.embed([text], max_tokens=64)

    workers = [threading.Thread(target=work) for _ in range(callers)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(texts) * callers / (time.perf_counter() - started)


def compare_threads(rounds: int = 3) -> dict[str, float]:
    """One thread against two, alternating rounds so that drift hits both alike."""
    from supportai_llm_backends.retrieval.minilm import load_minilm, usable_cpus

    texts = questions()
    models = {1: load_minilm(1), 2: load_minilm(2)}
    for model in models.values():
        idle_latencies(model, texts[:20])
    latencies: dict[int, list[float]] = {1: [], 2: []}
    rates: dict[int, list[float]] = {1: [], 2: []}
    callers = max(2, usable_cpus())
    for _ in range(rounds):
        for threads, model in models.items():
            latencies[threads] += idle_latencies(model, texts)
            rates[threads].append(saturated_rate(model, texts, callers))
    result = {"cpus": float(usable_cpus()), "callers": float(callers)}
    for threads in (1, 2):
        result[f"threads{threads}_p50_ms"] = float(np.percentile(latencies[threads], 50))
        result[f"threads{threads}_p99_ms"] = float(np.percentile(latencies[threads], 99))
        result[f"threads{threads}_saturated_per_s"] = float(np.median(rates[threads]))
    result["p99_two_over_one"] = result["threads2_p99_ms"] / result["threads1_p99_ms"]
    result["throughput_two_over_one"] = (
        result["threads2_saturated_per_s"] / result["threads1_saturated_per_s"]
    )
    return result


def compare_fusion(rounds: int = 5) -> dict[str, float]:
    """The shipped session (``UNFUSED`` rewrites left off) against every rewrite applied,
    one thread each, alternating rounds; and how far apart their vectors are."""
    from supportai_llm_backends.retrieval.minilm import MiniLM

    texts = questions()
    models = {"shipped": MiniLM.load(threads=1), "all_fusions": MiniLM.load(threads=1, unfused=())}
    for model in models.values():
        idle_latencies(model, texts[:20])
    latencies: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            latencies[name] += idle_latencies(model, texts)
    cosines = (models["shipped"].embed(texts) * models["all_fusions"].embed(texts)).sum(axis=1)
    result = {"min_cosine": float(cosines.min()), "mean_cosine": float(cosines.mean())}
    for name in models:
        result[f"{name}_p50_ms"] = float(np.percentile(latencies[name], 50))
        result[f"{name}_p99_ms"] = float(np.percentile(latencies[name], 99))
    result["p50_shipped_over_all"] = result["shipped_p50_ms"] / result["all_fusions_p50_ms"]
    result["p99_shipped_over_all"] = result["shipped_p99_ms"] / result["all_fusions_p99_ms"]
    return result


def main() -> None:
    for name in ("wordllama", "minilm"):
        print(name, json.dumps({k: round(v, 3) for k, v in asyncio.run(measure(name)).items()}))
    print("minilm threads", json.dumps({k: round(v, 3) for k, v in compare_threads().items()}))
    import onnxruntime

    fusion = {k: round(v, 4) for k, v in compare_fusion().items()}
    print("minilm fusion, onnxruntime", onnxruntime.__version__, json.dumps(fusion))


if __name__ == "__main__":
    main()
