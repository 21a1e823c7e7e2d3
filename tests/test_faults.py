"""Faults during a turn (issue 8.4), each checked against the same four promises:

1. the client gets a typed outcome: an SSE ``error`` event with a reason (or a typed
   HTTP status before the stream), and the stream ends with ``turn.completed``;
2. the user turn is persisted;
3. the assistant turn is complete, or ``interrupted`` holding exactly the partial text
   the client saw (``error`` with no text when nothing was shown);
4. the quota is settled to the real usage: nothing reserved, ``used`` equal to the
   cost recorded in the usage table.

Faults: the backend fails before its first token, mid-stream, stalls past either
timeout, sends malformed chunks (a non-event object, a delta without text, an
unexpected exception); a tool raises or hangs; the database connection drops
mid-turn (PostgreSQL: ``pg_terminate_backend`` from a tool; both engines: the store
failing once); the Redis quota store is down (fail-closed and fail-open); the client
disconnects mid-stream. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import egress_guard
import pytest
import sqlalchemy as sa

from supportai.llm import BackendError, Finish, TextDelta, ToolCallRequest, Usage
from supportai.store import tables, turns
from supportai.store.database import row_dict
from supportai.testing import (
    TENANT_HEADER,
    USER_HEADER,
    ScriptedBackend,
    as_user,
    backend_plugin,
    parse_sse,
    plugin,
)
from supportai.tools import Tool, ToolContext

SSE = {**as_user(), "accept": "text/event-stream"}


async def forever() -> None:
    await asyncio.Event().wait()


class Malformed:
    """Not a BackendEvent: what a buggy backend adapter might yield."""


@dataclass
class Fault:
    name: str
    rounds: list[list[Any]]
    reason: str | None  # the SSE error reason, None when the turn completes
    status: str  # the assistant turn's status
    partial: str = ""  # the text the client saw (and the stored content)
    tools: list[Tool] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


async def raising_tool(context: ToolContext, arguments: dict[str, Any]) -> Any:
    raise RuntimeError("the order service exploded")


async def hanging_tool(context: ToolContext, arguments: dict[str, Any]) -> Any:
    await forever()


def tool_call(name: str) -> list[Any]:
    return [ToolCallRequest("call-1", name, {}), Usage(7, 3), Finish("tool_calls")]


FAULTS = [
    Fault(
        "backend fails before the first token",
        [[BackendError("503 from vendor")]],
        "vendor_outage",
        "error",
    ),
    Fault(
        "backend fails mid-stream",
        [[TextDelta("Partial "), TextDelta("answer"), BackendError("reset")]],
        "vendor_outage",
        "interrupted",
        "Partial answer",
    ),
    Fault(
        "backend stalls before the first token",
        [[forever]],
        "vendor_outage",
        "error",
        settings={"backend_first_token_timeout_s": 0.3},
    ),
    Fault(
        "backend stalls mid-stream",
        [[TextDelta("Half "), forever]],
        "vendor_outage",
        "interrupted",
        "Half ",
        settings={"backend_idle_timeout_s": 0.3},
    ),
    Fault(
        "backend sends a non-event object",
        [[TextDelta("Before "), Malformed(), TextDelta("after")]],
        "vendor_outage",
        "interrupted",
        "Before ",
    ),
    Fault(
        "backend sends a delta without text",
        [[TextDelta("Ok "), TextDelta(None)]],  # type: ignore[arg-type]
        "vendor_outage",
        "interrupted",
        "Ok ",
    ),
    Fault(
        "backend raises ValueError mid-stream",
        [[TextDelta("So far "), ValueError("bad chunk")]],
        "internal_error",
        "interrupted",
        "So far ",
    ),
    Fault(
        "a tool raises",
        [tool_call("explode"), ScriptedBackend.answer("Sorry, no data.")],
        None,
        "complete",
        "Sorry, no data.",
        tools=[Tool("explode", "raises", raising_tool)],
    ),
    Fault(
        "a tool hangs",
        [tool_call("hang"), ScriptedBackend.answer("It timed out.")],
        None,
        "complete",
        "It timed out.",
        tools=[Tool("hang", "hangs", hanging_tool)],
        settings={"tool_timeout_s": 0.3},
    ),
]


def tools_plugin(tools: list[Tool]) -> object:
    def supportai_register_tools(register: Callable[[Tool], None]) -> None:
        for tool in tools:
            register(tool)

    return plugin(supportai_register_tools=supportai_register_tools)


async def db_rows(app: Any, query: Any) -> list[dict[str, Any]]:
    async with app.state.supportai.database.connection() as conn:
        return [row_dict(r) for r in await conn.fetch_all(query)]


async def check_promises(
    app: Any,
    client: Any,
    cid: int,
    events: list[tuple[str, Any]],
    reason: str | None,
    status: str,
    partial: str,
) -> None:
    names = [name for name, _ in events]
    assert names[0] == "turn.started" and names[-1] == "turn.completed", names
    errors = [data for name, data in events if name == "error"]
    if reason is None:
        assert errors == [], errors
    else:
        assert [e["reason"] for e in errors] == [reason], errors
        assert "Traceback" not in json.dumps(errors)
    shown = "".join(data["text"] for name, data in events if name == "delta")
    assert shown == partial
    completed = events[-1][1]
    assert completed["status"] == status

    m = tables.messages
    messages = await db_rows(app, sa.select(m).where(m.c.conversation_id == cid).order_by(m.c.id))
    assert [x["role"] for x in messages] == ["user", "assistant"], messages
    assert messages[0]["status"] == "complete"
    assistant = messages[1]
    assert assistant["status"] == status
    assert assistant["content"] == partial
    if status == "error":
        assert partial == ""

    await settled(app, client, completed["cost_micros"])
    egress_guard.count("faults")


async def settled(app: Any, client: Any, cost: int) -> None:
    quota = (await client.get("/quota", headers=as_user())).json()
    for bucket in ("user_turns", "tenant_turns", "user_cost_micros", "tenant_cost_micros"):
        assert quota[bucket]["reserved"] == 0, (bucket, quota[bucket])
    u = tables.usage
    recorded = await db_rows(
        app, sa.select(sa.func.coalesce(sa.func.sum(u.c.cost_micros), 0).label("spent"))
    )
    assert quota["user_cost_micros"]["used"] == recorded[0]["spent"] == cost


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_backend_and_tool_faults(
    supportai_app: Any, supportai_client: Any, fault: Fault
) -> None:
    backend = ScriptedBackend(fault.rounds)
    app = supportai_app(
        plugins=[backend_plugin(backend), tools_plugin(fault.tools)],
        llm_backend="scripted",
        **fault.settings,
    )
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    r = await asyncio.wait_for(
        client.post(
            f"/conversations/{cid}/messages", json={"content": "Where is my order?"}, headers=SSE
        ),
        30,
    )
    assert r.status_code == 200, r.text
    events = parse_sse(r.text)
    await check_promises(app, client, cid, events, fault.reason, fault.status, fault.partial)
    if fault.tools:
        calls = await db_rows(app, sa.select(tables.tool_calls))
        assert len(calls) == 1 and calls[0]["error"], calls


# -- the database connection drops mid-turn -------------------------------------------------


async def test_store_fails_once_while_saving_the_answer(
    supportai_app: Any, supportai_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write of the assistant turn fails (a dropped connection): the client is told,
    and the tokens spent are still charged."""
    real = turns.insert_assistant_turn
    failures = []

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise ConnectionResetError("connection to the database was lost")
        return await real(*args, **kwargs)

    monkeypatch.setattr(turns, "insert_assistant_turn", flaky)
    backend = ScriptedBackend([ScriptedBackend.answer("Here it is.", usage=(11, 7))])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=SSE)
    assert r.status_code == 200
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert names[0] == "turn.started" and names[-1] == "turn.completed", names
    assert failures, "the fault was not injected"
    m = tables.messages
    messages = await db_rows(app, sa.select(m).where(m.c.conversation_id == cid).order_by(m.c.id))
    assert messages[0]["role"] == "user"
    completed = events[-1][1]
    if len(messages) == 2:  # saved on a retry: complete, like any other turn
        assert messages[1]["status"] == "complete" and completed["status"] == "complete"
    else:  # not saved: the client was told so with a typed error, never "complete"
        assert [d["reason"] for n, d in events if n == "error"] == ["answer_not_saved"], events
        assert completed["message_id"] is None and completed["status"] == "error"
    await settled(app, client, completed["cost_micros"])
    assert completed["cost_micros"] > 0
    egress_guard.count("faults")


