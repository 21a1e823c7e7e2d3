"""Database round-trips and transactions per turn and per list endpoint.

Counted, not timed: the numbers are exact and the same on every machine. List
endpoints must not grow with the number of rows (no N+1).
"""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

import httpx

from bench.turn_overhead import supportai_app
from supportai.testing import as_user, count_queries


async def _measure(database_url: str) -> dict[str, Any]:
    app = supportai_app(database_url)
    transport = httpx.ASGITransport(app=app)
    result: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        headers = as_user("bench", "counter")
        cid = (await client.post("/conversations", headers=headers)).json()["conversation_id"]
        body = {"content": "How do I reset my password?"}
        await client.post(f"/conversations/{cid}/messages", json=body, headers=headers)
        with count_queries() as turn:
            await client.post(f"/conversations/{cid}/messages", json=body, headers=headers)
        result["turn"] = vars(turn).copy()
        for rows in (1, 50):
            while (
                len((await client.get("/conversations?limit=200", headers=headers)).json()["items"])
                < rows
            ):
                await client.post("/conversations", json={"title": "filler"}, headers=headers)
            with count_queries() as listed:
                await client.get("/conversations?limit=200", headers=headers)
            with count_queries() as detail:
                await client.get(f"/conversations/{cid}", headers=headers)
            with count_queries() as cases:
                await client.get("/cases", headers=headers)
            result[f"lists_at_{rows}_rows"] = {
                "conversations": listed.statements,
                "conversation_detail": detail.statements,
                "cases": cases.statements,
            }
    await app.state.supportai.stop()
    return result


def run(database_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(_measure(database_url or f"sqlite+aiosqlite:///{folder}/q.db"))
