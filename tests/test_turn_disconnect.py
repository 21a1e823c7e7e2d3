"""A client that goes away mid-stream, with the turn event log off
(``SUPPORTAI_TURN_EVENTS_TTL_S=0``): the user turn stays, the assistant turn is saved
with its partial text and status ``interrupted``, and the quota is settled. (With the
log on, the default, the turn runs to its end for a resume: test_turn_resume.py.)

httpx's ASGI transport buffers whole responses, so these tests drive the ASGI app
directly (both ways a server can report a disconnect: an ``http.disconnect``
message, ASGI spec 2.3, or ``send`` raising ``OSError``, spec 2.4) and through a
real uvicorn server on a loopback socket. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from supportai.llm import TextDelta
from supportai.pipeline.budget import TOKENS_PER_CHAR
from supportai.store import tables
from supportai.store.database import row_dict
from supportai.testing import TENANT_HEADER, USER_HEADER, ScriptedBackend, as_user, backend_plugin


class SSEClient:
    """Drives one streamed POST through an ASGI app and parses events as they arrive."""

    def __init__(self, app: Any, path: str, body: dict[str, Any], spec_version: str) -> None:
        self.app = app
        self.path = path
        self.body = json.dumps(body).encode()
        self.spec_version = spec_version
        self.gone = asyncio.Event()
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.status: int | None = None
        self._buffer = ""
        self._sent_body = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (TENANT_HEADER.encode(), b"t1"),
            (USER_HEADER.encode(), b"u1"),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": self.spec_version},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 40000),
        }
        self.task = asyncio.create_task(self.app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        if not self._sent_body:
            self._sent_body = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if self.gone.is_set():
            raise OSError("client went away")  # what a spec 2.4 server does
        if message["type"] == "http.response.start":
            self.status = message["status"]
            return
        self._buffer += message.get("body", b"").decode()
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            fields = dict(
                line.split(": ", 1) for line in block.split("\n") if not line.startswith(":")
            )
            if "event" in fields:
                self.events.put_nowait((fields["event"], json.loads(fields["data"])))

    async def next_event(self) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.events.get(), 10)

    async def disconnect(self) -> None:
        self.gone.set()
        assert self.task is not None
        # A spec 2.4 app ends by raising ClientDisconnect: that is the expected ending.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 10)


async def assistant_row(app: Any, cid: int, wait_s: float = 10) -> dict[str, Any]:
    """Wait for the (background) producer to persist the assistant turn."""
    M = tables.messages
    deadline = time.monotonic() + wait_s
    while True:
        async with app.state.supportai.database.connection() as conn:
            row = await conn.fetch_one(
                sa.select(M).where(M.c.conversation_id == cid).where(M.c.role == "assistant")
            )
        if row is not None:
            return row_dict(row)
        assert time.monotonic() < deadline, "the interrupted turn was never persisted"
        await asyncio.sleep(0.02)


async def settled_quota(client: httpx.AsyncClient, wait_s: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + wait_s
    while True:
        q = (await client.get("/quota", headers=as_user())).json()
        if q["user_cost_micros"]["reserved"] == 0 or time.monotonic() > deadline:
            return dict(q)
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_disconnect_mid_stream_saves_partial_turn_and_settles(
    supportai_app: Any, supportai_client: Any, spec_version: str
) -> None:
    never = asyncio.Event()
    backend = ScriptedBackend(
        [
            [
                TextDelta("Step one: open Settings. "),
                TextDelta("Step two: "),
                never.wait,
                TextDelta("unseen"),
            ]
        ]
    )
    # With the turn event log off; with it on the turn runs on (test_turn_resume.py).
    app = supportai_app(
        plugins=[backend_plugin(backend)],
        llm_backend="scripted",
        heartbeat_s=0.05,
        turn_events_ttl_s=0,
    )
    client = supportai_client(app)
    r = await client.post("/conversations", json={"title": "x"}, headers=as_user())
    cid = r.json()["conversation_id"]

    stream = SSEClient(app, f"/conversations/{cid}/messages", {"content": "how?"}, spec_version)
    stream.start()
    name, started = await stream.next_event()
    assert name == "turn.started"
    seen = []
    while len(seen) < 2:
        name, data = await stream.next_event()
        assert name == "delta"
        seen.append(data["text"])
    assert stream.status == 200
    await stream.disconnect()

    row = await assistant_row(app, cid)
    assert row["status"] == "interrupted"
    assert row["finish_reason"] == "client_disconnected"
    assert row["content"] == "".join(seen) == "Step one: open Settings. Step two: "
    assert row["reply_to_id"] == started["user_message_id"]
    detail = (await client.get(f"/conversations/{cid}", headers=as_user())).json()
    assert [(m["role"], m["status"]) for m in detail["messages"]] == [
        ("user", "complete"),
        ("assistant", "interrupted"),
    ]
    assert not never.is_set() and len(backend.requests) == 1

    # Settled to what was generated: charged for the partial answer, nothing held.
    q = await settled_quota(client)
    assert q["user_cost_micros"]["reserved"] == 0
    assert q["user_turns"] == {**q["user_turns"], "used": 1, "reserved": 0}
    assert row["output_tokens"] == len(row["content"]) * TOKENS_PER_CHAR
    assert q["user_cost_micros"]["used"] == row["cost_micros"] > 0
    async with app.state.supportai.database.connection() as conn:
        charged = await conn.fetch_val(sa.select(sa.func.sum(tables.usage.c.cost_micros)))
    assert charged == row["cost_micros"]


class LoopbackServer:
    """uvicorn serving an app on 127.0.0.1:<free port> in a thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


