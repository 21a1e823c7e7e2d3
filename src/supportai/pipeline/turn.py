"""One user turn, stage by stage, in the order of the API contract.

``prepare`` runs every stage whose failure can be known before the first byte
(master flag, caller scope, quota, ownership, classification) and raises
:class:`~supportai.errors.SupportAIError` for them, so they are real HTTP
statuses. ``Turn.events`` then streams the answer; failures after that point
are ``error`` events.

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
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

from databases.core import Connection

from supportai import user_strings
from supportai.caller import Caller
from supportai.classifiers import Classification, ClassifierInput, combine
from supportai.errors import Reason, SupportAIError, not_found
from supportai.events import TurnCompletedEvent
from supportai.filters import FilterContext
from supportai.llm import (
    BackendError,
    BackendEvent,
    BackendRequest,
    ChatMessage,
    Citation,
    Finish,
    TextDelta,
    ToolCallRequest,
    ToolSpec,
    Usage,
)
from supportai.pipeline import observed, running
from supportai.pipeline.citations import ParagraphCounter
from supportai.pipeline.deadline import IdleDeadline
from supportai.pipeline.events import TurnEvent
from supportai.pipeline.filtering import FilterChain
from supportai.pipeline.tool_loop import run_tool
from supportai.quota.base import (
    QuotaDenied,
    QuotaStoreUnavailable,
    Reservation,
    quota_store_unavailable,
)
from supportai.quota.settlement import Spend, keep_lease
from supportai.resume.recorder import TurnRecorder
from supportai.runtime import Runtime
from supportai.store import conversations, disclosure, turns
from supportai.store.turns import ToolCallRecord
from supportai.telemetry import logcontext
from supportai.telemetry.tracing import stage_span, traced, traced_stream

log = logging.getLogger("supportai.turn")

#: Tokens a character may cost at most, unless the backend declares a tokenizer
#: (``count_tokens``). One per character holds for Latin and CJK text alike (CJK
#: costs about one token per character; the old 3-characters-per-token guess let a
#: CJK turn overrun its reservation, issue 13).
TOKENS_PER_CHAR = 1
#: Characters of retrieved context and of tool results a turn's reservation allows
#: for per round. Beyond them the turn stops with finish reason ``budget`` rather
#: than spend more than it reserved.
CONTEXT_ALLOWANCE_CHARS = 8000
TOOL_RESULTS_ALLOWANCE_CHARS = 8000
CONTEXT_DOCUMENTS = 3
#: Past messages read per history query, and the most a prompt ever carries.
HISTORY_PAGE = 16
HISTORY_MAX_MESSAGES = 200


def token_bound(backend: Any, text: str) -> int:
    """The most tokens ``text`` can cost with ``backend``: its tokenizer if it has one."""
    count = getattr(backend, "count_tokens", None)
    if count is not None:
        return int(count(text))
    return len(text) * TOKENS_PER_CHAR


def reservation_tokens(
    settings: Any, content: str, round_number: int, tool_spec_chars: int = 0
) -> tuple[int, int]:
    """Input and output tokens the reservation allows round ``round_number`` (from 0).

    Input: system prompt, the tools offered, history budget, the message,
    retrieved context, and the tool results of the rounds before, all at
    :data:`TOKENS_PER_CHAR`.
    """
    chars = (
        tool_spec_chars
        + len(settings.system_prompt)
        + settings.history_char_budget
        + len(content)
        + CONTEXT_ALLOWANCE_CHARS
        + round_number * TOOL_RESULTS_ALLOWANCE_CHARS
    )
    return chars * TOKENS_PER_CHAR, settings.max_output_tokens


def worst_case_cost(runtime: Runtime, content: str) -> int:
    """The most a turn may cost: every tool round at full input and full output.

    Reserved before anything is spent; settled to the real cost afterwards. The
    turn keeps its running cost within it (:meth:`Turn._round_fits`).
    """
    backend = runtime.backend
    if backend is None:
        return 0
    settings = runtime.settings
    price = settings.price_for(backend.model)
    specs = sum(
        _spec_chars(ToolSpec(t.name, t.description, t.parameters)) for t in runtime.tools.values()
    )
    return sum(
        price.cost_micros(*reservation_tokens(settings, content, round_number, specs))
        for round_number in range(settings.tool_max_rounds + 1)
    )


def _spec_chars(spec: ToolSpec) -> int:
    """What offering one tool sends: its name, description and JSON schema."""
    return len(spec.name) + len(spec.description) + len(json.dumps(spec.parameters))


@dataclass
class Timings:
    """Stage durations in ms, reported in ``Server-Timing`` and ``turn.completed``."""

    values: dict[str, float] = field(default_factory=dict)
    #: When the turn's request reached the pipeline, and the first text sent back.
    started: float = field(default_factory=time.perf_counter)
    first_delta_ms: float | None = None

    def add(self, stage: str, started: float) -> None:
        stage_span(stage, started)
        self.add_seconds(stage, time.perf_counter() - started)

    def add_seconds(self, stage: str, seconds: float) -> None:
        self.values[stage] = self.values.get(stage, 0.0) + seconds * 1000

    def header(self) -> str:
        return ", ".join(f"{k};dur={v:.2f}" for k, v in self.values.items())


@dataclass
class Prepared:
    """The outcome of the pre-stream stages."""

    conversation_id: int
    user_message_id: int
    classification: Classification
    reservation: Reservation | None
    timings: Timings
    refusal: SupportAIError | None = None
    replay: dict[str, Any] | None = None
    #: Past turns within the history budget, oldest first: what the classifiers
    #: judged the message with, and what the model is sent before it.
    history: tuple[ChatMessage, ...] = ()


@traced("supportai.turn.prepare", observed.prepare_span, observed.prepared_outcome)
async def prepare(
    runtime: Runtime,
    caller: Caller,
    conversation_id: int,
    content: str,
    idempotency_key: str | None,
) -> Prepared:
    """Stages 1-5. Raises SupportAIError for every pre-stream failure."""
    settings = runtime.settings
    timings = Timings()
    logcontext.conversation_id.set(str(conversation_id))

    # 1. master flag (per tenant hook, then the setting)
    flag = await runtime.hooks.master_flag(caller.tenant_id)
    if flag is False:
        raise SupportAIError(Reason.master_flag_off, "the AI assistant is switched off")

    # 2. caller scope, disclosure, and the runtime being wired at all
    if settings.required_scope and not caller.has_role(settings.required_scope):
        raise SupportAIError(Reason.scope_denied, f"requires the {settings.required_scope} scope")
    if runtime.backend is None:
        raise SupportAIError(
            Reason.runtime_not_wired, "no LLM backend is configured (SUPPORTAI_LLM_BACKEND)"
        )

    # No stage below holds a database connection while it waits for another one
    # (the quota store acquires its own) or for a slow classifier: with a bounded
    # pool (PostgreSQL) many concurrent turns would otherwise exhaust it and wait
    # for each other forever.
    async with runtime.database.connection() as conn:
        if settings.disclosure_required and not await disclosure.has_accepted(
            conn, caller, settings.disclosure_version
        ):
            raise SupportAIError(
                Reason.disclosure_required,
                f"accept AI disclosure version {settings.disclosure_version} first",
            )
        if idempotency_key is not None:
            replay = await turns.find_replay(conn, caller, conversation_id, idempotency_key)
            if replay is not None:
                await _check_retry(conn, settings, replay, content, idempotency_key)
                return _replayed(conversation_id, replay, timings)

    # 3. rate limit + cost cap: reserve the worst case before spending anything
    started = time.perf_counter()
    runtime.sweep_expired_reservations(time.time())
    try:
        reservation = await runtime.quota.reserve(
            caller, worst_case_cost(runtime, content), time.time()
        )
    except QuotaDenied as denied:
        raise SupportAIError(
            Reason(denied.reason), str(denied), retry_after_s=denied.retry_after_s
        ) from None
    except QuotaStoreUnavailable as exc:
        raise quota_store_unavailable(exc) from None
    timings.add("quota", started)

    try:
        # 4. ownership (404 across users and tenants), read-only once escalated
        async with runtime.database.connection() as conn:
            conversation = await conversations.get_owned(conn, caller, conversation_id)
            if conversation is None:
                raise not_found("conversation")
            if conversation["status"] == "escalated":
                raise SupportAIError(
                    Reason.conversation_escalated,
                    "this conversation was handed to a human and is read-only",
                )
            # 5. classifiers, concurrently, with the history the model will see (read
            # once here: an attack split across messages is judged as a whole)
            started = time.perf_counter()
            history = await read_history(
                conn, caller, conversation_id, settings.history_char_budget - len(content)
            )
        classification = await _classify(runtime, caller, conversation_id, content, history)
        timings.add("classify", started)

        started = time.perf_counter()
        async with runtime.database.connection() as conn:
            message_id = await turns.insert_user_turn(
                conn,
                caller,
                conversation_id,
                content,
                idempotency_key,
                classification,
                status="refused" if classification.refused else "complete",
            )
            logcontext.turn_id.set(str(message_id))
        timings.add("persist", started)
    except BaseException as exc:
        await asyncio.shield(runtime.settlements.release_unspent(reservation))
        if _is_unique_violation(exc):
            raise SupportAIError(
                Reason.duplicate_request, "this idempotency key is being processed"
            ) from None
        raise

    prepared = Prepared(
        conversation_id, message_id, classification, reservation, timings, history=history
    )
    if classification.refused:
        # A refused intent never reaches the model; the turn still counts
        # against the rate limit but costs nothing.
        await runtime.quota.settle(reservation, 0)
        prepared.reservation = None
        prepared.refusal = SupportAIError(
            Reason.intent_refused, user_strings.DEFAULTS["error.intent_refused"]
        )
        if runtime.settings.queue_refusals_for_review:
            await _queue_candidate(runtime, caller, conversation_id, message_id, "intent_refused")
        await runtime.hooks.turn_completed(
            _completed_event(caller, prepared, None, "refused", Usage(0, 0), 0, timings)
        )
    return prepared


async def _check_retry(
    conn: Connection,
    settings: Any,
    replay: tuple[dict[str, Any], dict[str, Any] | None],
    content: str,
    key: str,
) -> None:
    """A retried submit must be the same message, and its original turn alive or ended.

    A different message under a used key is a client bug that would otherwise
    silently drop the second message: 422. A turn with no answer whose lease has
    run out (no turn lives longer than ``reservation_ttl_s``, see
    ``turn_max_duration_s``) lost its worker: it is marked ``interrupted`` and its
    key freed, so the client learns it and may send the message again.
    """
    user, answer = replay
    if user["content"] != content:
        raise SupportAIError(
            Reason.idempotency_key_reused,
            "this idempotency key was already used for a different message",
        )
    if answer is not None or user["status"] == "refused":
        return
    lease_over = user["created_at"].timestamp() + settings.reservation_ttl_s < time.time()
    if not lease_over:
        return  # still in progress: _replay answers duplicate_request
    await turns.free_interrupted_key(conn, int(user["id"]), key)
    raise SupportAIError(
        Reason.turn_interrupted,
        "the original turn was interrupted before it answered; send the message again",
    )


async def read_history(
    conn: Connection, caller: Caller, conversation_id: int, budget: int
) -> tuple[ChatMessage, ...]:
    """Past turns, oldest first, trimmed oldest-first to ``budget`` characters.

    Pages back from the newest message only as far as the budget reaches (at
    most :data:`HISTORY_MAX_MESSAGES`), so a long conversation costs what its
    prompt uses, not what it holds. Refused, blocked and failed turns are not
    part of it: the model never saw them answered.
    """
    past: list[ChatMessage] = []
    before: int | None = None
    while budget >= 0 and len(past) < HISTORY_MAX_MESSAGES:
        page = await conversations.history_page(
            conn, conversation_id, caller.tenant_id, before, HISTORY_PAGE
        )
        for message_id, role, content in page:
            budget -= len(content)
            if budget < 0 or len(past) == HISTORY_MAX_MESSAGES:
                break
            past.append(ChatMessage(role, content))
            before = message_id
        if len(page) < HISTORY_PAGE:
            break
    past.reverse()
    return tuple(past)


def _is_unique_violation(exc: BaseException) -> bool:
    from supportai.store.database import is_unique_violation

    return is_unique_violation(exc)


async def _classify(
    runtime: Runtime,
    caller: Caller,
    conversation_id: int,
    content: str,
    history: tuple[ChatMessage, ...],
) -> Classification:
    message = ClassifierInput(
        text=content, caller=caller, conversation_id=conversation_id, history=history
    )
    results = await asyncio.gather(*(c.classify(message) for c in runtime.classifiers))
    return combine(results, runtime.settings.refused_intents)


def _replayed(
    conversation_id: int, replay: tuple[dict[str, Any], dict[str, Any] | None], timings: Timings
) -> Prepared:
    user, answer = replay
    return Prepared(
        conversation_id=conversation_id,
        user_message_id=int(user["id"]),
        classification=Classification(intent="replayed", confidence=1.0, refused=False),
        reservation=None,
        timings=timings,
        replay={"user": user, "answer": answer},
    )


def _completed_event(
    caller: Caller,
    prepared: Prepared,
    assistant_id: int | None,
    status: str,
    usage: Usage,
    cost: int,
    timings: Timings,
) -> TurnCompletedEvent:
    return {
        "tenant_id": caller.tenant_id,
        "user_id": caller.user_id,
        "conversation_id": prepared.conversation_id,
        "user_message_id": prepared.user_message_id,
        "message_id": assistant_id,
        "status": status,
        "intent": prepared.classification.intent,
        "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
        "cost_micros": cost,
        "timings_ms": dict(timings.values),
        "first_delta_ms": timings.first_delta_ms,
        "finish_reason": "intent_refused" if status == "refused" else None,
    }


async def _queue_candidate(
    runtime: Runtime, caller: Caller, conversation_id: int, message_id: int, kind: str
) -> None:
    """Queue a refused or blocked turn for review, redacted (the improvement loop)."""
    from supportai.store import candidates  # imported on this rare path only

    await candidates.queue_from_turn(runtime, caller, conversation_id, message_id, kind)


class Turn:
    """The streamed part of a turn (stages 6-8) for one prepared request."""

    #: The end events, built in the answer's transaction with the event log's last
    #: batch (:meth:`_write_final_batch`), and when that transaction began. Class
    #: defaults: a turn without the log in the database never sets them.
    _final_events: list[TurnEvent] | None = None
    _persist_started = 0.0

    def __init__(self, runtime: Runtime, caller: Caller, prepared: Prepared, content: str) -> None:
        self.runtime = runtime
        self.caller = caller
        self.prepared = prepared
        self.content = content
        self.queue: asyncio.Queue[TurnEvent | None] = asyncio.Queue(maxsize=512)
        self._seq = 0
        self._producer: asyncio.Task[None] | None = None
        self._consumer_gone = False
        # results, read by the JSON response after the stream ended
        self.text = ""
        self.status = "complete"
        self.finish_reason: str | None = None
        #: The backend answered with its not-found fallback (``Finish.not_found``).
        self.not_found = False
        self._worded_error: SupportAIError | None = None
        self.citations: list[dict[str, Any]] = []
        #: Citations waiting for a paragraph boundary: (boundary number, citation).
        self._pending_citations: list[tuple[int, dict[str, Any]]] = []
        self._pushed_paragraphs = ParagraphCounter()
        self._released_paragraphs = ParagraphCounter()
        self.tool_calls: list[ToolCallRecord] = []
        self.usage = Usage(0, 0)
        self.cost_micros = 0
        self.assistant_message_id: int | None = None
        self.error: SupportAIError | None = None
        #: The user's language (``Accept-Language``), for the texts of errors.
        self.locale: str | None = None
        self.filter_chain: FilterChain | None = None
        self._announced = False
        #: This turn's events for resumes (None when the event log is off).
        self.recorder: TurnRecorder | None = None

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

    def _event(self, name: str, data: dict[str, Any]) -> TurnEvent:
        self._seq += 1
        return TurnEvent(name, data, self._seq, self.prepared.user_message_id)

    async def _emit(self, name: str, data: dict[str, Any]) -> None:
        if name == "delta" and self.prepared.timings.first_delta_ms is None:
            timings = self.prepared.timings
            timings.first_delta_ms = (time.perf_counter() - timings.started) * 1000
        await self._send(self._event(name, data))

    async def _send(self, event: TurnEvent) -> None:
        if self.recorder is not None:
            self.recorder.record(event)
        if not self._consumer_gone:
            await self.queue.put(event)

    # -- produce ---------------------------------------------------------------------------

    @traced("supportai.turn.answer", observed.answer_span, observed.answer_outcome)
    async def _produce(self) -> None:
        prepared = self.prepared
        timings = prepared.timings
        try:
            await self._emit(
                "turn.started",
                {
                    "conversation_id": prepared.conversation_id,
                    "user_message_id": prepared.user_message_id,
                    "classification": _classification_out(prepared.classification),
                },
            )
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

    async def _close_recorder(self, recorder: TurnRecorder) -> None:
        """Log what is left (terminal events outside the database), then leave the
        live turns: a resume from now on reads the log."""
        await recorder.settle_batches()
        await recorder.flush_rest()
        self.runtime.live_turns.discard(recorder)

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
        runtime, caller, prepared = self.runtime, self.caller, self.prepared
        settings = runtime.settings
        backend = runtime.backend
        assert backend is not None
        timings = prepared.timings

        system_prompt = await runtime.hooks.system_prompt(caller, prepared.conversation_id)
        context = await runtime.hooks.retrieve_context(self.content, caller, CONTEXT_DOCUMENTS)
        await observed.retrieval_completed(self, len(context))
        messages = self._history(system_prompt or "")
        tools = [ToolSpec(t.name, t.description, t.parameters) for t in runtime.tools.values()]
        chain = FilterChain(
            runtime.filters,
            FilterContext(
                caller,
                prepared.conversation_id,
                system_prompt or "",
                grounding=tuple(document.grounding or document.text for document in context),
            ),
        )
        self.filter_chain = chain
        for round_number in range(settings.tool_max_rounds + 1):
            requested: list[ToolCallRequest] = []
            round_text = ""
            round_tokens = 0  # counted per delta: no re-count of the whole text
            reported = False
            request = BackendRequest(
                messages=tuple(messages),
                caller=caller,
                conversation_id=prepared.conversation_id,
                max_output_tokens=settings.max_output_tokens,
                tools=tools if round_number < settings.tool_max_rounds else (),
                context=tuple(context),
                locale=self.locale,
            )
            if not self._round_fits(request):
                self.finish_reason = "budget"
                break
            started = time.perf_counter()
            filter_s = 0.0  # summed here, not per delta in ``timings``
            try:
                async for event in _with_timeouts(
                    traced_stream(backend, request, round_number),
                    settings.backend_first_token_timeout_s,
                    settings.backend_idle_timeout_s,
                ):
                    if isinstance(event, TextDelta):
                        round_tokens += token_bound(backend, event.text)
                        if round_tokens > request.max_output_tokens:
                            # a backend ignoring max_output_tokens: stop at the
                            # reservation, before the delta that would pass it
                            self.finish_reason = "budget"
                            break
                        round_text += event.text
                        self._pushed_paragraphs.feed(event.text)
                        filter_started = time.perf_counter()
                        released = await chain.push(event.text)
                        filter_s += time.perf_counter() - filter_started
                        if released:
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
            finally:
                timings.add_seconds("filter", filter_s)
                # A round cut short (error, timeout, block, disconnect) never reports
                # its usage, yet the provider billed what it generated: charge an estimate.
                if not reported and (round_text or requested):
                    self.usage = _add(self.usage, estimate_usage(request, round_text, requested))
            timings.add("backend", started)
            if chain.blocked or not requested or self.finish_reason == "budget":
                break
            if round_number == settings.tool_max_rounds:
                self.finish_reason = "tool_rounds_exhausted"
                break
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

        filter_started = time.perf_counter()
        await self._release(await chain.close())
        timings.add("filter", filter_started)
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

    def _history(self, system_prompt: str) -> list[ChatMessage]:
        """System prompt, past turns (read in stage 5, see :func:`read_history`), the message."""
        head = [ChatMessage("system", system_prompt)] if system_prompt else []
        return [*head, *self.prepared.history, ChatMessage("user", self.content)]

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
        price = runtime.settings.price_for(backend.model)
        self.cost_micros = price.cost_micros(self.usage.input_tokens, self.usage.output_tokens)
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

    def _keep_lease(self) -> asyncio.Task[None]:
        """Renew the hold's lease while the turn runs (cancel the task when it ends)."""
        reservation = self.prepared.reservation
        ttl = self.runtime.settings.reservation_ttl_s
        if reservation is None:
            return asyncio.ensure_future(asyncio.sleep(0))
        return asyncio.ensure_future(keep_lease(self.runtime.quota, reservation, ttl))

    async def _announce_end(
        self, timings: Timings, prebuilt: list[TurnEvent] | None = None
    ) -> None:
        """The typed end of the stream: the ``error`` event if any, then ``turn.completed``.

        ``prebuilt``: the same events, already written to the event log in the
        answer's transaction (:meth:`_finish`).
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

    async def _finish(self, timings: Timings) -> None:
        """Stage 8: persist what the user saw, settle the reservation, tell observers."""
        runtime, caller, prepared = self.runtime, self.caller, self.prepared
        backend = runtime.backend
        assert backend is not None
        price = runtime.settings.price_for(backend.model)
        self.cost_micros = price.cost_micros(self.usage.input_tokens, self.usage.output_tokens)
        started = time.perf_counter()
        reservation = prepared.reservation
        # The answer's transaction also settles a store in this database, or queues
        # the settlement in the outbox for one outside it (quota/settlement.py).
        in_transaction = (
            runtime.settlements.in_transaction(reservation, self.cost_micros)
            if reservation is not None
            else None
        )
        await self._word_error()
        self._persist_started = started
        in_log = await self._ready_final_batch()
        try:
            async with runtime.database.connection() as conn:
                self.assistant_message_id = await self._insert_answer(
                    conn,
                    backend.model,
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
        prepared.reservation = None
        if reservation is not None:
            await runtime.settlements.after_commit(reservation, self.cost_micros)
        timings.add("persist", started)
        if self.status == "blocked" and runtime.settings.queue_blocked_for_review:
            await _queue_candidate(
                runtime,
                caller,
                prepared.conversation_id,
                self.assistant_message_id,
                "output_blocked",
            )
        await self._announce_end(timings, self._final_events)
        await runtime.hooks.turn_completed(
            {
                **_completed_event(
                    caller,
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


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(a.input_tokens + b.input_tokens, a.output_tokens + b.output_tokens)


def estimate_usage(request: BackendRequest, text: str, calls: list[ToolCallRequest]) -> Usage:
    """Tokens of a backend call that ended before reporting usage, from characters.

    Input: every message and context document sent; output: the text and tool calls
    received. At the reservation's bound, so an interrupted turn is never free.
    """
    sent = sum(len(m.content) for m in request.messages)
    sent += sum(len(d.text) for d in request.context)
    produced = len(text) + sum(len(c.name) + len(json.dumps(c.arguments)) for c in calls)
    return Usage(sent * TOKENS_PER_CHAR, produced * TOKENS_PER_CHAR)


def request_bound(backend: Any, request: BackendRequest) -> int:
    """The most input tokens ``request`` can cost (messages, tool calls, context)."""
    total = sum(token_bound(backend, m.content) for m in request.messages)
    total += sum(
        token_bound(backend, c.name + json.dumps(c.arguments))
        for m in request.messages
        for c in m.tool_calls
    )
    total += sum(_spec_chars(spec) * TOKENS_PER_CHAR for spec in request.tools)
    return total + sum(token_bound(backend, d.text) for d in request.context)


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


_EVENT_TYPES = (TextDelta, ToolCallRequest, Citation, Usage, Finish)


async def _with_timeouts(
    stream: AsyncIterator[BackendEvent], first_s: float, idle_s: float
) -> AsyncIterator[BackendEvent]:
    """Relay a backend stream, failing as ``BackendError`` if it stalls or sends garbage."""
    iterator = aiter(stream)
    timeout = first_s
    deadline = IdleDeadline()  # one timer for the stream, not one per event
    try:
        while True:
            try:
                with deadline.waiting(timeout):
                    event = await anext(iterator)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise BackendError(f"the backend sent nothing for {timeout:.0f}s") from None
            timeout = idle_s
            if not isinstance(event, _EVENT_TYPES) or (
                isinstance(event, TextDelta) and not isinstance(event.text, str)
            ):
                # A broken adapter is the provider side failing: typed, not a crash,
                # and never silently dropped (the answer would be missing a piece).
                raise BackendError(f"the backend sent a malformed event: {event!r:.200}")
            yield event
    finally:
        deadline.close()
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()
