"""A running turn's events, in memory on its worker and in batches to the shared log.

The producing turn hands every event to its :class:`TurnRecorder`. The recorder
keeps them in a list (a resume on this worker follows that list directly and is
woken on every new event: no polling) and writes them to the shared
:class:`~supportai.resume.log.EventLog` in batches: at most every
``SUPPORTAI_TURN_EVENTS_FLUSH_S`` while the turn runs, and a last batch that rides
in the transaction saving the answer (:meth:`TurnRecorder.final_batch`). Writing
per event cost 2.76x the CPU of a turn in an earlier attempt; batches keep the log
within a few percent (``bench/turn_events.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from supportai.pipeline.deadline import IdleDeadline
from supportai.pipeline.events import TurnEvent
from supportai.resume.log import EventLog

log = logging.getLogger("supportai.resume")

TERMINAL = "turn.completed"


class TurnRecorder:
    """The events of one turn of this worker (see the module docstring)."""

    def __init__(self, turn: int, event_log: EventLog, flush_s: float) -> None:
        self.turn = turn
        self.log = event_log
        self.flush_s = flush_s
        self.events: list[TurnEvent] = []
        #: How many of :attr:`events` are in the shared log.
        self.logged = 0
        self.ended = False
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    def record(self, event: TurnEvent) -> None:
        """Keep ``event``, wake this worker's readers, and make sure a flush is due."""
        self.events.append(event)
        if event.event == TERMINAL:
            self.ended = True
        if self._wake is not None:
            self._wake.set()
            self._wake = None
        if self._timer is None and self._flushing is None and not self.ended:
            self._timer = asyncio.get_running_loop().call_later(self.flush_s, self._flush_due)

    # -- writing ------------------------------------------------------------------------

    def _flush_due(self) -> None:
        self._timer = None
        self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        upto = len(self.events)
        try:
            await self.log.write(self.events[self.logged : upto])
            self.logged = upto
        except Exception:  # kept in memory; the next batch (or the final one) retries
            log.warning("turn %s: writing its events to the log failed", self.turn, exc_info=True)
        finally:
            self._flushing = None
        if self.logged < len(self.events) and not self.ended and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.flush_s, self._flush_due)

    async def settle_batches(self) -> None:
        """Stop the timer and wait for a batch being written: the next write is the last.

        Called before the answer's transaction opens (on SQLite a batch waiting for
        the write lock inside it would wait forever).
        """
        self.ended = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing is not None:
            await asyncio.shield(self._flushing)

    def final_batch(self) -> list[TurnEvent]:
        """Every event not yet logged; marks them logged (the caller writes them)."""
        batch = self.events[self.logged :]
        self.logged = len(self.events)
        return batch

    async def flush_rest(self) -> None:
        """Write what is left on its own (terminal events outside the database, failures)."""
        batch = self.events[self.logged :]
        if not batch:
            return
        try:
            await self.log.write(batch)
            self.logged += len(batch)
        except Exception:
            log.warning("turn %s: writing its last events failed", self.turn, exc_info=True)

    # -- reading ------------------------------------------------------------------------

    async def follow(
        self, after: int, heartbeat_s: float | None = None
    ) -> AsyncIterator[TurnEvent | None]:
        """Events with ``id > after`` as they are recorded, until ``turn.completed``.

        ``None`` is a heartbeat tick. Wakes on every new event (an ``asyncio.Event``
        shared by this turn's readers), so a resume here sees events as soon as the
        live stream would.
        """
        position = 0
        while position < len(self.events) and self.events[position].id <= after:
            position += 1
        deadline = IdleDeadline()
        try:
            while True:
                while position < len(self.events):
                    event = self.events[position]
                    position += 1
                    yield event
                    if event.event == TERMINAL:
                        return
                if self.events and self.events[-1].event == TERMINAL:
                    return  # the client already had the end
                if self._wake is None:
                    self._wake = asyncio.Event()
                wake = self._wake
                try:
                    with deadline.waiting(heartbeat_s):
                        await wake.wait()
                except TimeoutError:
                    yield None
        finally:
            deadline.close()


class LiveTurns:
    """This worker's running turns by user message id, for resumes that land here."""

    def __init__(self) -> None:
        self._turns: dict[int, TurnRecorder] = {}

    def add(self, recorder: TurnRecorder) -> None:
        self._turns[recorder.turn] = recorder

    def get(self, turn: int) -> TurnRecorder | None:
        return self._turns.get(turn)

    def discard(self, recorder: TurnRecorder) -> None:
        if self._turns.get(recorder.turn) is recorder:
            del self._turns[recorder.turn]
