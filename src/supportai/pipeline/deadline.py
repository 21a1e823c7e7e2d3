"""One timer for the many short waits of a stream.

A turn waits for each backend event with a time limit (the first-token and idle
timeouts) and the SSE relay waits for each queued event with the heartbeat
interval. ``asyncio.timeout()`` around every one of those waits costs a
``Timeout`` object and a timer pushed onto and cancelled from the event loop's
heap, a few hundred times per answer, for a limit that almost never fires.

:class:`IdleDeadline` keeps at most one timer per stream instead. Each wait only
records when it began. When the timer fires, it checks the wait in progress: if
it began at least ``limit`` ago the task is cancelled and the wait raises
``TimeoutError``, exactly like ``asyncio.timeout``; otherwise the timer is set
again for the moment that wait would expire. So a healthy stream pays a clock
read per event, and a timer only every ``limit`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class IdleDeadline:
    """Raise ``TimeoutError`` in a wait (``with deadline.waiting(limit)``) that lasts too long.

    Bound to the task that creates it; waits must not overlap. :meth:`close` it
    when the stream ends (the ``with`` form does that).
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("IdleDeadline needs a running task")
        self._task = task
        self._timer: asyncio.TimerHandle | None = None
        self._since: float | None = None  # when the wait in progress began
        self._limit = 0.0
        self._expired = False

    def __enter__(self) -> IdleDeadline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @contextmanager
    def waiting(self, limit: float | None) -> Iterator[None]:
        """Around one ``await``: it raises ``TimeoutError`` after ``limit`` seconds."""
        if limit is None:
            yield
            return
        cancelling = self._task.cancelling()
        now = self._loop.time()
        self._since, self._limit = now, limit
        due = now + limit
        if self._timer is None or self._timer.when() > due:
            self.close()
            self._timer = self._loop.call_at(due, self._fire)
        try:
            yield
        except asyncio.CancelledError:
            if not self._expired:
                raise
            # Our cancellation, not someone else's: undo it, as asyncio.timeout does.
            self._expired = False
            if self._task.uncancel() <= cancelling:
                raise TimeoutError from None
            raise
        finally:
            self._since = None

    def _fire(self) -> None:
        self._timer = None
        since = self._since
        if since is None:  # between waits: the next wait sets the timer again
            return
        due = since + self._limit
        if self._loop.time() >= due:
            self._expired = True
            self._task.cancel()
        else:
            self._timer = self._loop.call_at(due, self._fire)
