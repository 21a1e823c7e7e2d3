"""The tool loop: core runs the tools the model asks for, with the caller's scope,
persists every call, feeds results back and stops after a bounded number of rounds.

Runs on SQLite and PostgreSQL (the ``engine`` fixture in conftest).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import sqlalchemy as sa

from supportai.llm import ChatMessage, Finish, TextDelta, ToolCallRequest, ToolSpec, Usage
from supportai.store import tables
from supportai.store.database import row_dict
from supportai.testing import ScriptedBackend, as_user, backend_plugin, parse_sse, plugin
from supportai.tools import Tool, ToolContext

SSE = {"accept": "text/event-stream"}
ORDER_SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}}


def tools_plugin(*tools: Tool) -> object:
    def supportai_register_tools(register: Any) -> None:
        for tool in tools:
            register(tool)

    return plugin(supportai_register_tools=supportai_register_tools)


async def conversation(client: Any, headers: dict[str, str] | None = None) -> int:
    r = await client.post("/conversations", json={"title": "Orders"}, headers=headers or as_user())
    assert r.status_code == 200, r.text
    return int(r.json()["conversation_id"])


async def tool_rows(app: Any) -> list[dict[str, Any]]:
    T = tables.tool_calls
    async with app.state.supportai.database.connection() as conn:
        return [row_dict(r) for r in await conn.fetch_all(sa.select(T).order_by(T.c.id))]


def tool_round(*calls: ToolCallRequest, text: str = "") -> list[Any]:
    head = [TextDelta(text)] if text else []
    return [*head, *calls, Usage(50, 5), Finish("tool_calls")]


async def test_tool_runs_with_callers_scope_is_persisted_and_fed_back(
    supportai_app: Any, supportai_client: Any
) -> None:
    seen: list[tuple[ToolContext, dict[str, Any]]] = []

    async def lookup_order(context: ToolContext, arguments: dict[str, Any]) -> Any:
        seen.append((context, arguments))
        return {
            "order_id": arguments["order_id"],
            "status": "shipped",
            "owner": context.caller.user_id,
        }

    call = ToolCallRequest("call-1", "lookup_order", {"order_id": "A-42"})
    backend = ScriptedBackend(
        [
            tool_round(call, text="Let me check. "),
            ScriptedBackend.answer("Order A-42 has shipped.", usage=(80, 7)),
        ]
    )
    app = supportai_app(
        plugins=[
            backend_plugin(backend),
            tools_plugin(Tool("lookup_order", "Look up an order", lookup_order, ORDER_SCHEMA)),
        ],
        llm_backend="scripted",
    )
    client = supportai_client(app)
    headers = as_user(tenant="acme", user="alice", roles=("billing",))
    cid = await conversation(client, headers)
    r = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "where is A-42?"},
        headers={**headers, **SSE},
    )
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert names == ["turn.started", "delta", "tool.call", "tool.result", "delta", "turn.completed"]
    assert events[2][1] == {
        "call_id": "call-1",
        "name": "lookup_order",
        "arguments": {"order_id": "A-42"},
    }
    result_event = events[3][1]
    assert result_event["result"] == {"order_id": "A-42", "status": "shipped", "owner": "alice"}
    assert result_event["error"] is None and result_event["duration_ms"] >= 0
    done = events[-1][1]
    assert done["usage"] == {"input_tokens": 130, "output_tokens": 12}  # both rounds

    # The tool ran once, as the caller.
    ((context, arguments),) = seen
    assert (context.caller.tenant_id, context.caller.user_id) == ("acme", "alice")
    assert context.caller.roles == frozenset({"billing"})
    assert context.conversation_id == cid
    assert arguments == {"order_id": "A-42"}

    # The model was offered the tool and got the result back in the next round.
    first, second = backend.requests
    assert list(first.tools) == [ToolSpec("lookup_order", "Look up an order", ORDER_SCHEMA)]
    assert list(second.messages[-2:]) == [
        ChatMessage("assistant", "Let me check. ", tool_calls=(call,)),
        ChatMessage("tool", json.dumps(result_event["result"]), tool_call_id="call-1"),
    ]
    assert second.messages[-3] == ChatMessage("user", "where is A-42?")

    ((row,),) = [await tool_rows(app)]
    assert row["message_id"] == done["message_id"]
    assert row["tenant_id"] == "acme"
    assert (row["call_id"], row["tool_name"]) == ("call-1", "lookup_order")
    assert row["arguments"] == {"order_id": "A-42"}
    assert row["result"] == result_event["result"]
    assert row["error"] is None
    assert row["duration_ms"] >= 0

    # JSON clients and the idempotent replay see the same tool calls.
    backend.requests.clear()
    backend.rounds = [tool_round(call), ScriptedBackend.answer("Shipped.")]
    payload = {"content": "and now?", "idempotency_key": "tools-1"}
    body = (
        await client.post(f"/conversations/{cid}/messages", json=payload, headers=headers)
    ).json()
    assert body["tool_calls"] == [
        {
            "call_id": "call-1",
            "name": "lookup_order",
            "arguments": {"order_id": "A-42"},
            "result": result_event["result"],
            "error": None,
        }
    ]
    replay = (
        await client.post(f"/conversations/{cid}/messages", json=payload, headers=headers)
    ).json()
    assert replay["replayed"] is True and replay["tool_calls"] == body["tool_calls"]


async def test_tool_error_is_recorded_and_shown_to_the_model(
    supportai_app: Any, supportai_client: Any
) -> None:
    async def broken(context: ToolContext, arguments: dict[str, Any]) -> Any:
        raise ValueError("database password is hunter2")

    backend = ScriptedBackend(
        [
            tool_round(ToolCallRequest("c1", "broken", {})),
            ScriptedBackend.answer("Sorry, I could not look that up."),
        ]
    )
    app = supportai_app(
        plugins=[backend_plugin(backend), tools_plugin(Tool("broken", "", broken))],
        llm_backend="scripted",
    )
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "x"}, headers={**as_user(), **SSE}
    )
    assert "hunter2" not in r.text  # the exception message never reaches the client
    events = dict(parse_sse(r.text))
    assert events["tool.result"]["error"] == "tool 'broken' failed: ValueError"
    assert events["tool.result"]["result"] is None
    assert events["turn.completed"]["status"] == "complete"
    (row,) = await tool_rows(app)
    assert row["error"] == "tool 'broken' failed: ValueError" and row["result"] is None
    fed_back = backend.requests[1].messages[-1]
    assert fed_back.role == "tool" and fed_back.tool_call_id == "c1"
    assert json.loads(fed_back.content) == {"error": "tool 'broken' failed: ValueError"}


async def test_tool_timeout_is_recorded_as_error(supportai_app: Any, supportai_client: Any) -> None:
    async def slow(context: ToolContext, arguments: dict[str, Any]) -> Any:
        await asyncio.sleep(10)

    async def quick(context: ToolContext, arguments: dict[str, Any]) -> Any:
        await asyncio.sleep(0.3)  # longer than the setting, shorter than its own override
        return "ok"

    backend = ScriptedBackend(
        [
            tool_round(ToolCallRequest("c1", "slow", {}), ToolCallRequest("c2", "quick", {})),
            ScriptedBackend.answer("done"),
        ]
    )
    app = supportai_app(
        plugins=[
            backend_plugin(backend),
            tools_plugin(Tool("slow", "", slow), Tool("quick", "", quick, timeout_s=5)),
        ],
        llm_backend="scripted",
        tool_timeout_s=0.1,
    )
    client = supportai_client(app)
    cid = await conversation(client)
    started = asyncio.get_running_loop().time()
    body = (
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "x"}, headers=as_user()
        )
    ).json()
    assert asyncio.get_running_loop().time() - started < 5
    assert body["status"] == "complete"
    slow_row, quick_row = await tool_rows(app)
    assert slow_row["error"] == "tool 'slow' timed out after 0.1s"
    assert 100 <= slow_row["duration_ms"] < 5000
    assert quick_row["error"] is None and quick_row["result"] == "ok"
    assert [t["error"] for t in body["tool_calls"]] == [slow_row["error"], None]


async def test_unknown_tool_is_an_error_result_not_a_crash(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend(
        [
            tool_round(ToolCallRequest("c1", "delete_everything", {"really": True})),
            ScriptedBackend.answer("I can't do that."),
        ]
    )
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    body = (
        await client.post(
            f"/conversations/{cid}/messages", json={"content": "x"}, headers=as_user()
        )
    ).json()
    assert body["status"] == "complete" and body["content"] == "I can't do that."
    (row,) = await tool_rows(app)
    assert row["error"] == "unknown tool 'delete_everything'"
    assert row["arguments"] == {"really": True}


async def test_tool_rounds_are_bounded(supportai_app: Any, supportai_client: Any) -> None:
    calls = 0

    async def again(context: ToolContext, arguments: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        return calls

    # A model that asks for the tool forever.
    backend = ScriptedBackend([tool_round(ToolCallRequest("c", "again", {}), text="...")])
    app = supportai_app(
        plugins=[backend_plugin(backend), tools_plugin(Tool("again", "", again))],
        llm_backend="scripted",
        tool_max_rounds=2,
    )
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "x"}, headers={**as_user(), **SSE}
    )
    events = parse_sse(r.text)
    done = events[-1][1]
    assert done["status"] == "complete"
    assert done["finish_reason"] == "tool_rounds_exhausted"
    assert calls == 2
    assert len(backend.requests) == 3
    # The last round is offered no tools, so a well-behaved model must answer.
    assert [len(req.tools) for req in backend.requests] == [1, 1, 0]
    assert done["usage"] == {"input_tokens": 150, "output_tokens": 15}
    assert len(await tool_rows(app)) == 2
    assert [n for n, _ in events].count("tool.call") == 2


async def test_tools_setting_narrows_what_the_model_is_offered(
    supportai_app: Any, supportai_client: Any
) -> None:
    async def handler(context: ToolContext, arguments: dict[str, Any]) -> Any:
        return None

    backend = ScriptedBackend([ScriptedBackend.answer("ok")])
    app = supportai_app(
        plugins=[
            backend_plugin(backend),
            tools_plugin(Tool("a", "A", handler), Tool("b", "B", handler)),
        ],
        llm_backend="scripted",
        tools=["b"],
    )
    client = supportai_client(app)
    cid = await conversation(client)
    await client.post(f"/conversations/{cid}/messages", json={"content": "x"}, headers=as_user())
    assert [t.name for t in backend.requests[0].tools] == ["b"]
