"""Stages 1-5 of a turn: everything whose failure can be known before the first byte.

:func:`prepare` is the list of these stages, one function each, in the order of
the API contract (``docs/pipeline.md``). Each raises
:class:`~supportai.errors.SupportAIError` for its failure, so they are real HTTP
statuses; the streamed stages (6-8) are :class:`~supportai.pipeline.turn.Turn`'s.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from databases.core import Connection

from supportai import user_strings
from supportai.caller import Caller
from supportai.classifiers import Classification, ClassifierInput, combine
from supportai.errors import Reason, SupportAIError, not_found
from supportai.llm import ChatMessage, Usage
from supportai.pipeline import observed
from supportai.pipeline.budget import worst_case_cost
from supportai.quota.base import (
    QuotaDenied,
    QuotaStoreUnavailable,
    Reservation,
    quota_store_unavailable,
)
from supportai.runtime import Runtime
from supportai.store import conversations, disclosure, turns
from supportai.store.database import is_unique_violation
from supportai.telemetry import logcontext
from supportai.telemetry.tracing import stage_span, traced

#: Past messages read per history query, and the most a prompt ever carries.
HISTORY_PAGE = 16
HISTORY_MAX_MESSAGES = 200

#: A stored user message and its answer (``None`` while unanswered), found by key.
Replay = tuple[dict[str, Any], dict[str, Any] | None]


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
    """Stages 1-5, in order. Raises SupportAIError for every pre-stream failure.

    No stage holds a database connection while it waits for another one (the
    quota store acquires its own) or for a slow classifier: with a bounded pool
    (PostgreSQL) many concurrent turns would otherwise exhaust it and wait for
    each other forever. Stages that only read share one connection.
    """
    settings = runtime.settings
    timings = Timings()
    logcontext.conversation_id.set(str(conversation_id))
    await check_master_flag(runtime, caller)
    check_caller_scope(runtime, caller)
    async with runtime.database.connection() as conn:
        await check_disclosure(conn, settings, caller)
        replay = await find_replay(
            conn, settings, caller, conversation_id, content, idempotency_key
        )
    if replay is not None:
        return _replayed(conversation_id, replay, timings)
    reservation = await reserve_worst_case(runtime, caller, content, timings)
    try:
        async with runtime.database.connection() as conn:
            await check_ownership(conn, caller, conversation_id)
            # The history the model will see, read once here for the classifiers:
            # an attack split across messages is judged as a whole.
            started = time.perf_counter()
            history = await read_history(
                conn, caller, conversation_id, settings.history_char_budget - len(content)
            )
        classification = await classify(runtime, caller, conversation_id, content, history)
        timings.add("classify", started)
        message_id = await store_user_turn(
            runtime, caller, conversation_id, content, idempotency_key, classification, timings
        )
    except BaseException as exc:
        await asyncio.shield(runtime.settlements.release_unspent(reservation))
        if is_unique_violation(exc):
            raise SupportAIError(
                Reason.duplicate_request, "this idempotency key is being processed"
            ) from None
        raise
    prepared = Prepared(
        conversation_id, message_id, classification, reservation, timings, history=history
    )
    if classification.refused:
        await refuse(runtime, caller, prepared)
    return prepared


async def check_master_flag(runtime: Runtime, caller: Caller) -> None:
    """Stage 1: the assistant is on for the caller's tenant (per tenant hook, then the setting)."""
    if await runtime.hooks.master_flag(caller.tenant_id) is False:
        raise SupportAIError(Reason.master_flag_off, "the AI assistant is switched off")


def check_caller_scope(runtime: Runtime, caller: Caller) -> None:
    """Stage 2: the caller holds the required scope, and a backend is wired at all."""
    settings = runtime.settings
    if settings.required_scope and not caller.has_role(settings.required_scope):
        raise SupportAIError(Reason.scope_denied, f"requires the {settings.required_scope} scope")
    if runtime.backend is None:
        raise SupportAIError(
            Reason.runtime_not_wired, "no LLM backend is configured (SUPPORTAI_LLM_BACKEND)"
        )


