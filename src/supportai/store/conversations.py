"""Conversation and message queries. Every query is scoped by tenant and owner in SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from databases.core import Connection

from supportai.caller import Caller
from supportai.store import tables
from supportai.store.compiled import Prepared
from supportai.store.database import row_dict

C = tables.conversations
M = tables.messages
IC = tables.intent_classifications


def now() -> datetime:
    return datetime.now(UTC)


#: ``updated_at`` of a conversation that just got a message (prepared: every turn runs it).
TOUCH = Prepared(
    C.update()
    .where(C.c.id == sa.bindparam("conversation_id"))
    .values(updated_at=sa.bindparam("moment"))
)
_GET_OWNED = Prepared(
    sa.select(C)
    .where(C.c.id == sa.bindparam("conversation_id"))
    .where(C.c.tenant_id == sa.bindparam("tenant_id"))
    .where(C.c.user_id == sa.bindparam("user_id"))
)


def _history_statement(bounded: bool) -> Prepared:
    query = (
        sa.select(M.c.id, M.c.role, M.c.content)
        .where(M.c.conversation_id == sa.bindparam("conversation_id"))
        .where(M.c.tenant_id == sa.bindparam("tenant_id"))
        # two comparisons, not IN (...): an expanding IN is compiled again on every call
        .where(sa.or_(M.c.status == "complete", M.c.status == "interrupted"))
        .where(M.c.content != "")
        .order_by(M.c.id.desc())
        .limit(sa.bindparam("limit"))
    )
    return Prepared(query.where(M.c.id < sa.bindparam("before_id")) if bounded else query)


_HISTORY_FIRST_PAGE = _history_statement(bounded=False)
_HISTORY_PAGE = _history_statement(bounded=True)


def owned(caller: Caller) -> sa.ColumnElement[bool]:
    return sa.and_(C.c.tenant_id == caller.tenant_id, C.c.user_id == caller.user_id)


async def create(conn: Connection, caller: Caller, title: str | None) -> dict[str, Any]:
    moment = now()
    row = await conn.fetch_one(
        C.insert()
        .values(
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            title=title,
            status="open",
            flagged=False,
            created_at=moment,
            updated_at=moment,
        )
        .returning(*C.c)
    )
    assert row is not None
    return row_dict(row)


async def list_page(
    conn: Connection, caller: Caller, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated by id (stable under inserts, one index scan)."""
    query = sa.select(C).where(owned(caller)).order_by(C.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(C.c.id < before)
    return [row_dict(r) for r in await conn.fetch_all(query)]


async def get_owned(
    conn: Connection, caller: Caller, conversation_id: int
) -> dict[str, Any] | None:
    row = await conn.fetch_one(
        _GET_OWNED(
            conversation_id=conversation_id, tenant_id=caller.tenant_id, user_id=caller.user_id
        )
    )
    return row_dict(row) if row is not None else None


async def messages_with_classification(
    conn: Connection,
    conversation_id: int,
    tenant_id: str,
    limit: int | None = None,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """Messages in order, each with its user-turn classification, in one query (no N+1).

    With ``limit``: the newest ``limit`` messages older than message ``before``
    (all of them without it), still oldest first: a page of the conversation.
    """
    query = (
        sa.select(
            M,
            IC.c.intent,
            IC.c.confidence,
            IC.c.refused,
            IC.c.classifier,
        )
        .select_from(M.outerjoin(IC, IC.c.message_id == M.c.id))
        .where(M.c.conversation_id == conversation_id)
        .where(M.c.tenant_id == tenant_id)
    )
    if before is not None:
        query = query.where(M.c.id < before)
    if limit:  # the newest ``limit`` messages, still returned oldest first
        query = query.order_by(M.c.id.desc()).limit(limit)
        return [row_dict(r) for r in reversed(await conn.fetch_all(query))]
    return [row_dict(r) for r in await conn.fetch_all(query.order_by(M.c.id))]


async def history_page(
    conn: Connection, conversation_id: int, tenant_id: str, before_id: int | None, limit: int
) -> list[tuple[int, Any, str]]:
    """Past turns a prompt can use, newest first: ``(id, role, content)`` before ``before_id``.

    Only finished messages with text, and only the three columns the prompt needs:
    the turn pipeline pages through this until its character budget is spent, so
    a conversation with thousands of messages costs one small index range scan,
    not a load of every row with its classification. ``before_id=None`` starts
    from the newest message.
    """
    values = {"conversation_id": conversation_id, "tenant_id": tenant_id, "limit": limit}
    if before_id is None:
        rows = await conn.fetch_all(_HISTORY_FIRST_PAGE(**values))
    else:
        rows = await conn.fetch_all(_HISTORY_PAGE(before_id=before_id, **values))
    return [(row[0], row[1], row[2]) for row in rows]


async def delete(conn: Connection, caller: Caller, conversation_id: int) -> bool:
    """GDPR hard delete. Foreign keys cascade (see tables.py); True if it existed."""
    row = await conn.fetch_one(
        C.delete().where(C.c.id == conversation_id).where(owned(caller)).returning(C.c.id)
    )
    return row is not None


def message_out(row: dict[str, Any]) -> dict[str, Any]:
    """A message row (joined with its classification) as the API shows it."""
    classification = None
    if row.get("intent") is not None:
        classification = {
            "intent": row["intent"],
            "confidence": row["confidence"],
            "refused": bool(row["refused"]),
            "classifier": row["classifier"],
        }
    return {
        "message_id": row["id"],
        "role": row["role"],
        "content": row["content"],
        "status": row["status"],
        "created_at": row["created_at"],
        "classification": classification,
        "citations": row.get("citations") or [],
    }


def summary_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversation_id": row["id"],
        "title": row["title"],
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def escalate(
    conn: Connection, caller: Caller, conversation_id: int, reason: str, note: str | None
) -> bool:
    """Mark escalated once; returns False when it already was (idempotent)."""
    moment = now()
    row = await conn.fetch_one(
        C.update()
        .where(C.c.id == conversation_id)
        .where(owned(caller))
        .where(C.c.status != "escalated")
        .values(
            status="escalated",
            escalation_reason=reason,
            escalation_note=note,
            escalated_at=moment,
            updated_at=moment,
        )
        .returning(C.c.id)
    )
    return row is not None
