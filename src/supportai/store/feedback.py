"""User feedback on a conversation or one of its messages, one row per caller and subject.

A second submission on the same subject (the same message, or the whole
conversation when no message is named) replaces the first: the row is the
caller's *current* opinion. ``uq_support_ai_feedback_subject`` (tables.py)
guarantees one row even when two submissions race; the loser of the race
retries as an update.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from databases.core import Connection

from supportai.caller import Caller
from supportai.store import tables
from supportai.store.conversations import now
from supportai.store.database import row_dict

F = tables.feedback
M = tables.messages


def _subject(
    caller: Caller, conversation_id: int, message_id: int | None
) -> sa.ColumnElement[bool]:
    return sa.and_(
        F.c.tenant_id == caller.tenant_id,
        F.c.user_id == caller.user_id,
        F.c.conversation_id == conversation_id,
        F.c.message_id.is_(None) if message_id is None else F.c.message_id == message_id,
    )


async def message_in_conversation(
    conn: Connection, tenant_id: str, conversation_id: int, message_id: int
) -> bool:
    value = await conn.fetch_val(
        sa.select(M.c.id).where(
            M.c.id == message_id, M.c.conversation_id == conversation_id, M.c.tenant_id == tenant_id
        )
    )
    return value is not None


async def upsert(
    conn: Connection,
    caller: Caller,
    conversation_id: int,
    message_id: int | None,
    *,
    helpful: bool | None,
    rating: int | None,
    comment: str | None,
) -> tuple[dict[str, Any], bool]:
    """Store the caller's feedback; returns ``(row, updated)``.

    Runs in the caller's transaction. The select-then-write is safe under
    concurrency because the unique index turns a lost race into an
    :func:`is_unique_violation`, which the route answers by retrying once.
    """
    moment = now()
    values = {"helpful": helpful, "rating": rating, "comment": comment, "updated_at": moment}
    existing = await conn.fetch_one(
        sa.select(F.c.id).where(_subject(caller, conversation_id, message_id))
    )
    if existing is not None:
        row = await conn.fetch_one(
            F.update().where(F.c.id == existing[0]).values(**values).returning(*F.c)
        )
        assert row is not None
        return row_dict(row), True
    row = await conn.fetch_one(
        F.insert()
        .values(
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            conversation_id=conversation_id,
            message_id=message_id,
            created_at=moment,
            **values,
        )
        .returning(*F.c)
    )
    assert row is not None
    return row_dict(row), False


async def for_conversation(
    conn: Connection, tenant_id: str, conversation_id: int
) -> list[dict[str, Any]]:
    """Every feedback row of a conversation (admin view), oldest first."""
    rows = await conn.fetch_all(
        sa.select(F)
        .where(F.c.tenant_id == tenant_id, F.c.conversation_id == conversation_id)
        .order_by(F.c.id)
    )
    return [row_dict(r) for r in rows]


async def flag_conversation(conn: Connection, caller: Caller, conversation_id: int) -> None:
    """Mark the conversation for the admins' review list (negative feedback on it).

    ``updated_at`` is left alone: it tells the owner when the conversation
    itself last changed, and a flag is review metadata they never see.
    """
    C = tables.conversations
    await conn.execute(
        C.update()
        .where(
            C.c.id == conversation_id,
            C.c.tenant_id == caller.tenant_id,
            C.c.user_id == caller.user_id,
        )
        .values(flagged=True)
    )