async def check_disclosure(conn: Connection, settings: Any, caller: Caller) -> None:
    """Stage 2: the caller accepted the current AI disclosure, when one is required."""
    if settings.disclosure_required and not await disclosure.has_accepted(
        conn, caller, settings.disclosure_version
    ):
        raise SupportAIError(
            Reason.disclosure_required,
            f"accept AI disclosure version {settings.disclosure_version} first",
        )


async def find_replay(
    conn: Connection,
    settings: Any,
    caller: Caller,
    conversation_id: int,
    content: str,
    idempotency_key: str | None,
) -> Replay | None:
    """Before stage 3: the stored turn a retried submit (same key) answers with, if any."""
    if idempotency_key is None:
        return None
    replay = await turns.find_replay(conn, caller, conversation_id, idempotency_key)
    if replay is not None:
        await _check_retry(conn, settings, replay, content, idempotency_key)
    return replay


async def reserve_worst_case(
    runtime: Runtime, caller: Caller, content: str, timings: Timings
) -> Reservation:
    """Stage 3, rate limit and cost cap: reserve the worst case before spending anything."""
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
    return reservation


async def check_ownership(conn: Connection, caller: Caller, conversation_id: int) -> None:
    """Stage 4: the caller's own conversation (404 across users and tenants), not escalated."""
    conversation = await conversations.get_owned(conn, caller, conversation_id)
    if conversation is None:
        raise not_found("conversation")
    if conversation["status"] == "escalated":
        raise SupportAIError(
            Reason.conversation_escalated,
            "this conversation was handed to a human and is read-only",
        )


async def classify(
    runtime: Runtime,
    caller: Caller,
    conversation_id: int,
    content: str,
    history: tuple[ChatMessage, ...],
) -> Classification:
    """Stage 5: every classifier at once, their verdicts combined (any refusal wins)."""
    message = ClassifierInput(
        text=content, caller=caller, conversation_id=conversation_id, history=history
    )
    classifiers = runtime.classifiers
    if len(classifiers) == 1:
        # One classifier (the usual set-up): awaited directly. ``gather`` would wrap it
        # in a task, scheduled on the next turn of the event loop, for nothing to overlap.
        results = [await classifiers[0].classify(message)]
    else:
        results = await asyncio.gather(*(c.classify(message) for c in classifiers))
    return combine(results, runtime.settings.refused_intents)


async def store_user_turn(
    runtime: Runtime,
    caller: Caller,
    conversation_id: int,
    content: str,
    idempotency_key: str | None,
    classification: Classification,
    timings: Timings,
) -> int:
    """Stage 5: the user message and its classification, in one transaction, refused or not.

    The idempotency key's unique constraint makes the loser of two racing
    submits fail here (``prepare`` answers it ``duplicate_request``).
    """
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
    return message_id


async def refuse(runtime: Runtime, caller: Caller, prepared: Prepared) -> None:
    """Stage 5, refused intent: no model call; the turn counts against the rate limit
    but costs nothing, may be queued for review, and observers hear of it."""
    if prepared.reservation is not None:
        await runtime.quota.settle(prepared.reservation, 0)
    prepared.reservation = None
    prepared.refusal = SupportAIError(
        Reason.intent_refused, user_strings.DEFAULTS["error.intent_refused"]
    )
    if runtime.settings.queue_refusals_for_review:
        await observed.queue_for_review(
            runtime, caller, prepared.conversation_id, prepared.user_message_id, "intent_refused"
        )
    await runtime.hooks.turn_completed(
        observed.completed_event(
            caller, prepared, None, "refused", Usage(0, 0), 0, prepared.timings
        )
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


async def _check_retry(
    conn: Connection,
    settings: Any,
    replay: Replay,
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
        return  # still in progress: the route answers duplicate_request
    await turns.free_interrupted_key(conn, int(user["id"]), key)
    raise SupportAIError(
        Reason.turn_interrupted,
        "the original turn was interrupted before it answered; send the message again",
    )


def _replayed(conversation_id: int, replay: Replay, timings: Timings) -> Prepared:
    """The stored turn a retried submit answers with: nothing reserved, nothing classified."""
    user, answer = replay
    return Prepared(
        conversation_id=conversation_id,
        user_message_id=int(user["id"]),
        classification=Classification(intent="replayed", confidence=1.0, refused=False),
        reservation=None,
        timings=timings,
        replay={"user": user, "answer": answer},
    )
