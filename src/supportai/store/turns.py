"""Writes of one turn, batched into few transactions (see ``docs/performance.md``).

A turn writes twice: the user message with its classification (before the
model is called, so a refusal or a crash still leaves the user's words), and
the assistant message with its tool calls and usage (once the answer ended,
completed, blocked or interrupted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from databases.core import Connection

from supportai.caller import Caller
from supportai.classifiers import Classification
from supportai.quota.ledger import DELETE_UNSETTLED
from supportai.store import tables
from supportai.store.compiled import Prepared, column_values, prepared_insert
from supportai.store.conversations import TOUCH, now
from supportai.store.database import row_dict

M = tables.messages
C = tables.conversations
IC = tables.intent_classifications


# The writes of every turn, compiled once.
_MESSAGE = ("conversation_id", "tenant_id", "user_id", "created_at", "role", "content", "status")
INSERT_USER_MESSAGE = prepared_insert(M, *_MESSAGE, "idempotency_key", returning=M.c.id)
INSERT_ASSISTANT_MESSAGE = prepared_insert(
    M,
    *_MESSAGE,
    "finish_reason",
    "reply_to_id",
    "citations",
    "input_tokens",
    "output_tokens",
    "cost_micros",
    "first_delta_ms",
    "not_found",
    returning=M.c.id,
)
INSERT_CLASSIFICATION = prepared_insert(
    IC,
    "message_id",
    "tenant_id",
    "intent",
    "confidence",
    "refused",
    "classifier",
    "details",
    "created_at",
)
INSERT_USAGE = prepared_insert(
    tables.usage,
    "tenant_id",
    "user_id",
    "conversation_id",
    "message_id",
    "model",
    "input_tokens",
    "output_tokens",
    "cost_micros",
    "created_at",
    "reservation_id",
)


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    call_id: str
    name: str
    arguments: dict[str, Any]
    result: Any
    error: str | None
    duration_ms: float


async def find_replay(
    conn: Connection, caller: Caller, conversation_id: int, key: str
) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The user message sent earlier with this idempotency key (with its
    classification), and its answer."""
    return await _user_turn(conn, caller, conversation_id, M.c.idempotency_key == key)


async def find_turn(
    conn: Connection, caller: Caller, conversation_id: int, message_id: int
) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The caller's turn that ``message_id`` names (its user message, or the answer to
    it) in this conversation: the user message with its classification, and its
    answer. ``None`` for anything not the caller's (another user's or tenant's)."""
    reply_to = await conn.fetch_val(
        sa.select(M.c.reply_to_id).where(
            M.c.id == message_id, M.c.role == "assistant", M.c.tenant_id == caller.tenant_id
        )
    )
    user_id = int(reply_to) if reply_to is not None else message_id
    return await _user_turn(
        conn, caller, conversation_id, sa.and_(M.c.id == user_id, M.c.role == "user")
    )


async def _user_turn(
    conn: Connection, caller: Caller, conversation_id: int, which: Any
) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    classification = tables.intent_classifications
    user = await conn.fetch_one(
        sa.select(
            M,
            classification.c.intent,
            classification.c.confidence,
            classification.c.refused,
            classification.c.classifier,
        )
        .select_from(M.outerjoin(classification, classification.c.message_id == M.c.id))
        .where(
            which,
            M.c.conversation_id == conversation_id,
            M.c.tenant_id == caller.tenant_id,
            M.c.user_id == caller.user_id,
        )
    )
    if user is None:
        return None
    answer = await conn.fetch_one(
        sa.select(M).where(M.c.reply_to_id == user["id"]).where(M.c.role == "assistant")
    )
    return row_dict(user), row_dict(answer) if answer is not None else None


async def free_interrupted_key(conn: Connection, message_id: int, key: str) -> bool:
    """Mark a user turn whose worker died ``interrupted`` and free its idempotency key.

    Compare-and-set on the key, so of several retries arriving together exactly one
    frees it; the next submit with that key then runs as a new turn.
    """
    row = await conn.fetch_one(
        M.update()
        .where(M.c.id == message_id, M.c.idempotency_key == key)
        .values(status="interrupted", idempotency_key=None)
        .returning(M.c.id)
    )
    return row is not None


async def _insert_message(
    conn: Connection,
    statement: Prepared,
    caller: Caller,
    conversation_id: int,
    moment: datetime,
    **columns: Any,
) -> int:
    """One message row owned by ``caller``; returns its id."""
    row = await conn.fetch_one(
        statement(
            **column_values(
                conversation_id=conversation_id,
                tenant_id=caller.tenant_id,
                user_id=caller.user_id,
                created_at=moment,
                **columns,
            )
        )
    )
    assert row is not None
    return int(row["id"])


