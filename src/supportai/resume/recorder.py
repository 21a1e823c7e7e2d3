"""A running turn's events, in memory on its worker and in batches to the shared log.

The producing turn hands every event to its :class:`TurnRecorder`. The recorder
keeps them where a resume on this worker can follow them directly (woken on every
new event: no polling) and writes them to the shared
:class:`~supportai.resume.log.EventLog` in batches: at most every
``SUPPORTAI_TURN_EVENTS_FLUSH_S`` while the turn runs, and a last batch that rides
in the transaction saving the answer (:meth:`Turn._log_final_batch`).

Writing per event cost 2.76x the CPU of a turn in an earlier attempt. Here a delta
is kept as two offsets into the answer the turn holds anyway (``Turn.text``), not
as an object, and a batch is one row (:mod:`supportai.resume.batch`), so the log
costs a few percent of a turn in CPU and memory (``bench/turn_events.py``).
"""

from __future__ import annotations

import asyncio
import logging
from array import array
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from supportai.pipeline.deadline import IdleDeadline
from supportai.pipeline.events import TurnEvent
from supportai.resume.batch import Batch, encode_batch
from supportai.resume.log import EventLog

log = logging.getLogger("supportai.resume")

TERMINAL = "turn.completed"
#: How long batches wait while the turn's live client is connected: it needs no log,
#: so a turn of a few seconds writes only its last batch (with the answer), and a drop
#: the worker has not noticed yet is in the log this late at most.
CONNECTED_FLUSH_S = 2.0


class TurnRecorder:
    """The events of one turn of this worker (see the module docstring).

    ``text`` returns the turn's answer so far: the ``delta`` events, joined.
    """

    def __init__(
        self, turn: int, event_log: EventLog, flush_s: float, text: Callable[[], str]
    ) -> None:
        self.turn = turn
        self.log = event_log
        #: While the live client is there, a batch every :data:`CONNECTED_FLUSH_S`;
        #: once it left, every ``flush_s``.
        self.flush_s = flush_s
        self.interval_s = max(CONNECTED_FLUSH_S, flush_s)
        self._text = text
        #: Per event (sequence number = index + 1): for a delta, where its text ends
        #: in the answer; for any other event, -1 - its index in ``_others``.
        self._ends = array("q")
        self._text_end = 0
        self._others: list[TurnEvent] = []
        #: How many events are in the shared log.
        self.logged = 0
        self.ended = False
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        #: No flush is due or running: the next event arms the timer.
        self._idle = True

    def __len__(self) -> int:
        return len(self._ends)

    def record(self, event: TurnEvent) -> None:
        """Keep ``event``, wake this worker's readers, and make sure a flush is due."""
        if event.event == "delta":
            self._text_end += len(event.data["text"])
            self._ends.append(self._text_end)
        else:
            self._ends.append(-1 - len(self._others))
            self._others.append(event)
            if event.event == TERMINAL:
                self.ended = True
        if self._wake is not None:
            self._wake.set()
            self._wake = None
        if self._idle and not self.ended:
            self._idle = False
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self._flush_due)

    def event(self, index: int) -> TurnEvent:
        """The event with sequence number ``index + 1``."""
        end = self._ends[index]
        if end < 0:
            return self._others[-1 - end]
        text = self._text()[self._text_before(index) : end]
        return TurnEvent("delta", {"text": text}, index + 1, self.turn)

    def _text_before(self, index: int) -> int:
        """Where the first delta at or after ``index`` starts in the answer."""
        for earlier in range(index - 1, -1, -1):  # the delta before (others are few)
            if self._ends[earlier] >= 0:
                return self._ends[earlier]
        return 0

    def batch(self, upto: int, extra: Sequence[TurnEvent] = ()) -> Batch | None:
        """Events ``logged`` to ``upto`` (not included), then ``extra``, as one batch."""
        lengths: list[int | None] = []
        others: list[list[Any]] = []
        start = end = self._text_before(self.logged)
        ends, recorded = self._ends, self._others
        for index in range(self.logged, upto):
            mark = ends[index]
            if mark < 0:
                event = recorded[-1 - mark]
                lengths.append(None)
                others.append([event.event, event.data])
            else:
                lengths.append(mark - end)
                end = mark
        for event in extra:
            lengths.append(None)
            others.append([event.event, event.data])
        return encode_batch(self.turn, self.logged + 1, self._text()[start:end], lengths, others)

    # -- writing ------------------------------------------------------------------------

    def _flush_due(self) -> None:
        self._timer = None
        self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        upto = len(self)
        try:
            batch = self.batch(upto)
            if batch is not None:
                await self.log.write(batch)
            self.logged = upto
        except Exception:  # kept in memory; the next batch (or the final one) retries
            log.warning("turn %s: writing its events to the log failed", self.turn, exc_info=True)
        finally:
            self._flushing = None
        if self.logged < len(self) and not self.ended:
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self._flush_due)
        else:
            self._idle = True

    def client_left(self) -> None:
        """The live client went away: write what it missed now, then every ``flush_s``.

        A resume on another worker finds everything the client missed up to now in
        the log, and the rest at most ``flush_s`` (plus its poll interval) late.
        """
        self.interval_s = self.flush_s
        if self._timer is not None and not self.ended:
            self._timer.cancel()
            self._flush_due()

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

    async def flush_rest(self) -> None:
        """Write what is left on its own (terminal events outside the database, failures)."""
        upto = len(self)
        batch = self.batch(upto)
        if batch is None:
            return
        try:
            await self.log.write(batch)
            self.logged = upto
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
        position = max(after, 0)
        deadline = IdleDeadline()
        try:
            while True:
                while position < len(self):
                    event = self.event(position)
                    position += 1
                    yield event
                    if event.event == TERMINAL:
                        return
                if self._others and self._others[-1].event == TERMINAL:
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