async def terminate_app_connections(app: Any) -> int:
    """``pg_terminate_backend`` on every server connection of the app's pool."""
    import asyncpg

    from supportai.testing import POSTGRES_ADMIN_URL

    name = app.state.supportai.settings.database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await conn.close()
    return len(rows)


async def test_pool_recovers_after_server_dropped_idle_connections(
    supportai_app: Any, supportai_client: Any, engine: str
) -> None:
    """The server drops every idle pooled connection (a restart, a failover): the next
    request is at worst a typed 503, never a 500, and the one after it is served again.

    A connection that received the server's last error while idle is stuck in asyncpg's
    protocol; before the fix the pool kept handing such connections out.
    """
    if engine != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    app = supportai_app()
    client = supportai_client(app)
    for _ in range(3):  # several connections in the pool
        assert (await client.post("/conversations", json={}, headers=as_user())).status_code == 200
    assert await terminate_app_connections(app) >= 1
    first = await client.get("/conversations", headers=as_user())
    if first.status_code != 200:
        assert first.status_code == 503 and first.json()["reason"] == "storage_unavailable"
    second = await client.get("/conversations", headers=as_user())
    assert second.status_code == 200, second.text
    assert len(second.json()["items"]) == 3


async def test_postgres_connection_terminated_mid_turn(
    supportai_app: Any, supportai_client: Any, engine: str
) -> None:
    """A tool kills every server connection of the app's pool (``pg_terminate_backend``);
    the turn still reaches a typed end, nothing stays reserved."""
    if engine != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    killed: list[int] = []

    async def terminate(context: ToolContext, arguments: dict[str, Any]) -> Any:
        killed.append(await terminate_app_connections(app))
        return {"terminated": killed[-1]}

    backend = ScriptedBackend([tool_call("terminate"), ScriptedBackend.answer("Recovered.")])
    app = supportai_app(
        plugins=[backend_plugin(backend), tools_plugin([Tool("terminate", "kills", terminate)])],
        llm_backend="scripted",
    )
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=SSE)
    assert r.status_code == 200, r.text
    assert killed and killed[0] >= 1
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert names[0] == "turn.started" and names[-1] == "turn.completed", names
    completed = events[-1][1]
    if completed["message_id"] is None:
        assert [d["reason"] for n, d in events if n == "error"] == ["answer_not_saved"], events
        assert completed["status"] == "error"
    m = tables.messages
    messages = await db_rows(app, sa.select(m).where(m.c.conversation_id == cid).order_by(m.c.id))
    assert messages[0]["role"] == "user"
    if len(messages) == 2:
        assert messages[1]["status"] == completed["status"]
    await settled(app, client, completed["cost_micros"])
    egress_guard.count("faults")