async def test_disconnect_through_a_real_server(supportai_app: Any) -> None:
    # The backend runs in the server's event loop: pause with a sleep, not an Event.
    backend = ScriptedBackend(
        [
            [
                TextDelta("First, "),
                TextDelta("second, "),
                lambda: asyncio.sleep(30),
                TextDelta("never"),
            ]
        ]
    )
    # With the turn event log off; with it on the turn runs on (test_turn_resume.py).
    app = supportai_app(
        plugins=[backend_plugin(backend)],
        llm_backend="scripted",
        heartbeat_s=0.05,
        turn_events_ttl_s=0,
    )
    with LoopbackServer(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
                "conversation_id"
            ]
            seen: list[str] = []
            started = time.monotonic()
            async with client.stream(
                "POST",
                f"/conversations/{cid}/messages",
                json={"content": "hi"},
                headers={**as_user(), "accept": "text/event-stream"},
            ) as response:
                assert response.status_code == 200
                event = None
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "delta":
                        seen.append(json.loads(line[6:])["text"])
                        if len(seen) == 2:
                            break
            # Closing the response closed the connection, long before the backend's 30 s.
            assert time.monotonic() - started < 10
            deadline = time.monotonic() + 10
            while True:
                detail = (await client.get(f"/conversations/{cid}", headers=as_user())).json()
                if len(detail["messages"]) == 2 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            user, assistant = detail["messages"]
            assert (user["role"], user["content"]) == ("user", "hi")
            assert assistant["status"] == "interrupted"
            assert assistant["content"] == "".join(seen) == "First, second, "
            q = await settled_quota(client)
            assert q["user_cost_micros"]["reserved"] == 0
            assert q["user_turns"]["used"] == 1
            assert q["user_cost_micros"]["used"] > 0


async def test_client_leaving_while_the_turn_is_being_saved_still_settles(
    supportai_app: Any, supportai_client: Any
) -> None:
    """The consumer goes away exactly while stage 8 runs: persistence and settlement
    must finish anyway (they run shielded from the cancellation)."""
    from supportai.caller import Caller
    from supportai.pipeline.prepare import prepare
    from supportai.pipeline.turn import Turn

    backend = ScriptedBackend([ScriptedBackend.answer("All done.", usage=(10, 2))])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    runtime = app.state.supportai
    store = runtime.quota
    settling, proceed = asyncio.Event(), asyncio.Event()
    # The SQL store settles inside the answer's transaction (settle_in).
    original_settle = store.settle_in

    async def slow_settle(conn: Any, reservation: Any, actual: int) -> None:
        settling.set()
        await proceed.wait()
        await original_settle(conn, reservation, actual)

    store.settle_in = slow_settle
    caller = Caller("t1", "u1")
    turn = Turn(runtime, caller, await prepare(runtime, caller, cid, "hi", None), "hi")
    events = turn.events()
    first = await events.__anext__()
    assert first is not None and first.event == "turn.started"
    await asyncio.wait_for(settling.wait(), 10)
    await events.aclose()  # the client is gone, mid-settlement
    proceed.set()
    await asyncio.wait_for(turn.wait(), 10)

    q = await settled_quota(client)
    assert q["user_cost_micros"] == {**q["user_cost_micros"], "used": 14, "reserved": 0}
    assert q["user_turns"]["used"] == 1
    row = await assistant_row(app, cid)
    assert (row["status"], row["content"]) == ("complete", "All done.")
