"""Helpers shared by the turn test modules: a conversation, its rows, the quota."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from supportai.store import tables
from supportai.store.database import row_dict
from supportai.testing import as_user


async def conversation(client: Any, headers: dict[str, str] | None = None) -> int:
    r = await client.post("/conversations", json={"title": "Help"}, headers=headers or as_user())
    assert r.status_code == 200, r.text
    return int(r.json()["conversation_id"])


async def rows(app: Any, query: Any) -> list[dict[str, Any]]:
    async with app.state.supportai.database.connection() as conn:
        return [row_dict(r) for r in await conn.fetch_all(query)]


async def messages_of(app: Any, cid: int) -> list[dict[str, Any]]:
    M = tables.messages
    return await rows(app, sa.select(M).where(M.c.conversation_id == cid).order_by(M.c.id))


async def quota(client: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await client.get("/quota", headers=headers or as_user())
    assert r.status_code == 200, r.text
    return dict(r.json())
