"""Benchmark of the knowledge-base hot path (not a test: timings vary by machine).

Measures, on the Lumen help center of ``examples/host_app/articles`` and on a
20x larger copy of it:

* building the index (done once, at start-up);
* ``search`` (BM25 over articles) per query;
* ``context_documents`` (what ``supportai_retrieve_context`` returns) per query;
* ``compose`` (the knowledge_base backend's whole answer, before streaming) per query.

Run: ``python plugins/llm_backends/bench/bench_retrieval.py``
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from supportai_llm_backends.knowledge import KnowledgeBase
from supportai_llm_backends.knowledge_base import KnowledgeBaseBackend
from supportai_llm_backends.settings import KnowledgeBaseSettings

from supportai.caller import Caller
from supportai.llm import BackendRequest, ChatMessage

ARTICLES = Path(__file__).resolve().parents[3] / "examples" / "host_app" / "articles"
QUESTIONS = [
    "how do I reset my password",
    "can I get a refund for my yearly renewal?",
    "where can I download an invoice as PDF",
    "set up SAML single sign-on with Okta",
    "I lost my phone and can't get my 2FA code",
    "verify the webhook signature",
    "my card was declined",
    "import my boards from Trello",
    "how long do you keep deleted tasks",
    "tell me a joke",
]


def per_call_us(function: Callable[[str], object], rounds: int = 2000) -> tuple[float, float]:
    """Median and 99th percentile of one call, in microseconds."""
    samples = []
    for i in range(rounds):
        question = QUESTIONS[i % len(QUESTIONS)]
        started = time.perf_counter_ns()
        function(question)
        samples.append((time.perf_counter_ns() - started) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def run(folder: Path, label: str) -> None:
    settings = KnowledgeBaseSettings(articles_dir=folder)
    started = time.perf_counter()
    kb = KnowledgeBase.from_settings(settings)
    build_ms = (time.perf_counter() - started) * 1000
    backend = KnowledgeBaseBackend(kb)
    caller = Caller("t", "u")

    def compose(question: str) -> object:
        request = BackendRequest(
            messages=(ChatMessage("user", question),),
            caller=caller,
            conversation_id=1,
            max_output_tokens=1024,
        )
        return backend.compose(request)

    print(f"{label}: {len(kb.articles)} articles, index built in {build_ms:.1f} ms")
    for name, function in [
        ("search", lambda q: kb.search(q, 3)),
        ("context_documents", lambda q: kb.context_documents(q, 3)),
        ("compose answer", compose),
    ]:
        median, p99 = per_call_us(function)
        print(f"  {name:<18} median {median:7.1f} us   p99 {p99:7.1f} us")


def main() -> None:
    print(f"python {sys.version.split()[0]}")
    run(ARTICLES, "Lumen help center")
    with tempfile.TemporaryDirectory() as tmp:
        for copy in range(20):
            for article in ARTICLES.glob("*.md"):
                shutil.copy(article, Path(tmp) / f"{article.stem}-{copy}.md")
        run(Path(tmp), "20x copy")


if __name__ == "__main__":
    main()
