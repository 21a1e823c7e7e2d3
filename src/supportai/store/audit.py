"""The admin audit log: who did what to which object, and what status it had before and after.

Why it looks like this:

* an event is written with the **same connection inside the same transaction**
  as the action it records, so an action without its event (or an event for an
  action that rolled back) cannot exist;
* the table has no foreign keys (see ``tables.py``) and events carry **no free
  text** a user wrote, only ids, statuses and structured details, so they can
  outlive the GDPR delete of a conversation they mention without keeping any of
  its content;
* a caller deleting their own conversation is a data-subject right, not an admin
  action, and is never written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from databases.core import Connection

from supportai.caller import Caller
from supportai.store import tables
from supportai.store.conversations import now
from supportai.store.database import row_dict

A = tables.audit_events


async def record(
    conn: Connection,
    actor: Caller,
    action: str,
    *,
    target_type: str,
    target_id: int,
    before_status: str | None = None,
    after_status: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Write one event in the caller's current transaction; returns its id."""
    row = await conn.fetch_one(
        A.insert()
        .values(
            tenant_id=actor.tenant_id,
            actor_id=actor.user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before_status=before_status,
            after_status=after_status,
            details=dict(details) if details else None,
            created_at=now(),
        )
        .returning(A.c.id)
    )
    assert row is not None
    return int(row[0])


async def list_page(
    conn: Connection,
    tenant_id: str,
    *,
    limit: int,
    before: int | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
) -> list[dict[str, Any]]:
    """A tenant's events, newest first, keyset-paginated by id."""
    query = sa.select(A).where(A.c.tenant_id == tenant_id).order_by(A.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(A.c.id < before)
    if action is not None:
        query = query.where(A.c.action == action)
    if target_type is not None:
        query = query.where(A.c.target_type == target_type)
    if target_id is not None:
        query = query.where(A.c.target_id == target_id)
    return [row_dict(r) for r in await conn.fetch_all(query)]


def event_out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "event_id": row["id"],
        "actor_id": row["actor_id"],
        "action": row["action"],
        "target_type": row["target_type"],
        "target_id": row["target_id"],
        "before_status": row["before_status"],
        "after_status": row["after_status"],
        "details": row["details"] or {},
        "created_at": row["created_at"],
    }
