"""A running turn's events, in memory on its worker and in batches to the shared log.

The producing turn hands every event to its :class:`TurnRecorder`. The recorder
keeps them where a resume on this worker can follow them directly (woken on every
new event: no polling) and writes them to the shared
:class:`~supportai.resume.log.EventLog` in batches: at most every
``SUPPORTAI_TURN_EVENTS_FLUSH_S`` while the turn runs, and a last batch that rides
in the transaction saving the answer
(:meth:`~supportai.pipeline.ending.TurnEnding._write_final_batch`).

Writing per event cost 2.76x the CPU of a turn in an earlier attempt. Here a delta
is kept as where it ends in the answer the turn holds anyway (``Turn.text``), not
as an object, and a batch is one row (:mod:`supportai.resume.batch`), so the log
costs a few percent of a turn in CPU and memory (``bench/turn_events.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from array import array
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from supportai.pipeline.deadline import IdleDeadline
from supportai.pipeline.events import TurnEvent
from supportai.resume.batch import Batch, encode_batch, other_json
from supportai.resume.log import EventLog

log = logging.getLogger("supportai.resume")

TERMINAL = "turn.completed"
#: How long batches wait while the turn's live client is connected: it needs no log,
#: so a turn of a few seconds writes only its last batch (with the answer), and a drop
#: the worker has not noticed yet is in the log this late at most.
CONNECTED_FLUSH_S = 2.0


class Answer(Protocol):
    """What holds the answer being streamed (the :class:`~supportai.pipeline.turn.Turn`).

    Read through the object rather than a closure: one fewer allocation per turn.
    """

    text: str


class TurnRecorder:
    """The events of one turn of this worker (see the module docstring).

    ``answer.text`` is the turn's answer so far: the ``delta`` events, joined.

    What it keeps is what a running turn costs in memory with the log on, so it is
    kept small: slots, 4-byte offsets, and the other events as the JSON the live
    stream already made of them rather than as event objects with their dicts.
    """

    __slots__ = (
        "_answer",
        "_ends",
        "_flushing",
        "_idle",
        "_others",
        "_text_end",
        "_timer",
        "_wake",
        "ended",
        "flush_s",
        "interval_s",
        "log",
        "logged",
        "turn",
    )

    def __init__(self, turn: int, event_log: EventLog, flush_s: float, answer: Answer) -> None:
        self.turn = turn
        self.log = event_log
        #: While the live client is there, a batch every :data:`CONNECTED_FLUSH_S`;
        #: once it left, every ``flush_s``.
        self.flush_s = flush_s
        self.interval_s = max(CONNECTED_FLUSH_S, flush_s)
        self._answer = answer
        #: Per event (sequence number = index + 1): for a delta, where its text ends
        #: in the answer; for any other event, -1 - its index in ``_others``. Four bytes
        #: each (:meth:`_keep_end` widens them past 2**31 characters).
        self._ends = array("i")
        self._text_end = 0
        #: The other events, as ``(name, data as JSON)``.
        self._others: list[tuple[str, str]] = []
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
            self._keep_end(self._text_end)
        else:
            self._keep_end(-1 - len(self._others))
            self._others.append((event.event, event.payload()))
            if event.event == TERMINAL:
                self.ended = True
        if self._wake is not None:
            self._wake.set()
            self._wake = None
        if self._idle and not self.ended:
            self._idle = False
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self._flush_due)

    def _keep_end(self, mark: int) -> None:
        try:
            self._ends.append(mark)
        except OverflowError:  # an answer of 2 GiB characters: 8-byte offsets from here
            self._ends = array("q", self._ends)
            self._ends.append(mark)

    def event(self, index: int) -> TurnEvent:
        """The event with sequence number ``index + 1``."""
        end = self._ends[index]
        if end < 0:
            name, payload = self._others[-1 - end]
            return TurnEvent(name, json.loads(payload), index + 1, self.turn, payload)
        text = self._answer.text[self._text_before(index) : end]
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
        others: list[str] = []
        start = end = self._text_before(self.logged)
        ends, recorded = self._ends, self._others
        for index in range(self.logged, upto):
            mark = ends[index]
            if mark < 0:
                lengths.append(None)
                others.append(other_json(*recorded[-1 - mark]))
            else:
                lengths.append(mark - end)
                end = mark
        for event in extra:
            lengths.append(None)
            others.append(other_json(event.event, event.payload()))
        text = self._answer.text[start:end]
        return encode_batch(self.turn, self.logged + 1, text, lengths, others)

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
                if self._others and self._others[-1][0] == TERMINAL:
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