# -- the Redis quota store is down ----------------------------------------------------------


def redis_down_settings(fail_open: bool) -> dict[str, Any]:
    # Port 1 on loopback: connection refused at once, no packet leaves the machine.
    return {
        "plugins": ["redis"],
        "quota_store": "redis",
        "plugin_options": {
            "redis": {
                "url": "redis://127.0.0.1:1/0",
                "fail_open": fail_open,
                "key_prefix": f"down-{uuid.uuid4().hex[:6]}:",
                "socket_connect_timeout_s": 0.5,
                "retries": 0,
            }
        },
    }


async def test_redis_down_fail_closed_refuses_and_persists_nothing(
    supportai_app: Any, supportai_client: Any, supportai_settings: Any
) -> None:
    pytest.importorskip("supportai_redis")
    backend = ScriptedBackend([ScriptedBackend.answer("never")])
    settings = supportai_settings.model_copy(
        update={"llm_backend": "scripted", **redis_down_settings(False)}
    )
    app = supportai_app(settings, plugins=[backend_plugin(backend)], load_entry_points=True)
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    for headers in (SSE, as_user()):
        r = await client.post(
            f"/conversations/{cid}/messages", json={"content": "hi"}, headers=headers
        )
        assert r.status_code == 503, r.text
        assert r.json()["reason"] == "quota_store_unavailable"
    assert backend.requests == []
    assert await db_rows(app, sa.select(tables.messages)) == []
    q = await client.get("/quota", headers=as_user())
    assert q.status_code == 503 and q.json()["reason"] == "quota_store_unavailable"
    egress_guard.count("faults")


