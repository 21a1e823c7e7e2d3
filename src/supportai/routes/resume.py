"""Resuming a turn's stream (``GET .../messages/{id}/events``) and its final state as JSON.

Both are reads: they never reserve or charge quota. The turn is the caller's own
(another user's or tenant's is a 404); ``message_id`` is the turn's user message id
(what ``Last-Event-ID`` names) or the id of its answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from supportai import schemas
from supportai.caller import Caller
from supportai.errors import Reason, SupportAIError, not_found
from supportai.pipeline.events import PING, parse_event_id
from supportai.resume.final_state import stored_turn
from supportai.resume.reader import events_after, is_over, turn_state
from supportai.routes.deps import MAX_ID, CallerDep, RuntimeDep
from supportai.routes.turns import SSE_HEADERS, EventStreamResponse
from supportai.runtime import Runtime

router = APIRouter(tags=["conversations"])

#: One server-sent event of the stream (its ``data`` is a JSON object, see docs/sse.md).
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "description": "turn.started, delta, citation, ..."},
        "data": {"type": "string", "description": "the event's JSON object"},
        "id": {"type": "string", "description": "<user_message_id>:<seq>"},
    },
}

ConversationId = Annotated[int, Path(ge=1, le=MAX_ID)]
MessageId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get(
    "/conversations/{conversation_id}/messages/{message_id}/events",
    summary="Resume Turn Events",
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": "The turn's events after ``Last-Event-ID`` (all of them without "
            "one), then the live turn until ``turn.completed`` (see docs/sse.md).",
            "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
        },
        404: {"model": schemas.DegradedResponse},
        422: {"model": schemas.DegradedResponse},
    },
)
async def resume_turn_events(
    conversation_id: ConversationId,
    message_id: MessageId,
    caller: CallerDep,
    runtime: RuntimeDep,
    last_event_id: Annotated[
        str | None,
        Query(max_length=40, description="For clients that cannot set Last-Event-ID."),
    ] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Resume a turn's event stream after a lost connection, on any worker.

    Returns exactly the events after ``Last-Event-ID`` (header, or the
    ``last_event_id`` query parameter), then follows the turn until it ends, with
    heartbeats as the live stream. A finished turn's remaining events come from the
    event log; once the log expired, the final state arrives as one
    ``turn.completed`` with ``final_state: true``.
    """
    user, _ = await _owned_turn(runtime, caller, conversation_id, message_id)
    turn = int(user["id"])
    after = _resume_point(last_event_id_header or last_event_id, turn)
    return EventStreamResponse(
        _stream(runtime, caller, conversation_id, turn, after),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


@router.get(
    "/conversations/{conversation_id}/messages/{message_id}/turn",
    summary="Get Turn",
    response_model=schemas.TurnResponse,
    responses={
        404: {"model": schemas.DegradedResponse},
        409: {"model": schemas.DegradedResponse, "description": "turn_in_progress"},
    },
)
async def get_turn(
    conversation_id: ConversationId,
    message_id: MessageId,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> schemas.TurnResponse:
    """The turn's final state, as ``POST .../messages`` answers a JSON client.

    The JSON twin of the resume endpoint: a client that lost the stream and wants
    no events reads the stored turn. 409 ``turn_in_progress`` while it still runs.
    """
    user, answer = await _owned_turn(runtime, caller, conversation_id, message_id)
    if not is_over(runtime, user, answer):
        raise SupportAIError(Reason.turn_in_progress, "the turn is still being answered")
    body, _ = await stored_turn(runtime, conversation_id, user, answer, replayed=False)
    return body


async def _owned_turn(
    runtime: Runtime, caller: Caller, conversation_id: int, message_id: int
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    state = await turn_state(runtime, caller, conversation_id, message_id)
    if state is None:
        raise not_found("message")
    return state


def _resume_point(value: str | None, turn: int) -> int:
    """The sequence number to resume after (0: from the start)."""
    if value is None or not value.strip():
        return 0
    parsed = parse_event_id(value)
    if parsed is None or parsed[0] != turn:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "Last-Event-ID"),
                    "msg": f"must be an event id of this turn: '{turn}:<number>'",
                    "type": "value_error",
                }
            ]
        )
    return parsed[1]


async def _stream(
    runtime: Runtime, caller: Caller, conversation_id: int, turn: int, after: int
) -> AsyncIterator[bytes]:
    events = events_after(
        runtime, caller, conversation_id, turn, after, runtime.settings.heartbeat_s
    )
    try:
        async for event in events:
            yield PING if event is None else event.encode()
    finally:
        await events.aclose()  # type: ignore[attr-defined]
