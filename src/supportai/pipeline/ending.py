"""Stage 8 of a turn and the end of its stream: persist, settle, observe.

:class:`TurnEnding` is the base of :class:`~supportai.pipeline.turn.Turn` that
numbers and sends the turn's events and ends it: it saves what the user saw,
settles the reservation to the real cost, and tells the client and the
observers how the turn ended. It shares the turn's state (declared below); the
stages that produce the answer are in ``turn.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from databases.core import Connection

from supportai import user_strings
from supportai.caller import Caller
from supportai.errors import SupportAIError
from supportai.llm import Usage
from supportai.pipeline import observed
from supportai.pipeline.events import TurnEvent
from supportai.pipeline.prepare import Prepared, Timings
from supportai.quota.base import Reservation
from supportai.quota.settlement import Spend
from supportai.resume.recorder import TurnRecorder
from supportai.runtime import Runtime
from supportai.store import turns
from supportai.store.turns import ToolCallRecord


class TurnEnding:
    """Numbering and sending a turn's events, and stage 8 (a base of ``Turn``)."""

    #: The end events, built in the answer's transaction with the event log's last
    #: batch (:meth:`_write_final_batch`), and when that transaction began. Class
    #: defaults: a turn without the log in the database never sets them.
    _final_events: list[TurnEvent] | None = None
    _persist_started = 0.0

    runtime: Runtime
    caller: Caller
    prepared: Prepared
    queue: asyncio.Queue[TurnEvent | None]
    recorder: TurnRecorder | None
    locale: str | None
    text: str
    status: str
    finish_reason: str | None
    not_found: bool
    citations: list[dict[str, Any]]
    tool_calls: list[ToolCallRecord]
    usage: Usage
    cost_micros: int
    assistant_message_id: int | None
    error: SupportAIError | None
    _seq: int
    _consumer_gone: bool
    _announced: bool
    _worded_error: SupportAIError | None

    # -- events ----------------------------------------------------------------------------

    def _event(self, name: str, data: dict[str, Any]) -> TurnEvent:
        self._seq += 1
        return TurnEvent(name, data, self._seq, self.prepared.user_message_id)

    async def _send(self, event: TurnEvent) -> None:
        if self.recorder is not None:
            self.recorder.record(event)
        if not self._consumer_gone:
            await self.queue.put(event)

    # -- stage 8 ---------------------------------------------------------------------------

    async def _finish(self, timings: Timings) -> None:
        """Stage 8: persist what the user saw, settle the reservation, tell observers."""
        backend = self.runtime.backend
        assert backend is not None
        self._price_usage(backend.model)
        started = time.perf_counter()
        reservation = self.prepared.reservation
        ended = await self._persist(started, backend.model, reservation)
        await self._settle(reservation)
        timings.add("persist", started)
        await self._observe(timings, ended)

    def _price_usage(self, model: str) -> None:
        """The turn's real cost: what it used, at ``model``'s price (saved or not)."""
        price = self.runtime.settings.price_for(model)
        self.cost_micros = price.cost_micros(self.usage.input_tokens, self.usage.output_tokens)

    async def _persist(
        self, started: float, model: str, reservation: Reservation | None
    ) -> list[TurnEvent] | None:
        """Save the answer, its tool calls and usage in one transaction.

        The same transaction settles a quota store in this database, or queues the
        settlement in the outbox for one outside it (``quota/settlement.py``), and
        writes the event log's last batch when the log lives there too. Returns the
        terminal events that batch holds (``None`` when they are still to be built).
        """
        in_transaction = (
            self.runtime.settlements.in_transaction(reservation, self.cost_micros)
            if reservation is not None
            else None
        )
        await self._word_error()
        self._persist_started = started
        in_log = await self._ready_final_batch()
        try:
            async with self.runtime.database.connection() as conn:
                self.assistant_message_id = await self._insert_answer(
                    conn,
                    model,
                    reservation,
                    in_transaction,
                    self._write_final_batch if in_log else None,
                )
        except BaseException:
            if self._final_events:  # rolled back: not sent, not logged
                self._seq -= len(self._final_events)
                self._final_events = None
            raise
        if self._final_events is not None and self.recorder is not None:
            self.recorder.logged = len(self.recorder) + len(self._final_events)
        self.prepared.reservation = None
        return self._final_events

    async def _settle(self, reservation: Reservation | None) -> None:
        """Settle a store outside the answer's transaction, now that the answer is saved."""
        if reservation is not None:
            await self.runtime.settlements.after_commit(reservation, self.cost_micros)

    async def _observe(self, timings: Timings, ended: list[TurnEvent] | None) -> None:
        """Queue a blocked answer for review, end the stream, tell ``turn_completed`` observers."""
        runtime, prepared = self.runtime, self.prepared
        if self.status == "blocked" and runtime.settings.queue_blocked_for_review:
            assert self.assistant_message_id is not None
            await observed.queue_for_review(
                runtime,
                self.caller,
                prepared.conversation_id,
                self.assistant_message_id,
                "output_blocked",
            )
        await self._announce_end(timings, ended)
        await runtime.hooks.turn_completed(
            {
                **observed.completed_event(
                    self.caller,
                    prepared,
                    self.assistant_message_id,
                    self.status,
                    self.usage,
                    self.cost_micros,
                    timings,
                ),
                "finish_reason": self.finish_reason,
            }
        )

    async def _insert_answer(
        self,
        conn: Connection,
        model: str,
        reservation: Reservation | None,
        in_transaction: Any,
        log_events: Any,
    ) -> int:
        caller, prepared = self.caller, self.prepared
        return await turns.insert_assistant_turn(
            conn,
            caller,
            prepared.conversation_id,
            prepared.user_message_id,
            content=self.text,
            status=self.status,
            finish_reason=self.finish_reason,
            citations=self.citations,
            tool_calls=self.tool_calls,
            model=model,
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            cost_micros=self.cost_micros,
            first_delta_ms=prepared.timings.first_delta_ms,
            not_found=self.not_found,
            reservation_id=reservation.id if reservation is not None else None,
            also=in_transaction,
            log_events=log_events,
        )

    async def _charge_without_conversation(self) -> None:
        """The answer could not be saved (e.g. its conversation was deleted meanwhile).

        The tokens were still spent: record them with no conversation reference and
        settle the reservation to the real cost, so that deleting a conversation
        mid-answer is no way around the rate limit or the cost cap. When the
        database is down this keeps trying in the background (see
        :class:`~supportai.quota.settlement.Settlements`); the hold counts against
        the cap until then.
        """
        runtime = self.runtime
        backend = runtime.backend
        assert backend is not None
        self._price_usage(backend.model)
        await runtime.settlements.record_unsaved(
            Spend(
                caller=self.caller,
                reservation=self.prepared.reservation,
                model=backend.model,
                input_tokens=self.usage.input_tokens,
                output_tokens=self.usage.output_tokens,
                cost_micros=self.cost_micros,
            )
        )
        self.prepared.reservation = None

    # -- the end of the stream -------------------------------------------------------------

    async def _announce_end(
        self, timings: Timings, prebuilt: list[TurnEvent] | None = None
    ) -> None:
        """The typed end of the stream: the ``error`` event if any, then ``turn.completed``.

        ``prebuilt``: the same events, already written to the event log in the
        answer's transaction (:meth:`_persist`).
        """
        if self._announced:
            return
        self._announced = True
        if prebuilt is None:
            await self._word_error()
        for event in prebuilt or self._end_events(timings, self.assistant_message_id):
            await self._send(event)

    async def _word_error(self) -> None:
        """The error's detail in the tenant's and user's words, before its events are built.

        Once per error: the events are built synchronously, possibly inside the answer's
        transaction, so the (async) ``supportai_user_strings`` lookup happens first.
        """
        if self.error is not None and self.error is not self._worded_error:
            self.error = await user_strings.in_user_words(
                self.runtime.hooks, self.error, self.caller.tenant_id, self.locale
            )
            self._worded_error = self.error

    def _end_events(
        self, timings: Timings, message_id: int | None, persist_ms: float = 0.0
    ) -> list[TurnEvent]:
        prepared = self.prepared
        events = []
        if self.error is not None:
            events.append(
                self._event(
                    "error", {"reason": self.error.reason.value, "detail": self.error.detail}
                )
            )
        durations = dict(timings.values)
        if persist_ms:
            durations["persist"] = durations.get("persist", 0.0) + persist_ms
        events.append(
            self._event(
                "turn.completed",
                {
                    "conversation_id": prepared.conversation_id,
                    "user_message_id": prepared.user_message_id,
                    "message_id": message_id,
                    "status": self.status,
                    "finish_reason": self.finish_reason,
                    "usage": {
                        "input_tokens": self.usage.input_tokens,
                        "output_tokens": self.usage.output_tokens,
                    },
                    "cost_micros": self.cost_micros,
                    "timings_ms": {k: round(v, 3) for k, v in durations.items()},
                },
            )
        )
        return events

    async def _ready_final_batch(self) -> bool:
        """Ready the event log's last batch; True when it rides in the answer's transaction.

        A log in the app's database gets every event not yet logged, the terminal
        ones included, in the transaction that saves the answer
        (:meth:`_write_final_batch`): no write transaction of its own, and a saved
        answer always has its whole log. Any other log (Redis) gets the answer's
        events now, before the answer commits, and the terminal ones after it
        (:meth:`_close_recorder`): a resume that sees the saved answer has every text
        event either way.
        """
        recorder = self.recorder
        if recorder is None:
            return False
        await recorder.settle_batches()
        if recorder.log.shares_database:
            return True
        await recorder.flush_rest()
        return False

    async def _write_final_batch(self, conn: Connection, message_id: int) -> None:
        """In the answer's transaction: the events not yet logged and the end events,
        built here because ``turn.completed`` names the answer's id.

        A method and two attributes rather than a closure: every turn of a round waits
        for the write lock with it, so its size counts in the log's memory cost.
        """
        recorder = self.recorder
        assert recorder is not None
        if self._final_events:  # a retried transaction builds them again
            self._seq -= len(self._final_events)
        persist_ms = (time.perf_counter() - self._persist_started) * 1000
        self._final_events = self._end_events(self.prepared.timings, message_id, persist_ms)
        batch = recorder.batch(len(recorder), self._final_events)
        if batch is not None:
            await recorder.log.write_in(conn, batch)

    async def _close_recorder(self, recorder: TurnRecorder) -> None:
        """Log what is left (terminal events outside the database), then leave the
        live turns: a resume from now on reads the log."""
        await recorder.settle_batches()
        await recorder.flush_rest()
        self.runtime.live_turns.discard(recorder)
