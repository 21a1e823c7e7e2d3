"""The turn (``POST .../messages``) and escalation to a human."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from supportai import schemas
from supportai.caller import Caller
from supportai.errors import Reason, SupportAIError, not_found
from supportai.pipeline.events import PING, TurnEvent
from supportai.pipeline.prepare import Prepared, prepare
from supportai.pipeline.turn import Turn
from supportai.resume.final_state import replay_events, stored_turn
from supportai.routes.deps import MAX_ID, CallerDep, ConnectionDep, RuntimeDep, user_strings_for
from supportai.runtime import Runtime
from supportai.store import conversations as store
from supportai.user_strings import detail_for, preferred_locale

router = APIRouter(tags=["conversations"])

ConversationId = Annotated[int, Path(ge=1, le=MAX_ID)]

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def wants_sse(accept: str | None) -> bool:
    return accept is not None and "text/event-stream" in accept[:1024].lower()


@router.post(
    "/conversations/{conversation_id}/messages",
    summary="Create Message",
    response_model=schemas.TurnResponse,
    responses={
        200: {
            "description": "The turn: one JSON object, or ``text/event-stream`` events "
            "(see docs/sse.md) when the request's Accept asks for them.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        403: {"model": schemas.DegradedResponse, "description": "disclosure_required"},
        404: {"model": schemas.DegradedResponse},
        409: {"model": schemas.DegradedResponse, "description": "conversation_escalated"},
        429: {"model": schemas.DegradedResponse, "description": "rate_limited / cost_cap"},
        503: {"model": schemas.DegradedResponse, "description": "master_flag_off..."},
    },
)
async def create_message(
    conversation_id: ConversationId,
    body: schemas.CreateMessageRequest,
    caller: CallerDep,
    runtime: RuntimeDep,
    request: Request,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Submit a user turn.

    Stages, in order: master flag, caller scope (and disclosure), rate limit and
    cost cap (a worst-case reservation), ownership, classifiers (a refused
    intent persists the user turn and its classification and never reaches
    the model), then the streamed answer with tool calls and output filters,
    persisted and settled to its real cost. SSE clients (``Accept:
    text/event-stream``) get events as they happen; JSON clients get the same
    turn as one object.
    """
    limit = runtime.settings.max_message_chars
    if len(body.content) > limit:  # the setting may be stricter than the schema's bound
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "content"),
                    "msg": f"String should have at most {limit} characters",
                    "type": "string_too_long",
                }
            ]
        )
    try:
        prepared = await prepare(
            runtime, caller, conversation_id, body.content, body.idempotency_key
        )
    except SupportAIError as refused:
        await _rejected(runtime, caller, conversation_id, refused)
        raise
    headers = {"Server-Timing": prepared.timings.header()} if prepared.timings.values else {}
    sse = wants_sse(accept)
    if prepared.replay is not None:
        return await _replay(runtime, prepared, sse)
    if prepared.refusal is not None:
        strings = await user_strings_for(runtime, request)
        return _refusal(prepared, sse, headers, strings)
    turn = Turn(runtime, caller, prepared, body.content)
    turn.locale = preferred_locale(request.headers.get("accept-language"))
    if sse:
        return EventStreamResponse(
            _sse(turn, runtime.settings.heartbeat_s),
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **headers},
        )
    async for _ in turn.events():
        pass
    await turn.wait()
    return JSONResponse(
        _turn_json(turn).model_dump(mode="json"),
        headers={"Server-Timing": prepared.timings.header()},
    )


async def _rejected(
    runtime: Runtime, caller: Caller, conversation_id: int, refused: SupportAIError
) -> None:
    """Tell observers (metrics) that a turn was refused before its answer started."""
    await runtime.hooks.turn_rejected(
        {
            "tenant_id": caller.tenant_id,
            "conversation_id": conversation_id,
            "reason": refused.reason.value,
            "status": refused.status,
        }
    )


