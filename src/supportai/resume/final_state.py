"""A turn's final state as stored: the JSON twin, a replay's events, a last ``turn.completed``.

One builder for three readers: an idempotent retry (``replayed: true``), the
resume endpoint once the event log has nothing more (expired, or the worker that
produced the turn died), and ``GET .../messages/{id}/turn``.
"""

from __future__ import annotations

from typing import Any

from supportai import schemas
from supportai.errors import Reason, degraded_body
from supportai.pipeline.events import TurnEvent
from supportai.runtime import Runtime
from supportai.store import turns as turn_store


async def stored_turn(
    runtime: Runtime,
    conversation_id: int,
    user: dict[str, Any],
    answer: dict[str, Any] | None,
    *,
    replayed: bool,
) -> tuple[schemas.TurnResponse, list[dict[str, Any]]]:
    """The turn as ``POST .../messages`` answered it, and its stored tool-call rows."""
    tool_calls: list[dict[str, Any]] = []
    if answer is not None:
        async with runtime.database.connection() as conn:
            tool_calls = await turn_store.tool_calls_of(conn, answer["id"])
    body = schemas.TurnResponse(
        conversation_id=conversation_id,
        user_message_id=int(user["id"]),
        assistant_message_id=answer["id"] if answer else None,
        status=answer["status"] if answer else _unanswered_status(user),
        content=answer["content"] if answer else "",
        classification=(
            schemas.ClassificationOut(
                intent=user["intent"],
                confidence=user["confidence"],
                refused=bool(user["refused"]),
                classifier=user["classifier"],
            )
            if user.get("intent") is not None
            else None
        ),
        citations=[schemas.CitationOut(**c) for c in (answer or {}).get("citations") or []],
        tool_calls=[
            schemas.ToolCallOut(
                call_id=t["call_id"],
                name=t["tool_name"],
                arguments=t["arguments"] or {},
                result=t["result"],
                error=t["error"],
            )
            for t in tool_calls
        ],
        usage=schemas.UsageOut(
            input_tokens=answer["input_tokens"] if answer else 0,
            output_tokens=answer["output_tokens"] if answer else 0,
            cost_micros=answer["cost_micros"] if answer else 0,
        ),
        finish_reason=answer["finish_reason"] if answer else _unanswered_finish(user),
        refusal=_unanswered_refusal(user) if answer is None else None,
        replayed=replayed,
    )
    return body, tool_calls


def _unanswered_status(user: dict[str, Any]) -> str:
    """A user turn with no answer: refused by a classifier, or its worker died."""
    return "refused" if user["status"] == "refused" else "interrupted"


def _unanswered_finish(user: dict[str, Any]) -> str:
    return "intent_refused" if user["status"] == "refused" else "worker_lost"


def _unanswered_refusal(user: dict[str, Any]) -> schemas.DegradedResponse | None:
    if user["status"] != "refused":
        return None
    return schemas.DegradedResponse(
        **degraded_body(Reason.intent_refused, "this request was refused")
    )


def completed_data(body: schemas.TurnResponse) -> dict[str, Any]:
    """The ``turn.completed`` fields every ending carries, from a stored turn."""
    return {
        "conversation_id": body.conversation_id,
        "user_message_id": body.user_message_id,
        "message_id": body.assistant_message_id,
        "status": body.status,
        "finish_reason": body.finish_reason,
        "usage": {
            "input_tokens": body.usage.input_tokens,
            "output_tokens": body.usage.output_tokens,
        },
        "cost_micros": body.usage.cost_micros,
    }


def final_completed(body: schemas.TurnResponse, seq: int) -> TurnEvent:
    """One ``turn.completed`` carrying the whole final state (``final_state: true``).

    What a resume ends with when the log cannot say what the client missed: the
    stored answer (``content``, ``citations``, ``tool_calls``) replaces whatever the
    client showed. ``seq`` follows the last event the client had.
    """
    data = {
        **completed_data(body),
        "final_state": True,
        "content": body.content,
        "citations": [c.model_dump(mode="json") for c in body.citations],
        "tool_calls": [t.model_dump(mode="json") for t in body.tool_calls],
    }
    return TurnEvent("turn.completed", data, seq, body.user_message_id)


def replay_events(
    body: schemas.TurnResponse, tool_calls: list[dict[str, Any]], citations: list[dict[str, Any]]
) -> list[TurnEvent]:
    """A stored turn as the events of a stream (an idempotent retry's answer)."""
    turn = body.user_message_id
    events = [
        TurnEvent(
            "turn.started",
            {
                "conversation_id": body.conversation_id,
                "user_message_id": body.user_message_id,
                "replayed": True,
            },
            1,
            turn,
        )
    ]
    for call in tool_calls:  # stored rows, in the order they ran
        events.append(
            TurnEvent(
                "tool.call",
                {
                    "call_id": call["call_id"],
                    "name": call["tool_name"],
                    "arguments": call["arguments"] or {},
                },
                len(events) + 1,
                turn,
            )
        )
        result = {
            "call_id": call["call_id"],
            "name": call["tool_name"],
            "result": call["result"],
            "error": call["error"],
            "duration_ms": round(call["duration_ms"], 2),
        }
        events.append(TurnEvent("tool.result", result, len(events) + 1, turn))
    for name, payload in text_and_citations(body.content, citations):
        events.append(TurnEvent(name, payload, len(events) + 1, turn))
    events.append(
        TurnEvent(
            "turn.completed", {**completed_data(body), "replayed": True}, len(events) + 1, turn
        )
    )
    return events


def text_and_citations(
    content: str, citations: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """``delta`` and ``citation`` events in the order the original turn sent them.

    Each stored citation remembers where in the answer it was sent (``at``);
    citations stored before that was recorded come after the text, as they did.
    """
    events: list[tuple[str, dict[str, Any]]] = []
    position = 0
    for citation in citations:
        at = citation.get("at")
        at = len(content) if not isinstance(at, int) else min(max(at, position), len(content))
        if at > position:
            events.append(("delta", {"text": content[position:at]}))
            position = at
        events.append(("citation", schemas.CitationOut(**citation).model_dump(mode="json")))
    if position < len(content):
        events.append(("delta", {"text": content[position:]}))
    return events
