"""Human support cases and their comments, scoped by tenant (and owner for callers)."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from databases.core import Connection

from supportai.caller import Caller
from supportai.store import tables
from supportai.store.conversations import now

K = tables.cases
KC = tables.case_comments

OPEN_STATUSES = ("open", "pending")


def owned(caller: Caller) -> sa.ColumnElement[bool]:
    return sa.and_(K.c.tenant_id == caller.tenant_id, K.c.user_id == caller.user_id)


async def create(
    conn: Connection,
    caller: Caller,
    *,
    subject: str,
    description: str,
    priority: str,
    conversation_id: int | None,
) -> dict[str, Any]:
    moment = now()
    row = await conn.fetch_one(
        K.insert()
        .values(
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            conversation_id=conversation_id,
            subject=subject,
            description=description,
            priority=priority,
            status="open",
            created_at=moment,
            updated_at=moment,
        )
        .returning(*K.c)
    )
    assert row is not None
    return dict(row._mapping)


def is_foreign_key_violation(exc: BaseException) -> bool:
    """True when an insert named a row that no longer exists (SQLite or PostgreSQL).

    A case links a conversation its owner may delete at any moment, also
    between the ownership check and the insert; the database then refuses the
    link, and the caller must get the same 404 as for a missing conversation.
    """
    if isinstance(exc, sqlite3.IntegrityError):
        return "FOREIGN KEY" in str(exc)
    return type(exc).__name__ == "ForeignKeyViolationError"


async def list_owned(
    conn: Connection, caller: Caller, status: str | None, limit: int
) -> list[dict[str, Any]]:
    query = sa.select(K).where(owned(caller)).order_by(K.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(K.c.status == status)
    return [dict(r._mapping) for r in await conn.fetch_all(query)]


async def get(
    conn: Connection, case_id: int, scope: sa.ColumnElement[bool]
) -> dict[str, Any] | None:
    row = await conn.fetch_one(sa.select(K).where(K.c.id == case_id).where(scope))
    return dict(row._mapping) if row is not None else None


async def touch_if_open(
    conn: Connection, case_id: int, scope: sa.ColumnElement[bool]
) -> dict[str, Any] | None:
    """Mark an open case in ``scope`` as updated now; ``None`` if missing or not open.

    Check and write are one statement on purpose. A read-then-write would let
    an agent's concurrent close commit in between (PostgreSQL), and on SQLite a
    transaction that reads before it writes fails at once with "database is
    locked" when another writer is active. An UPDATE waits for the row (or the
    write lock) and then re-checks the status against what was committed.
    """
    row = await conn.fetch_one(
        K.update()
        .where(K.c.id == case_id, K.c.status.in_(OPEN_STATUSES))
        .where(scope)
        .values(updated_at=now())
        .returning(*K.c)
    )
    return dict(row._mapping) if row is not None else None


async def comments(
    conn: Connection, case_id: int, tenant_id: str, *, include_internal: bool
) -> list[dict[str, Any]]:
    query = (
        sa.select(KC).where(KC.c.case_id == case_id, KC.c.tenant_id == tenant_id).order_by(KC.c.id)
    )
    if not include_internal:
        query = query.where(KC.c.visibility == "public")
    return [dict(r._mapping) for r in await conn.fetch_all(query)]


async def add_comment(
    conn: Connection,
    case: dict[str, Any],
    *,
    author_id: str,
    author_role: str,
    visibility: str,
    body: str,
    touch: bool = True,
) -> dict[str, Any]:
    """Append a comment; ``touch`` also bumps the case's ``updated_at`` (skip it when
    :func:`touch_if_open` already did, in the same transaction)."""
    moment = now()
    row = await conn.fetch_one(
        KC.insert()
        .values(
            case_id=case["id"],
            tenant_id=case["tenant_id"],
            author_id=author_id,
            author_role=author_role,
            visibility=visibility,
            body=body,
            created_at=moment,
        )
        .returning(*KC.c)
    )
    if touch:
        await conn.execute(K.update().where(K.c.id == case["id"]).values(updated_at=moment))
    assert row is not None
    return dict(row._mapping)


def summary_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "case_id": row["id"],
        "subject": row["subject"],
        "priority": row["priority"],
        "status": row["status"],
        "conversation_id": row["conversation_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def comment_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "comment_id": row["id"],
        "author_role": row["author_role"],
        "body": row["body"],
        "created_at": row["created_at"],
    }
