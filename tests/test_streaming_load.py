"""Streaming under load (issue 8.8): 200 SSE turns held open at once, read by slow
consumers, all complete without errors and within a stated memory bound.

The ASGI app is driven directly (httpx's ASGI transport buffers whole responses):
each client's ``send`` sleeps on every chunk, so the server side sees slow readers and
its per-turn queues fill. The model holds every answer until all 200 turns have
started, so they really are open simultaneously, then streams 40 deltas each.

Bound: the Python heap (tracemalloc) may grow by at most 120 KiB per open stream at
peak over the whole burst (``PEAK_BOUND_MIB``: 23.4 MiB for 200 streams; measured
about 9-10 MiB), including the database
driver and the per-turn event queues; and it must shrink back afterwards (no leak of
finished turns: less than ``RETAINED_BOUND_MIB`` retained).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import egress_guard
import sqlalchemy as sa

from supportai.llm import BackendRequest, Finish, TextDelta, Usage
from supportai.store import tables
from supportai.testing import TENANT_HEADER, USER_HEADER, backend_plugin, parse_sse

LONG = os.environ.get("SUPPORTAI_LONG_TESTS") == "1"
STREAMS = int(os.environ.get("SUPPORTAI_LOAD_STREAMS", "1000" if LONG else "200"))
DELTAS = 40
PEAK_BOUND_MIB = STREAMS * 120 / 1024  # 120 KiB per open stream: 23.4 MiB for 200
RETAINED_BOUND_MIB = 8


class HeldBackend:
    """Waits until every turn started, then streams ``DELTAS`` small deltas."""

    name = "held"
    model = "held-model"

    def __init__(self) -> None:
        self.started = 0
        self.all_started = asyncio.Event()

    async def stream(self, request: BackendRequest) -> AsyncIterator[Any]:
        self.started += 1
        if self.started >= STREAMS:
            self.all_started.set()
        await self.all_started.wait()
        for i in range(DELTAS):
            yield TextDelta(f"word{i} ")
            if i % 8 == 0:
                await asyncio.sleep(0)
        yield Usage(20, DELTAS)
        yield Finish("stop")


async def slow_sse_turn(app: Any, user: str, cid: int) -> str:
    body = json.dumps({"content": "stream to me"}).encode()
    chunks: list[bytes] = []
    delivered = False
    path = f"/conversations/{cid}/messages"

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never leaves
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            await asyncio.sleep(0.002)  # a slow reader

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (TENANT_HEADER.encode(), b"load"),
            (USER_HEADER.encode(), user.encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return b"".join(chunks).decode()


async def test_two_hundred_slow_sse_streams(supportai_app: Any, supportai_client: Any) -> None:
    backend = HeldBackend()
    app = supportai_app(
        plugins=[backend_plugin(backend, "held")],
        llm_backend="held",
        rate_limit_user_turns=10,
        rate_limit_tenant_turns=10 * STREAMS,
        rate_limit_window_s=86_400,
    )
    client = supportai_client(app)
    users = [f"reader{i}" for i in range(STREAMS)]
    conversations = []
    for user in users:
        r = await client.post(
            "/conversations", json={}, headers={TENANT_HEADER: "load", USER_HEADER: user}
        )
        conversations.append(r.json()["conversation_id"])

    gc.collect()
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    with egress_guard.timed("streaming load"):
        bodies = await asyncio.wait_for(
            asyncio.gather(
                *(
                    slow_sse_turn(app, user, cid)
                    for user, cid in zip(users, conversations, strict=True)
                )
            ),
            60 + STREAMS,
        )
    _, peak = tracemalloc.get_traced_memory()
    elapsed = time.perf_counter() - started

    expected = "".join(f"word{i} " for i in range(DELTAS))
    for body in bodies:
        events = parse_sse(body)
        names = [n for n, _ in events]
        assert names[0] == "turn.started" and names[-1] == "turn.completed", names[-3:]
        assert "error" not in names
        assert "".join(d["text"] for n, d in events if n == "delta") == expected
        assert events[-1][1]["status"] == "complete"
    del bodies
    gc.collect()
    retained, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    growth_mib = (peak - baseline) / 2**20
    retained_mib = (retained - baseline) / 2**20
    egress_guard.count("load streams", STREAMS)
    egress_guard.count("load peak heap KiB", int((peak - baseline) / 1024))
    print(
        f"{STREAMS} streams in {elapsed:.1f}s, heap peak +{growth_mib:.1f} MiB, "
        f"retained +{retained_mib:.1f} MiB"
    )
    assert growth_mib < PEAK_BOUND_MIB, growth_mib
    assert retained_mib < RETAINED_BOUND_MIB, retained_mib

    async with app.state.supportai.database.connection() as conn:
        m = tables.messages
        rows = await conn.fetch_all(
            sa.select(m.c.status, sa.func.count())
            .where(m.c.role == "assistant")
            .group_by(m.c.status)
        )
    assert {r[0]: r[1] for r in rows} == {"complete": STREAMS}
    for user in users[:: max(STREAMS // 10, 1)]:
        q = (await client.get("/quota", headers={TENANT_HEADER: "load", USER_HEADER: user})).json()
        assert q["user_cost_micros"]["reserved"] == 0 and q["user_turns"]["used"] == 1
