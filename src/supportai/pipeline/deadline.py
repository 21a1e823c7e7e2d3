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
        self._wait = _Wait(self)

    def __enter__(self) -> IdleDeadline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def waiting(self, limit: float | None) -> _Wait:
        """Around one ``await``: it raises ``TimeoutError`` after ``limit`` seconds."""
        wait = self._wait
        wait.limit = limit
        return wait

    def _start_timer(self, due: float) -> None:
        self.close()
        self._timer = self._loop.call_at(due, self._fire)

    def _end(self, cancelled: bool, cancelling: int) -> bool:
        """Whether to turn the cancellation that ended the wait into ``TimeoutError``."""
        self._since = None
        if not cancelled or not self._expired:
            return False
        # Our cancellation, not someone else's: undo it, as asyncio.timeout does.
        self._expired = False
        return self._task.uncancel() <= cancelling

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


class _Wait:
    """The context manager :meth:`IdleDeadline.waiting` returns (reused: waits never overlap).

    A class rather than ``@contextmanager``: it runs around every event of a
    stream, and a generator-based manager costs a generator per wait.
    """

    __slots__ = ("_cancelling", "_deadline", "limit")

    def __init__(self, deadline: IdleDeadline) -> None:
        self._deadline = deadline
        self.limit: float | None = None
        self._cancelling = 0

    def __enter__(self) -> None:
        limit = self.limit
        if limit is None:
            return
        # Inline rather than a method of IdleDeadline: this runs for every event of a
        # stream. The timer moves only when this wait would expire before it fires.
        deadline = self._deadline
        self._cancelling = deadline._task.cancelling()
        now = deadline._loop.time()
        deadline._since, deadline._limit = now, limit
        timer = deadline._timer
        if timer is None or timer.when() > now + limit:
            deadline._start_timer(now + limit)

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if self.limit is None:
            return
        deadline = self._deadline
        if not deadline._expired:  # the usual end: IdleDeadline._end without the call
            deadline._since = None
            return
        if deadline._end(kind is asyncio.CancelledError, self._cancelling):
            raise TimeoutError from None