async def test_redis_down_fail_open_lets_the_turn_through(
    supportai_app: Any, supportai_client: Any, supportai_settings: Any
) -> None:
    pytest.importorskip("supportai_redis")
    backend = ScriptedBackend([ScriptedBackend.answer("Unmetered answer.")])
    settings = supportai_settings.model_copy(
        update={"llm_backend": "scripted", **redis_down_settings(True)}
    )
    app = supportai_app(settings, plugins=[backend_plugin(backend)], load_entry_points=True)
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=SSE)
    assert r.status_code == 200, r.text
    events = parse_sse(r.text)
    assert events[-1][1]["status"] == "complete"
    m = tables.messages
    messages = await db_rows(app, sa.select(m).order_by(m.c.id))
    assert [(x["role"], x["status"]) for x in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    # The spend is still recorded where the database can hold it.
    spent = await db_rows(app, sa.select(sa.func.sum(tables.usage.c.cost_micros).label("s")))
    assert spent[0]["s"] == events[-1][1]["cost_micros"] > 0
    egress_guard.count("faults")


# -- the client goes away mid-stream ---------------------------------------------------------


async def test_client_disconnects_mid_stream(supportai_app: Any, supportai_client: Any) -> None:
    """With the turn event log off, a client that leaves stops its turn, which is saved
    as ``interrupted`` and charged for what was sent (with the log on the turn runs on
    for a resume: tests/test_turn_resume.py)."""
    seen_delta = asyncio.Event()
    backend = ScriptedBackend([[TextDelta("Hello "), Usage(9, 2), TextDelta("wor"), forever]])
    app = supportai_app(
        plugins=[backend_plugin(backend)], llm_backend="scripted", turn_events_ttl_s=0
    )
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    body = json.dumps({"content": "hi"}).encode()
    gone = asyncio.Event()
    received: list[bytes] = []
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            received.append(message.get("body", b""))
            if b"wor" in b"".join(received):
                seen_delta.set()

    path = f"/conversations/{cid}/messages"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
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
            (TENANT_HEADER.encode(), b"t1"),
            (USER_HEADER.encode(), b"u1"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    call = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(seen_delta.wait(), 10)
    gone.set()
    await asyncio.wait_for(call, 10)

    m = tables.messages
    for _ in range(200):
        messages = await db_rows(app, sa.select(m).order_by(m.c.id))
        if len(messages) == 2:
            break
        await asyncio.sleep(0.05)
    assert [x["role"] for x in messages] == ["user", "assistant"]
    assert messages[1]["status"] == "interrupted"
    shown = "".join(d["text"] for n, d in parse_sse(b"".join(received).decode()) if n == "delta")
    assert messages[1]["content"] == shown == "Hello wor"
    cost = messages[1]["cost_micros"]
    assert cost > 0
    await settled(app, client, cost)
    egress_guard.count("faults")
