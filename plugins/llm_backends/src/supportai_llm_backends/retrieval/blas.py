"""How many threads numpy's BLAS may use for ranking (``SUPPORTAI_KB_BLAS_THREADS``).

Ranking a question multiplies small matrices: its vector against a help center's
few hundred sections, its word pieces against three articles' pieces. OpenBLAS,
which numpy's wheels bundle, splits such a product over every CPU and then leaves
its worker threads spinning for a while, waiting for the next one. The question's
embedding runs next, in ONNX Runtime's threads, and on a 2-vCPU machine it waits
for those spinning workers: one question in twenty took 8-16 ms instead of 3
(docs/performance.md, "BLAS threads"). One thread does these products as fast and
leaves the other CPUs to the embedder and the event loop.

The limit is set from the thread that ranks (the event loop's), the first time it
ranks. Which threads a count reaches differs: OpenBLAS built on OpenMP keeps one per
thread, and for the usual process-wide pool threadpoolctl lets only the first thread
that sets it do so (it ignores the others without an error). So the thread whose
products matter sets it for itself. threadpoolctl sets it through each library's own
call (OpenBLAS, MKL, BLIS), which an environment variable cannot do once numpy is
loaded.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

_set_here = threading.local()


def limit_blas_threads(threads: int) -> None:
    """Let the BLAS libraries numpy loaded use at most ``threads`` threads; 0 leaves
    them as they are (a host that does its own linear algebra in the same process)."""
    if threads <= 0:
        return
    import numpy  # noqa: F401  (threadpoolctl only sees a BLAS that is already loaded)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    log.debug("numpy's BLAS limited to %d thread(s)", threads)


def limit_blas_threads_once(threads: int) -> None:
    """:func:`limit_blas_threads`, the first time the calling thread asks for ``threads``
    (0.7 ms: threadpoolctl lists the loaded libraries); an attribute lookup after."""
    if getattr(_set_here, "threads", None) == threads:
        return
    limit_blas_threads(threads)
    _set_here.threads = threads