async def insert_user_turn(
    conn: Connection,
    caller: Caller,
    conversation_id: int,
    content: str,
    idempotency_key: str | None,
    classification: Classification,
    status: str,
) -> int:
    moment = now()
    async with conn.transaction():
        message_id = await _insert_message(
            conn,
            INSERT_USER_MESSAGE,
            caller,
            conversation_id,
            moment,
            role="user",
            content=content,
            status=status,
            idempotency_key=idempotency_key,
        )
        await conn.execute(
            INSERT_CLASSIFICATION(
                **column_values(
                    message_id=message_id,
                    tenant_id=caller.tenant_id,
                    intent=classification.intent,
                    confidence=classification.confidence,
                    refused=classification.refused,
                    classifier=classification.classifier or "none",
                    details=classification.details or None,
                    created_at=moment,
                )
            )
        )
        await conn.execute(TOUCH(conversation_id=conversation_id, moment=moment))
    return message_id


async def insert_assistant_turn(
    conn: Connection,
    caller: Caller,
    conversation_id: int,
    reply_to_id: int,
    *,
    content: str,
    status: str,
    finish_reason: str | None,
    citations: Sequence[dict[str, Any]],
    tool_calls: Sequence[ToolCallRecord],
    model: str,
    input_tokens: int,
    output_tokens: int,
    cost_micros: int,
    first_delta_ms: float | None = None,
    not_found: bool = False,
    reservation_id: str | None = None,
    also: Callable[[Connection], Awaitable[None]] | None = None,
    log_events: Callable[[Connection, int], Awaitable[None]] | None = None,
) -> int:
    """Save the answer, its tool calls and usage; ``also`` runs in the same transaction,
    and so does ``log_events`` (the turn event log's last batch, given the answer's id)."""
    moment = now()
    async with conn.transaction():
        message_id = await _insert_message(
            conn,
            INSERT_ASSISTANT_MESSAGE,
            caller,
            conversation_id,
            moment,
            role="assistant",
            content=content,
            status=status,
            finish_reason=finish_reason,
            reply_to_id=reply_to_id,
            citations=list(citations) or None,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_micros=cost_micros,
            first_delta_ms=first_delta_ms,
            not_found=not_found,
        )
        if tool_calls:
            await conn.execute_many(
                tables.tool_calls.insert(),
                [
                    {
                        "message_id": message_id,
                        "tenant_id": caller.tenant_id,
                        "call_id": call.call_id,
                        "tool_name": call.name,
                        "arguments": call.arguments,
                        "result": call.result,
                        "error": call.error,
                        "duration_ms": call.duration_ms,
                        "created_at": moment,
                    }
                    for call in tool_calls
                ],
            )
        if input_tokens or output_tokens or cost_micros:
            await insert_usage(
                conn,
                caller,
                conversation_id,
                message_id,
                model,
                input_tokens,
                output_tokens,
                cost_micros,
                reservation_id,
            )
        await conn.execute(TOUCH(conversation_id=conversation_id, moment=moment))
        if also is not None:
            await also(conn)
        if log_events is not None:
            await log_events(conn, message_id)
    return message_id


async def tool_calls_of(conn: Connection, message_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch_all(
        sa.select(tables.tool_calls)
        .where(tables.tool_calls.c.message_id == message_id)
        .order_by(tables.tool_calls.c.id)
    )
    return [row_dict(r) for r in rows]


async def insert_usage(
    conn: Connection,
    caller: Caller,
    conversation_id: int | None,
    message_id: int | None,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cost_micros: int,
    reservation_id: str | None = None,
) -> None:
    """One billing row; references may be ``None`` (the conversation is gone).

    With a ``reservation_id`` it replaces the row the expiry sweep wrote if it
    charged that hold in full meanwhile (see :mod:`supportai.quota.ledger`).
    """
    if reservation_id is not None:
        await conn.execute(DELETE_UNSETTLED(reservation_id=reservation_id))
    await conn.execute(
        INSERT_USAGE(
            **column_values(
                tenant_id=caller.tenant_id,
                user_id=caller.user_id,
                conversation_id=conversation_id,
                message_id=message_id,
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_micros=cost_micros,
                created_at=now(),
                reservation_id=reservation_id,
            )
        )
    )