class EventStreamResponse(StreamingResponse):
    """A streaming response that always closes its body iterator when it ends.

    Starlette stops iterating when the client goes away, but leaves the iterator
    suspended: with an ASGI 2.4 server ``send`` raises, and the generator (still
    referenced from the traceback) is not finalised, so the turn's producer would
    wait for a reader forever and never persist the interrupted answer. Closing it
    explicitly interrupts the producer at once (see :meth:`Turn.events`).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            closer = getattr(self.body_iterator, "aclose", None)
            if closer is not None:
                await closer()


async def _sse(turn: Turn, heartbeat_s: float) -> AsyncIterator[bytes]:
    events = turn.events(heartbeat_s)
    try:
        async for event in events:
            if event is None:
                yield PING
                continue
            # Send what is already queued in one write: fewer ASGI messages and
            # syscalls when the model streams faster than the client reads.
            yield b"".join(e.encode() for e in (event, *turn.take_ready()))
    finally:
        # ``async for`` does not close an iterator it leaves by an exception.
        await events.aclose()


def _turn_json(turn: Turn) -> schemas.TurnResponse:
    prepared = turn.prepared
    return schemas.TurnResponse(
        conversation_id=prepared.conversation_id,
        user_message_id=prepared.user_message_id,
        assistant_message_id=turn.assistant_message_id,
        status=turn.status,
        content=turn.text,
        classification=_classification(prepared),
        citations=[schemas.CitationOut(**c) for c in turn.citations],
        tool_calls=[
            schemas.ToolCallOut(
                call_id=t.call_id,
                name=t.name,
                arguments=t.arguments,
                result=t.result,
                error=t.error,
            )
            for t in turn.tool_calls
        ],
        usage=schemas.UsageOut(
            input_tokens=turn.usage.input_tokens,
            output_tokens=turn.usage.output_tokens,
            cost_micros=turn.cost_micros,
        ),
        finish_reason=turn.finish_reason,
        refusal=schemas.DegradedResponse(**turn.error.body()) if turn.error else None,
    )


def _classification(prepared: Prepared) -> schemas.ClassificationOut:
    c = prepared.classification
    return schemas.ClassificationOut(
        intent=c.intent, confidence=c.confidence, refused=c.refused, classifier=c.classifier
    )


def _refusal(
    prepared: Prepared, sse: bool, headers: dict[str, str], strings: dict[str, str]
) -> Response:
    assert prepared.refusal is not None
    refusal = prepared.refusal
    refusal = SupportAIError(refusal.reason, detail_for(strings, refusal.reason, refusal.detail))
    if sse:
        events = [
            TurnEvent(
                "turn.started",
                {
                    "conversation_id": prepared.conversation_id,
                    "user_message_id": prepared.user_message_id,
                    "classification": _classification(prepared).model_dump(),
                },
                1,
                prepared.user_message_id,
            ),
            TurnEvent(
                "refusal",
                {
                    "stage": "classifier",
                    "reason": refusal.reason.value,
                    "intent": prepared.classification.intent,
                    "detail": refusal.detail,
                },
                2,
                prepared.user_message_id,
            ),
            TurnEvent(
                "turn.completed",
                {
                    "conversation_id": prepared.conversation_id,
                    "user_message_id": prepared.user_message_id,
                    "message_id": None,
                    "status": "refused",
                    "finish_reason": "intent_refused",
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                    "cost_micros": 0,
                },
                3,
                prepared.user_message_id,
            ),
        ]
        return Response(
            b"".join(e.encode() for e in events),
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **headers},
        )
    body = schemas.TurnResponse(
        conversation_id=prepared.conversation_id,
        user_message_id=prepared.user_message_id,
        assistant_message_id=None,
        status="refused",
        content="",
        classification=_classification(prepared),
        usage=schemas.UsageOut(input_tokens=0, output_tokens=0, cost_micros=0),
        finish_reason="intent_refused",
        refusal=schemas.DegradedResponse(**refusal.body()),
    )
    return JSONResponse(body.model_dump(mode="json"), headers=headers)


async def _replay(runtime: Runtime, prepared: Prepared, sse: bool) -> Response:
    """Answer a retried submit from what was stored; nothing new is charged."""
    assert prepared.replay is not None
    user: dict[str, Any] = prepared.replay["user"]
    answer: dict[str, Any] | None = prepared.replay["answer"]
    if answer is None and user["status"] != "refused":
        raise SupportAIError(Reason.duplicate_request, "the original turn is still in progress")
    body, tool_calls = await stored_turn(
        runtime, prepared.conversation_id, user, answer, replayed=True
    )
    if not sse:
        return JSONResponse(body.model_dump(mode="json"))
    events = replay_events(body, tool_calls, (answer or {}).get("citations") or [])
    return Response(
        b"".join(e.encode() for e in events), media_type="text/event-stream", headers=SSE_HEADERS
    )


@router.post(
    "/conversations/{conversation_id}/escalate",
    summary="Escalate Conversation",
    response_model=schemas.EscalateResponse,
)
async def escalate_conversation(
    conversation_id: ConversationId,
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    body: schemas.EscalateRequest | None = None,
) -> schemas.EscalateResponse:
    """Mark the conversation as escalated and hand the front end the ticket form.

    Sets status='escalated' and returns the ticket-form URL (hook
    ``supportai_escalation_url``) with a snapshot of the conversation, for the
    front end to carry into the host's existing ticket flow; the bot does not
    create a ticket itself. Afterwards the conversation is read-only: new turns
    answer ``conversation_escalated``. Escalating again is idempotent.
    """
    body = body or schemas.EscalateRequest()
    conversation = await store.get_owned(conn, caller, conversation_id)
    if conversation is None:
        raise not_found("conversation")
    async with conn.transaction():
        changed = await store.escalate(conn, caller, conversation_id, body.reason.value, body.note)
    if not changed:  # already escalated: report the original reason
        conversation = await store.get_owned(conn, caller, conversation_id) or conversation
        body = schemas.EscalateRequest(
            reason=conversation["escalation_reason"] or body.reason,
            note=conversation["escalation_note"],
        )
    snapshot = await _snapshot(conn, caller, conversation, body)
    url = await runtime.hooks.escalation_url(caller, conversation_id, body.reason.value)
    if changed:
        await runtime.hooks.conversation_escalated(
            {
                "tenant_id": caller.tenant_id,
                "user_id": caller.user_id,
                "conversation_id": conversation_id,
                "reason": body.reason.value,
                "ticket_url": url,
                "snapshot": snapshot.model_dump(mode="json"),
            }
        )
    return schemas.EscalateResponse(
        conversation_id=conversation_id,
        ticket_url=str(url),
        snapshot=snapshot,
        already_escalated=not changed,
    )


async def _snapshot(
    conn: Any, caller: Caller, conversation: dict[str, Any], body: schemas.EscalateRequest
) -> schemas.EscalationSnapshot:
    rows = await store.messages_with_classification(conn, conversation["id"], caller.tenant_id)
    transcript = [schemas.MessageOut(**store.message_out(r)) for r in rows]
    last = next((m.classification for m in reversed(transcript) if m.classification), None)
    return schemas.EscalationSnapshot(
        conversation_id=conversation["id"],
        title=conversation["title"],
        reason=body.reason,
        note=body.note,
        last_classification=last,
        transcript=transcript,
    )
