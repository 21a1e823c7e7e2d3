"""``SUPPORTAI_KB_BLAS_THREADS``: ranking keeps numpy's BLAS to one thread.

BLAS's idle workers spin on the CPUs the next question's embedding needs, which made
one question in twenty several times slower on a 2-vCPU machine (docs/performance.md).
These tests hold what a host relies on: by default the thread that ranks limits BLAS
the first time it ranks, 0 leaves the host's own BLAS setting alone, and a wrong value
fails start-up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from llm_backends_testing import FIXTURE_ARTICLES
from pydantic import ValidationError
from supportai_llm_backends.knowledge import calibrated, service_with
from supportai_llm_backends.retrieval import blas
from supportai_llm_backends.retrieval.source import FileArticleSource
from supportai_llm_backends.retrieval.store import MemoryEmbeddingStore
from supportai_llm_backends.settings import KnowledgeBaseSettings
from threadpoolctl import threadpool_info, threadpool_limits


def blas_threads() -> set[int]:
    """The thread count of every BLAS library loaded in this process, as this thread sees it."""
    import numpy  # noqa: F401  (loads numpy's BLAS)

    found = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    assert found, "numpy loaded no BLAS that threadpoolctl knows"
    return found


def with_two_blas_threads(work: Callable[[], Any]) -> Any:
    """``work()`` in a thread of its own, with BLAS at two threads (as OpenBLAS starts on a
    2-CPU machine), and its result; BLAS's own count afterwards.

    threadpoolctl lets one thread at a time set OpenBLAS's process-wide count (its
    "controlling thread"; others are ignored), and a ranking test earlier in this
    process may have become it: the test's thread takes over, as a host's first
    ranking thread would in a fresh process, and lets go when it is done."""
    from threadpoolctl import OpenBLASController

    done: list[Any] = []

    def run() -> None:
        OpenBLASController.clear_controlling_thread(force=True)
        with threadpool_limits(limits=2, user_api="blas"):
            if blas_threads() != {2}:
                done.append(pytest.skip.Exception("this BLAS cannot run two threads here"))
                return
            try:
                done.append(work())
            finally:
                OpenBLASController.clear_controlling_thread(force=True)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert done, "the thread failed"
    if isinstance(done[0], pytest.skip.Exception):
        raise done[0]
    return done[0]


def ranks_then_counts(blas_setting: int) -> set[int]:
    """Build a service as the app does, rank one question, and read BLAS's count."""
    settings = calibrated(KnowledgeBaseSettings(embedder="none", blas_threads=blas_setting))
    service = service_with(
        settings, FileArticleSource(FIXTURE_ARTICLES), lambda: None, MemoryEmbeddingStore()
    )
    result = asyncio.run(service.search("t", "how do I get a refund?"))
    assert result.hits, "the question found no article"
    return blas_threads()


def test_the_default_is_one_thread() -> None:
    assert KnowledgeBaseSettings().blas_threads == 1


def test_a_limit_applies_to_numpys_blas() -> None:
    def limit() -> set[int]:
        blas.limit_blas_threads(1)
        return blas_threads()

    assert with_two_blas_threads(limit) == {1}


def test_zero_leaves_the_hosts_blas_alone() -> None:
    def leave() -> set[int]:
        blas.limit_blas_threads(0)
        return blas_threads()

    assert with_two_blas_threads(leave) == {2}


def test_the_thread_that_ranks_limits_blas() -> None:
    assert with_two_blas_threads(lambda: ranks_then_counts(1)) == {1}


def test_a_service_set_to_zero_does_not_touch_blas() -> None:
    assert with_two_blas_threads(lambda: ranks_then_counts(0)) == {2}


def test_the_limit_is_set_once_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(blas, "limit_blas_threads", calls.append)

    def three_times() -> None:
        for _ in range(3):
            blas.limit_blas_threads_once(1)

    for _ in range(2):
        thread = threading.Thread(target=three_times)
        thread.start()
        thread.join(timeout=60)
    assert calls == [1, 1]


@pytest.mark.parametrize("value", ["-1", "65", "two"])
def test_a_wrong_value_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SUPPORTAI_KB_BLAS_THREADS", value)
    with pytest.raises(ValidationError, match="blas_threads"):
        KnowledgeBaseSettings()
