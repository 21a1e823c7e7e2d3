"""Disclosure acceptances: one row per (tenant, user, version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from databases.core import Connection
from sqlalchemy.dialects import postgresql, sqlite

from supportai.caller import Caller
from supportai.store import tables
from supportai.store.conversations import now

D = tables.disclosure_acceptances


async def latest(conn: Connection, caller: Caller, version: str) -> dict[str, Any] | None:
    """The acceptance of ``version`` if any, else the caller's newest acceptance."""
    rows = await conn.fetch_all(
        sa.select(D.c.version, D.c.accepted_at)
        .where(D.c.tenant_id == caller.tenant_id, D.c.user_id == caller.user_id)
        .order_by(D.c.accepted_at.desc())
    )
    found = [dict(r._mapping) for r in rows]
    for row in found:
        if row["version"] == version:
            return row
    return found[0] if found else None


async def has_accepted(conn: Connection, caller: Caller, version: str) -> bool:
    value = await conn.fetch_val(
        sa.select(D.c.id).where(
            D.c.tenant_id == caller.tenant_id, D.c.user_id == caller.user_id, D.c.version == version
        )
    )
    return value is not None


async def accept(conn: Connection, caller: Caller, version: str, is_sqlite: bool) -> datetime:
    """Upsert: accepting the same version again only moves ``accepted_at`` forward.

    "Forward" is enforced in SQL, not assumed: workers' clocks differ, and a
    re-accept served by a worker whose clock lags must not rewind the record.
    Returns the stored ``accepted_at``, which is what a status read will show.
    """
    moment = now()
    insert = (sqlite.insert(D) if is_sqlite else postgresql.insert(D)).values(
        tenant_id=caller.tenant_id, user_id=caller.user_id, version=version, accepted_at=moment
    )
    later = sa.case(
        (insert.excluded.accepted_at > D.c.accepted_at, insert.excluded.accepted_at),
        else_=D.c.accepted_at,
    )
    row = await conn.fetch_one(
        insert.on_conflict_do_update(
            index_elements=[D.c.tenant_id, D.c.user_id, D.c.version],
            set_={"accepted_at": later},
        ).returning(D.c.accepted_at)
    )
    assert row is not None
    stored: datetime = row["accepted_at"]
    return stored
