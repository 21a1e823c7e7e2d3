"""Tenant-wide queries for admins: flagged conversations and every case of the tenant.

Callers' queries (``store/conversations.py``, ``store/cases.py``) are scoped by
tenant *and* owner; these are scoped by tenant only, in SQL, and are reachable
only through the admin routes (role ``support_ai_admin``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from databases.core import Connection

from supportai.store import tables
from supportai.store.cases import summary_out as case_summary
from supportai.store.conversations import now
from supportai.store.conversations import summary_out as conversation_summary
from supportai.store.database import row_dict

C = tables.conversations
K = tables.cases


async def flagged_page(
    conn: Connection, tenant_id: str, *, limit: int, before: int | None = None
) -> list[dict[str, Any]]:
    """The tenant's conversations flagged by negative feedback, newest first."""
    query = (
        sa.select(C)
        .where(C.c.tenant_id == tenant_id, C.c.flagged.is_(True))
        .order_by(C.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(C.c.id < before)
    return [row_dict(r) for r in await conn.fetch_all(query)]


async def flagged(conn: Connection, tenant_id: str, conversation_id: int) -> dict[str, Any] | None:
    """One flagged conversation of the tenant.

    Admins read a user's chat only where that user's feedback asked for a
    review; an unflagged conversation is a 404 like a missing one.
    """
    row = await conn.fetch_one(
        sa.select(C).where(
            C.c.id == conversation_id, C.c.tenant_id == tenant_id, C.c.flagged.is_(True)
        )
    )
    return row_dict(row) if row is not None else None


async def cases_page(
    conn: Connection,
    tenant_id: str,
    *,
    limit: int,
    before: int | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    query = sa.select(K).where(K.c.tenant_id == tenant_id).order_by(K.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(K.c.id < before)
    if status is not None:
        query = query.where(K.c.status == status)
    return [row_dict(r) for r in await conn.fetch_all(query)]


def tenant_scope(tenant_id: str) -> sa.ColumnElement[bool]:
    """Scope for :func:`supportai.store.cases.get` when an admin reads a case."""
    return K.c.tenant_id == tenant_id


async def set_case_status(
    conn: Connection, tenant_id: str, case_id: int, before: str, after: str
) -> dict[str, Any] | None:
    """Change the status only if it is still ``before`` (a racing admin loses cleanly)."""
    row = await conn.fetch_one(
        K.update()
        .where(K.c.id == case_id, K.c.tenant_id == tenant_id, K.c.status == before)
        .values(status=after, updated_at=now())
        .returning(*K.c)
    )
    return row_dict(row) if row is not None else None


def flagged_out(row: dict[str, Any]) -> dict[str, Any]:
    """A conversation as the caller sees it, plus whose it is."""
    return {**conversation_summary(row), "user_id": row["user_id"]}


def case_out(row: dict[str, Any]) -> dict[str, Any]:
    """A case as its owner sees it, plus whose it is."""
    return {**case_summary(row), "user_id": row["user_id"]}
