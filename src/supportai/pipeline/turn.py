"""The streamed part of a turn: stages 6 and 7 (backend, tool loop, output filters).

The turn reads as its stages (``docs/pipeline.md``): :func:`~supportai.pipeline.
prepare.prepare` runs stages 1-5 before the first byte; :meth:`Turn._produce`
then starts the answer (:meth:`Turn._start`), runs the backend's rounds and their
tool calls with the text through the output filters (:meth:`Turn._answer`), and
ends with stage 8 (:meth:`~supportai.pipeline.ending.TurnEnding._finish`:
persist, settle, observe).

The answer is produced by a task of its own that writes events into a queue;
the HTTP response only relays them. With the turn event log on (the default,
``SUPPORTAI_TURN_EVENTS_TTL_S``), every event also goes to the turn's
:class:`~supportai.resume.recorder.TurnRecorder`, and a client that disconnects
leaves the turn running to its end: it resumes the stream with
``Last-Event-ID`` on any worker (decision 0011). With the log off, the response
cancels the producer instead, which still persists the partial answer (status
``interrupted``) and settles the quota. Either way nothing the user saw is lost
and nothing is charged twice or left reserved.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Coroutine
from typing import Any

from supportai.caller import Caller
from supportai.classifiers import Classification
from supportai.errors import Reason, SupportAIError
from supportai.filters import FilterContext
from supportai.llm import (
    BackendError,
    BackendRequest,
    ChatMessage,
    Citation,
    ContextDocument,
    Finish,
    TextDelta,
    ToolCallRequest,
    ToolSpec,
    Usage,
    answering,
    grounding_texts,
)
from supportai.pipeline import observed, running
from supportai.pipeline.budget import (
    TOKENS_PER_CHAR,
    estimate_usage,
    request_bound,
    reservation_tokens,
    token_counter,
    worst_case_cost,
)
from supportai.pipeline.citations import ParagraphCounter
from supportai.pipeline.deadline import IdleDeadline
from supportai.pipeline.ending import TurnEnding
from supportai.pipeline.events import TurnEvent
from supportai.pipeline.filtering import FilterChain
from supportai.pipeline.prepare import Prepared, Timings, prepare
from supportai.pipeline.tool_loop import run_tool
from supportai.quota.settlement import keep_lease
from supportai.resume.recorder import TurnRecorder
from supportai.runtime import Runtime
from supportai.store.turns import ToolCallRecord
from supportai.telemetry.tracing import traced, traced_stream

__all__ = [
    # Moved to prepare.py and budget.py; importable from here as before.
    "TOKENS_PER_CHAR",
    "Prepared",
    "Timings",
    "Turn",
    "prepare",
    "reservation_tokens",
    "worst_case_cost",
]

log = logging.getLogger("supportai.turn")

#: Grounding documents asked of ``supportai_retrieve_context`` per turn.
CONTEXT_DOCUMENTS = 3


class Turn(TurnEnding):
    """The streamed part of a turn (stages 6-8) for one prepared request."""

    def __init__(self, runtime: Runtime, caller: Caller, prepared: Prepared, content: str) -> None:
        self.runtime = runtime
        self.caller = caller
        self.prepared = prepared
        self.content = content
        self.queue = asyncio.Queue(maxsize=512)
        self._seq = 0
        self._producer: asyncio.Task[None] | None = None
        self._consumer_gone = False
        # results, read by the JSON response after the stream ended
        self.text = ""
        self.status = "complete"
        self.finish_reason = None
        #: The backend answered with its not-found fallback (``Finish.not_found``).
        self.not_found = False
        self._worded_error = None
        self.citations = []
        #: Citations waiting for a paragraph boundary: (boundary number, citation).
        self._pending_citations: list[tuple[int, dict[str, Any]]] = []
        self._pushed_paragraphs = ParagraphCounter()
        self._released_paragraphs = ParagraphCounter()
        self.tool_calls = []
        self.usage = Usage(0, 0)
        self.cost_micros = 0
        self.assistant_message_id = None
        self.error = None
        #: The user's language (``Accept-Language``), for the texts of errors.
        self.locale = None
        self.filter_chain: FilterChain | None = None
        self._announced = False
        #: This turn's events for resumes (None when the event log is off).
        self.recorder = None

    # -- relay -----------------------------------------------------------------------------

    async def events(
        self, heartbeat_s: float | None = None
    ) -> AsyncGenerator[TurnEvent | None, None]:
        """Yield events as they are produced; ``None`` is a heartbeat tick.

        Closing this iterator early (client gone) interrupts the producer, unless the
        turn event log is on: then the turn runs to its end for a resume to read.
        """
        event_log = self.runtime.event_log
        if event_log is not None:
            self.recorder = TurnRecorder(
                self.prepared.user_message_id,
                event_log,
                self.runtime.settings.turn_events_flush_s,
                self,
            )
            self.runtime.live_turns.add(self.recorder)
        self._producer = asyncio.create_task(self._produce())
        running.track(self._producer)
        deadline = IdleDeadline()  # one heartbeat timer, not one per event
        try:
            while True:
                try:
                    with deadline.waiting(heartbeat_s):
                        event = await self.queue.get()
                except TimeoutError:
                    yield None
                    continue
                if event is None:
                    return
                yield event
        finally:
            deadline.close()
            if not self._producer.done():
                self._consumer_gone = True
                if event_log is None:
                    self._producer.cancel()
                elif self.recorder is not None:  # None: the turn has just ended
                    self.recorder.client_left()

    def take_ready(self) -> list[TurnEvent]:
        """Events already queued, without waiting (the end marker stays queued)."""
        ready: list[TurnEvent] = []
        while True:
            try:
                event = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return ready
            if event is None:
                self.queue.put_nowait(None)  # leave the end for ``events`` to see
                return ready
            ready.append(event)

    async def wait(self) -> None:
        if self._producer is not None:
            await asyncio.shield(self._producer)

    async def _emit(self, name: str, data: dict[str, Any]) -> None:
        if name == "delta" and self.prepared.timings.first_delta_ms is None:
            timings = self.prepared.timings
            timings.first_delta_ms = (time.perf_counter() - timings.started) * 1000
        await self._send(self._event(name, data))

    # -- produce ---------------------------------------------------------------------------

    @traced("supportai.turn.answer", observed.answer_span, observed.answer_outcome)
    async def _produce(self) -> None:
        """The turn after ``prepare``: start, answer (stages 6-7), finish (stage 8)."""
        prepared = self.prepared
        timings = prepared.timings
        try:
            await self._start()
            lease = self._keep_lease()
            try:
                await self._answer_in_time()
            finally:
                lease.cancel()
        except asyncio.CancelledError:
            self.status = "interrupted"
            self.finish_reason = "client_disconnected"
        except BackendError as exc:
            self.status = "error" if not self.text else "interrupted"
            self.finish_reason = "backend_error"
            self.error = SupportAIError(
                Reason.vendor_outage,
                "the AI provider is not available right now; please try again later"
                if not exc.configuration
                else "the AI provider is misconfigured; an administrator has been notified",
            )
            log.warning("backend error in conversation %s: %s", prepared.conversation_id, exc)
        except Exception:
            log.exception("turn failed in conversation %s", prepared.conversation_id)
            self.status = "error" if not self.text else "interrupted"
            self.finish_reason = "internal_error"
            self.error = SupportAIError(Reason.internal_error, "the answer failed unexpectedly")
        try:
            # Stage 8 runs to the end even if the client leaves meanwhile.
            await _uninterruptible(self._finish(timings))
        except Exception:
            log.exception("could not persist turn of conversation %s", prepared.conversation_id)
            try:
                if self.assistant_message_id is None:  # else the usage row exists
                    await self._charge_without_conversation()
            finally:
                if self.assistant_message_id is None:
                    # Honest ending: the client saw the answer stream, but it was not
                    # saved (database down, conversation deleted meanwhile): never
                    # "complete" (issue 13).
                    self.status = "error"
                    self.error = SupportAIError(
                        Reason.answer_not_saved,
                        "the answer could not be saved; it is not in the conversation",
                    )
                await self._announce_end(timings)
        finally:
            if self.recorder is not None:
                await self._close_recorder(self.recorder)
                # Its readers keep it as long as they need it; the turn, which lives
                # on until its response ends, does not hold its events any longer.
                self.recorder = None
            if not self._consumer_gone:
                await self.queue.put(None)

    async def _start(self) -> None:
        """``turn.started``: the ids and the classification, before any text."""
        prepared = self.prepared
        await self._emit(
            "turn.started",
            {
                "conversation_id": prepared.conversation_id,
                "user_message_id": prepared.user_message_id,
                "classification": _classification_out(prepared.classification),
            },
        )

    def _keep_lease(self) -> asyncio.Task[None]:
        """Renew the hold's lease while the turn runs (cancel the task when it ends)."""
        reservation = self.prepared.reservation
        ttl = self.runtime.settings.reservation_ttl_s
        if reservation is None:
            return asyncio.ensure_future(asyncio.sleep(0))
        return asyncio.ensure_future(keep_lease(self.runtime.quota, reservation, ttl))

    def _deadline_s(self) -> float:
        """How long the answer may still take: ``turn_max_duration_s``, and never so
        long that the reservation's lease could lapse while the turn still spends."""
        settings = self.runtime.settings
        limit = settings.turn_max_duration_s
        reservation = self.prepared.reservation
        if reservation is not None:
            margin = max(1.0, 0.2 * settings.reservation_ttl_s)
            limit = min(limit, reservation.expires_at - margin - time.time())
        return max(limit, 0.0)

    async def _answer_in_time(self) -> None:
        """:meth:`_answer`, stopped at the turn's hard deadline (finish reason ``max_duration``).

        A backend that trickles a delta just often enough to pass the idle timeout
        could otherwise keep a turn, and its hold, alive indefinitely (issue 13).
        """
        deadline = asyncio.timeout(self._deadline_s())
        try:
            async with deadline:
                await self._answer()
        except TimeoutError:
            if not deadline.expired():
                raise
            self.finish_reason = "max_duration"
            self.status = "interrupted" if self.text else "error"
            if not self.text:
                self.error = SupportAIError(
                    Reason.vendor_outage, "the AI provider did not answer in time"
                )

    async def _answer(self) -> None:
        """Stages 6 and 7: the backend's rounds and their tool calls, the text filtered."""
        runtime, settings = self.runtime, self.runtime.settings
        system_prompt, context, answers = await self._ground()
        messages = self._history(system_prompt)
        tools = [ToolSpec(t.name, t.description, t.parameters) for t in runtime.tools.values()]
        chain = self._open_filters(system_prompt, context)
        for round_number in range(settings.tool_max_rounds + 1):
            request = BackendRequest(
                messages=tuple(messages),
                caller=self.caller,
                conversation_id=self.prepared.conversation_id,
                max_output_tokens=settings.max_output_tokens,
                tools=tools if round_number < settings.tool_max_rounds else (),
                context=answers,
                locale=self.locale,
            )
            if not self._round_fits(request):
                self.finish_reason = "budget"
                break
            round_text, requested = await self._stream_round(request, round_number, chain)
            if chain.blocked or not requested or self.finish_reason == "budget":
                break
            if round_number == settings.tool_max_rounds:
                self.finish_reason = "tool_rounds_exhausted"
                break
            await self._run_tools(messages, round_text, requested)
        await self._close_filters(chain)

    async def _ground(
        self,
    ) -> tuple[str, list[ContextDocument], tuple[ContextDocument, ...]]:
        """Stage 6: the system prompt, the retrieved grounding documents (what the filters
        see) and those of them that answer (what the backend sees)."""
        runtime, caller = self.runtime, self.caller
        system_prompt = await runtime.hooks.system_prompt(caller, self.prepared.conversation_id)
        context = await runtime.hooks.retrieve_context(self.content, caller, CONTEXT_DOCUMENTS)
        answers = tuple(answering(context))
        await observed.retrieval_completed(self, len(answers))
        return system_prompt or "", context, answers

    def _history(self, system_prompt: str) -> list[ChatMessage]:
        """System prompt, past turns (read in stage 5, see :func:`read_history`), the message."""
        head = [ChatMessage("system", system_prompt)] if system_prompt else []
        return [*head, *self.prepared.history, ChatMessage("user", self.content)]

    def _open_filters(self, system_prompt: str, context: list[ContextDocument]) -> FilterChain:
        """Stage 7: the turn's output filter chain (filters keep per-turn state)."""
        chain = FilterChain(
            self.runtime.filters,
            FilterContext(
                self.caller,
                self.prepared.conversation_id,
                system_prompt,
                grounding=grounding_texts(context),
            ),
        )
        self.filter_chain = chain
        return chain

    async def _stream_round(
        self, request: BackendRequest, round_number: int, chain: FilterChain
    ) -> tuple[str, list[ToolCallRequest]]:
        """Stage 6, one backend call: its text through the filters (stage 7), as it arrives.

        Returns the round's raw text and the tool calls it asked for. Its usage is
        added to the turn's; a round cut short is charged an estimate. A backend that
        stalls (first-token and idle timeouts, one timer for the stream) or sends
        something that is not an event fails as ``BackendError``. The waits and checks
        are inline rather than in a wrapping generator: they run for every delta.
        """
        backend = self.runtime.backend
        assert backend is not None
        settings = self.runtime.settings
        timings = self.prepared.timings
        count_tokens = token_counter(backend)
        requested: list[ToolCallRequest] = []
        round_text = ""
        round_tokens = 0  # counted per delta: no re-count of the whole text
        reported = False
        started = time.perf_counter()
        filter_s = 0.0  # summed here, not per delta in ``timings``
        stream = aiter(traced_stream(backend, request, round_number))
        deadline = IdleDeadline()  # one timer for the stream, not one per event
        timeout = settings.backend_first_token_timeout_s
        # Looked up once: the loop below runs for every delta.
        waiting, max_tokens = deadline.waiting, request.max_output_tokens
        feed_paragraphs, push, clock = self._pushed_paragraphs.feed, chain.push, time.perf_counter
        try:
            while True:
                try:
                    with waiting(timeout):
                        event = await anext(stream)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise BackendError(f"the backend sent nothing for {timeout:.0f}s") from None
                timeout = settings.backend_idle_timeout_s
                if isinstance(event, TextDelta) and isinstance(text := event.text, str):
                    round_tokens += count_tokens(text)
                    if round_tokens > max_tokens:
                        # a backend ignoring max_output_tokens: stop at the
                        # reservation, before the delta that would pass it
                        self.finish_reason = "budget"
                        break
                    round_text += text
                    feed_paragraphs(text)
                    filter_started = clock()
                    released = await push(text)
                    filter_s += clock() - filter_started
                    if released:  # most deltas are held back by a filter for a while
                        await self._release(released)
                    if chain.blocked:
                        break
                elif isinstance(event, ToolCallRequest):
                    requested.append(event)
                elif isinstance(event, Citation):
                    await self._cite(event)
                elif isinstance(event, Usage):
                    reported = True
                    self.usage = _add(self.usage, event)
                elif isinstance(event, Finish):
                    self.finish_reason = event.reason
                    self.not_found = self.not_found or event.not_found
                else:
                    # A broken adapter is the provider side failing: typed, not a crash,
                    # and never silently dropped (the answer would be missing a piece).
                    raise BackendError(f"the backend sent a malformed event: {event!r:.200}")
        finally:
            deadline.close()
            timings.add_seconds("filter", filter_s)
            # A round cut short (error, timeout, block, disconnect) never reports
            # its usage, yet the provider billed what it generated: charge an estimate.
            if not reported and (round_text or requested):
                self.usage = _add(self.usage, estimate_usage(request, round_text, requested))
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                await closer()
        timings.add("backend", started)
        return round_text, requested

    async def _run_tools(
        self, messages: list[ChatMessage], round_text: str, requested: list[ToolCallRequest]
    ) -> None:
        """Stage 6, tool loop: run the round's calls and feed their results to the next round."""
        messages.append(ChatMessage("assistant", round_text, tool_calls=tuple(requested)))
        for call in requested:
            record = await self._call_tool(call)
            messages.append(
                ChatMessage(
                    "tool",
                    json.dumps(
                        {"error": record.error} if record.error else record.result,
                        default=str,
                    ),
                    tool_call_id=call.id,
                )
            )

    async def _close_filters(self, chain: FilterChain) -> None:
        """Stage 7's end: flush the filters, then the waiting citations or the block's refusal."""
        filter_started = time.perf_counter()
        await self._release(await chain.close())
        self.prepared.timings.add("filter", filter_started)
        # The answer is complete: its end is the boundary every waiting citation needs.
        # A blocked answer cites nothing more (the cited text never reached the client).
        pending, self._pending_citations = self._pending_citations, []
        if not chain.blocked:
            for _, item in pending:
                await self._emit_citation(item)
        if chain.blocked:
            self.status = "blocked"
            self.finish_reason = "output_blocked"
            await self._release(chain.blocked.message)
            await self._emit(
                "refusal",
                {
                    "stage": "output_filter",
                    "reason": Reason.output_blocked.value,
                    "filter": chain.blocked_by,
                    "detail": chain.blocked.reason,
                },
            )

    def _round_fits(self, request: BackendRequest) -> bool:
        """Whether one more backend call, at its worst, stays within the reservation.

        Spent so far (reported or estimated usage) plus this call's bound: its
        input at :func:`token_bound` (context, history and tool results included)
        and ``max_output_tokens`` of output. So the real cost never exceeds what
        was reserved, whatever the script of the text and however large the tool
        results (issue 13).
        """
        reservation = self.prepared.reservation
        backend = self.runtime.backend
        if reservation is None or backend is None:
            return True
        price = self.runtime.settings.price_for(backend.model)
        spent = price.cost_micros(self.usage.input_tokens, self.usage.output_tokens)
        worst = price.cost_micros(request_bound(backend, request), request.max_output_tokens)
        return spent + worst <= reservation.amount_micros

    async def _release(self, text: str) -> None:
        if not text:
            return
        boundaries = self._released_paragraphs.feed(text)
        if self._pending_citations and boundaries:
            count = self._released_paragraphs.count - len(boundaries)
            start = 0
            for position in boundaries:
                count += 1
                if not any(needed <= count for needed, _ in self._pending_citations):
                    continue
                await self._send_text(text[start:position])
                start = position
                waiting = []
                for needed, item in self._pending_citations:
                    if needed <= count:
                        await self._emit_citation(item)
                    else:
                        waiting.append((needed, item))
                self._pending_citations = waiting
            text = text[start:]
        await self._send_text(text)

    async def _send_text(self, text: str) -> None:
        if text:
            self.text += text
            await self._emit("delta", {"text": text})

    async def _cite(self, citation: Citation) -> None:
        """Queue a citation for the next paragraph boundary (see ``pipeline/citations.py``)."""
        item = {"source_id": citation.source_id, "title": citation.title, "url": citation.url}
        if any(item == queued for _, queued in self._pending_citations) or any(
            item == {k: c[k] for k in item} for c in self.citations
        ):
            return
        pushed = self._pushed_paragraphs
        needed = pushed.count + 1 if pushed.seen_text else 0
        if needed <= self._released_paragraphs.count:
            await self._emit_citation(item)
        else:
            self._pending_citations.append((needed, item))

    async def _emit_citation(self, item: dict[str, Any]) -> None:
        # ``at`` (where in the stored answer it was sent) lets a replay send it there too.
        self.citations.append({**item, "at": len(self.text)})
        await self._emit("citation", item)

    async def _call_tool(self, call: ToolCallRequest) -> ToolCallRecord:
        await self._emit(
            "tool.call", {"call_id": call.id, "name": call.name, "arguments": call.arguments}
        )
        started = time.perf_counter()
        record = await run_tool(self.runtime, self.caller, self.prepared.conversation_id, call)
        self.prepared.timings.add("tools", started)
        self.tool_calls.append(record)
        await self._emit(
            "tool.result",
            {
                "call_id": call.id,
                "name": call.name,
                "result": record.result,
                "error": record.error,
                "duration_ms": round(record.duration_ms, 2),
            },
        )
        return record


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(a.input_tokens + b.input_tokens, a.output_tokens + b.output_tokens)


async def _uninterruptible(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end even if the awaiting task is cancelled meanwhile.

    A client that goes away cancels the producer, and it may do so while stage 8
    is saving the answer or settling the quota: an interrupted insert would lose
    the answer and leave the worst case reserved until it expires. So stage 8 runs
    in a task of its own that cancellation cannot reach; its errors still surface.
    """
    task = asyncio.ensure_future(work)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            continue  # keep waiting: what was generated must be saved and settled
    task.result()


def _classification_out(c: Classification) -> dict[str, Any]:
    return {
        "intent": c.intent,
        "confidence": c.confidence,
        "refused": c.refused,
        "classifier": c.classifier,
    }
