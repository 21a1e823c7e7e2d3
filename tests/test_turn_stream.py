"""The streamed part of a turn: SSE events, JSON clients, backend failures, heartbeats,
history trimming, idempotency and the quota numbers a turn leaves behind.

Runs on SQLite and PostgreSQL (the ``engine`` fixture in conftest).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import sqlalchemy as sa
from turn_support import conversation, messages_of, quota, rows

from supportai.llm import BackendError, ChatMessage, Citation, Finish, TextDelta, Usage
from supportai.pipeline.budget import TOKENS_PER_CHAR
from supportai.store import tables
from supportai.testing import ScriptedBackend, as_user, backend_plugin, parse_sse

SSE = {"accept": "text/event-stream"}


def sse_blocks(body: str) -> list[dict[str, str]]:
    """Raw SSE blocks as field dicts (``event``, ``id``, ``data``, or ``comment``)."""
    blocks = []
    for block in body.split("\n\n"):
        if not block:
            continue
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                fields["comment"] = line[1:].strip()
            else:
                key, _, value = line.partition(": ")
                fields[key] = value
        blocks.append(fields)
    return blocks


def price(input_tokens: int, output_tokens: int) -> int:
    """The default price (1000/2000 micros per 1k tokens), rounded up like core does."""
    return -(-(input_tokens * 1000 + output_tokens * 2000) // 1000)


# -- the event protocol ------------------------------------------------------------------------


async def test_sse_turn_event_sequence(supportai_app: Any, supportai_client: Any) -> None:
    backend = ScriptedBackend(
        [
            [
                TextDelta("To export, "),
                Citation("kb-7", "Exporting data", "https://help.example/export"),
                TextDelta("open Settings > Data."),
                Citation("kb-7", "Exporting data", "https://help.example/export"),  # deduplicated
                Usage(120, 9),
                Finish("stop"),
            ]
        ]
    )
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "export?"}, headers={**as_user(), **SSE}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    blocks = sse_blocks(r.text)
    assert all(set(b) == {"event", "id", "data"} for b in blocks), blocks
    events = [(b["event"], json.loads(b["data"])) for b in blocks]
    # ``<user message id>:<sequence>``: Last-Event-ID alone names the turn (docs/sse.md)
    turn = events[0][1]["user_message_id"]
    assert [b["id"] for b in blocks] == [f"{turn}:{n}" for n in range(1, len(blocks) + 1)]
    names = [name for name, _ in events]
    # The citation came mid-paragraph: it waits for the paragraph's end (here the answer's).
    assert names == ["turn.started", "delta", "delta", "citation", "turn.completed"]

    started = events[0][1]
    assert started["conversation_id"] == cid
    assert started["classification"] == {
        "intent": "unclassified",
        "confidence": 0.0,
        "refused": False,
        "classifier": "none",
    }
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert text == "To export, open Settings > Data."
    assert events[3][1] == {
        "source_id": "kb-7",
        "title": "Exporting data",
        "url": "https://help.example/export",
    }
    done = events[-1][1]
    assert done["status"] == "complete"
    assert done["finish_reason"] == "stop"
    assert done["usage"] == {"input_tokens": 120, "output_tokens": 9}
    assert done["cost_micros"] == price(120, 9)
    assert set(done["timings_ms"]) >= {"quota", "backend", "persist"}

    msgs = await messages_of(app, cid)
    assert [(m["role"], m["status"]) for m in msgs] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert msgs[0]["id"] == started["user_message_id"] == done["user_message_id"]
    assert msgs[1]["id"] == done["message_id"]
    assert msgs[1]["content"] == text
    assert msgs[1]["reply_to_id"] == msgs[0]["id"]
    # Stored with where in the answer it was sent, so a replay sends it there too.
    assert msgs[1]["citations"] == [{**events[3][1], "at": len(text)}]
    usage = await rows(app, sa.select(tables.usage))
    assert [(u["message_id"], u["model"], u["cost_micros"]) for u in usage] == [
        (msgs[1]["id"], "scripted-model", price(120, 9))
    ]


async def test_json_client_gets_the_same_turn_as_one_object(
    supportai_app: Any, supportai_client: Any
) -> None:
    script = [
        TextDelta("Hello "),
        Citation("kb-1", "Welcome", None),
        TextDelta("there."),
        Usage(40, 3),
        Finish("stop"),
    ]
    backend = ScriptedBackend([script])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    sse = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers={**as_user(), **SSE}
    )
    r = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "hi"},
        headers={**as_user(), "accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    events = parse_sse(sse.text)
    done = events[-1][1]
    assert body["status"] == done["status"] == "complete"
    assert body["content"] == "".join(d["text"] for n, d in events if n == "delta")
    assert body["citations"] == [d for n, d in events if n == "citation"]
    assert body["usage"] == {**done["usage"], "cost_micros": done["cost_micros"]}
    assert body["finish_reason"] == "stop"
    assert body["refusal"] is None and body["replayed"] is False
    msgs = await messages_of(app, cid)
    assert body["assistant_message_id"] == msgs[-1]["id"]
    assert body["user_message_id"] == msgs[-2]["id"]
    assert msgs[-1]["content"] == "Hello there."


# -- backend failures ----------------------------------------------------------------------------


async def test_backend_error_before_first_token(supportai_app: Any, supportai_client: Any) -> None:
    backend = ScriptedBackend([[BackendError("connection refused")]])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers={**as_user(), **SSE}
    )
    assert r.status_code == 200
    events = parse_sse(r.text)
    assert [n for n, _ in events] == ["turn.started", "error", "turn.completed"]
    error = events[1][1]
    assert error["reason"] == "vendor_outage"
    assert "connection refused" not in error["detail"]  # no internals leak to the client
    assert events[2][1]["status"] == "error"
    assert events[2][1]["cost_micros"] == 0

    msgs = await messages_of(app, cid)
    assert [(m["role"], m["status"], m["content"]) for m in msgs] == [
        ("user", "complete", "hi"),
        ("assistant", "error", ""),
    ]
    assert await rows(app, sa.select(tables.usage)) == []
    q = await quota(client)
    assert q["user_cost_micros"]["used"] == 0 and q["user_cost_micros"]["reserved"] == 0
    assert q["user_turns"]["used"] == 1

    # A JSON client sees the same outcome as the turn's refusal.
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers=as_user()
    )
    body = r.json()
    assert body["status"] == "error"
    assert body["refusal"]["reason"] == "vendor_outage"


async def test_backend_error_mid_stream_keeps_partial_text(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend(
        [[TextDelta("First part, "), TextDelta("second part"), BackendError("stream reset")]]
    )
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers={**as_user(), **SSE}
    )
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert names[0] == "turn.started" and names[-2:] == ["error", "turn.completed"]
    seen = "".join(d["text"] for n, d in events if n == "delta")
    assert seen == "First part, second part"
    assert events[-2][1]["reason"] == "vendor_outage"
    done = events[-1][1]
    assert done["status"] == "interrupted"
    msgs = await messages_of(app, cid)
    assert (msgs[-1]["status"], msgs[-1]["content"]) == ("interrupted", seen)
    # Charged for what was generated (estimated: the backend never reported usage),
    # never more than that and nothing left held.
    usage = await rows(app, sa.select(tables.usage))
    assert [u["cost_micros"] for u in usage] == [done["cost_micros"]]
    assert done["usage"]["output_tokens"] == len(seen) * TOKENS_PER_CHAR
    q = await quota(client)
    assert q["user_cost_micros"]["used"] == done["cost_micros"]
    assert q["user_cost_micros"]["reserved"] == 0


async def test_reported_usage_is_charged_even_when_the_stream_then_fails(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([[TextDelta("Partial"), Usage(50, 5), BackendError("boom")]])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers=as_user()
    )
    body = r.json()
    assert body["status"] == "interrupted"
    assert body["usage"] == {"input_tokens": 50, "output_tokens": 5, "cost_micros": price(50, 5)}
    assert (await quota(client))["user_cost_micros"]["used"] == price(50, 5)


async def test_stalled_backend_times_out_as_vendor_outage(
    supportai_app: Any, supportai_client: Any
) -> None:
    never = asyncio.Event()
    backend = ScriptedBackend([[never.wait, TextDelta("too late")]])
    app = supportai_app(
        plugins=[backend_plugin(backend)], llm_backend="scripted", backend_first_token_timeout_s=0.2
    )
    client = supportai_client(app)
    cid = await conversation(client)
    started = asyncio.get_running_loop().time()
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers={**as_user(), **SSE}
    )
    elapsed = asyncio.get_running_loop().time() - started
    assert elapsed < 5
    events = parse_sse(r.text)
    assert [n for n, _ in events] == ["turn.started", "error", "turn.completed"]
    assert events[1][1]["reason"] == "vendor_outage"
    assert events[2][1]["status"] == "error"
    q = await quota(client)
    assert q["user_cost_micros"]["reserved"] == 0 and q["user_cost_micros"]["used"] == 0


async def test_backend_going_idle_mid_stream_times_out(
    supportai_app: Any, supportai_client: Any
) -> None:
    never = asyncio.Event()
    backend = ScriptedBackend([[TextDelta("Let me check"), never.wait, TextDelta("...")]])
    app = supportai_app(
        plugins=[backend_plugin(backend)], llm_backend="scripted", backend_idle_timeout_s=0.2
    )
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers={**as_user(), **SSE}
    )
    events = parse_sse(r.text)
    assert events[-2] == ("error", events[-2][1]) and events[-2][1]["reason"] == "vendor_outage"
    assert events[-1][1]["status"] == "interrupted"
    msgs = await messages_of(app, cid)
    assert (msgs[-1]["status"], msgs[-1]["content"]) == ("interrupted", "Let me check")


async def test_unexpected_backend_exception_is_internal_error_without_stack_trace(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([[TextDelta("Hi"), RuntimeError("secret internals at 0xdead")]])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers={**as_user(), **SSE}
    )
    assert "0xdead" not in r.text and "Traceback" not in r.text
    events = parse_sse(r.text)
    assert events[-2][0] == "error" and events[-2][1]["reason"] == "internal_error"
    assert (await quota(client))["user_cost_micros"]["reserved"] == 0


# -- heartbeats ---------------------------------------------------------------------------------


async def test_heartbeat_comments_while_backend_is_silent(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([[lambda: asyncio.sleep(0.5), *ScriptedBackend.answer("Done.")]])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted", heartbeat_s=0.05)
    client = supportai_client(app)
    cid = await conversation(client)
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "hi"}, headers={**as_user(), **SSE}
    )
    blocks = sse_blocks(r.text)
    first_delta = next(i for i, b in enumerate(blocks) if b.get("event") == "delta")
    pings = [b for b in blocks[:first_delta] if b.get("comment") == "ping"]
    assert len(pings) >= 3, blocks
    assert all(set(b) == {"comment"} for b in pings)
    # Pings are comments: an SSE parser sees only the real events.
    assert [n for n, _ in parse_sse(r.text)] == ["turn.started", "delta", "turn.completed"]


# -- history ------------------------------------------------------------------------------------


async def test_history_is_trimmed_oldest_first_to_the_budget(
    supportai_app: Any, supportai_client: Any
) -> None:
    answers = [f"answer {i} " + "a" * 41 for i in range(3)]  # 50 chars each
    backend = ScriptedBackend(
        [ScriptedBackend.answer(a) for a in answers] + [ScriptedBackend.answer("final")]
    )
    app = supportai_app(
        plugins=[backend_plugin(backend)],
        llm_backend="scripted",
        history_char_budget=200,
        system_prompt="Be brief.",
    )
    client = supportai_client(app)
    cid = await conversation(client)
    questions = [f"question {i} " + "q" * 39 for i in range(3)]  # 50 chars each
    for q in questions:
        r = await client.post(
            f"/conversations/{cid}/messages", json={"content": q}, headers=as_user()
        )
        assert r.json()["status"] == "complete"
    last = "x" * 20
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": last}, headers=as_user()
    )
    assert r.status_code == 200
    # Budget 200 - 20 (the new message) = 180: the newest three 50-char messages fit.
    sent = list(backend.requests[3].messages)
    assert sent == [
        ChatMessage("system", "Be brief."),
        ChatMessage("assistant", answers[1]),
        ChatMessage("user", questions[2]),
        ChatMessage("assistant", answers[2]),
        ChatMessage("user", last),
    ]
    # The first request had only the system prompt and the question.
    assert list(backend.requests[0].messages) == [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", questions[0]),
    ]


async def test_history_pages_back_across_many_short_turns_in_order(
    supportai_app: Any, supportai_client: Any
) -> None:
    # The pipeline reads history a page at a time (HISTORY_PAGE rows); 20 turns are
    # 40 messages, more than two pages, and all of them fit the default budget.
    turns = 20
    backend = ScriptedBackend(
        [ScriptedBackend.answer(f"a{i}") for i in range(turns)] + [ScriptedBackend.answer("final")]
    )
    app = supportai_app(
        plugins=[backend_plugin(backend)], llm_backend="scripted", rate_limit_user_turns=100
    )
    client = supportai_client(app)
    cid = await conversation(client)
    for i in range(turns):
        r = await client.post(
            f"/conversations/{cid}/messages", json={"content": f"q{i}"}, headers=as_user()
        )
        assert r.json()["status"] == "complete"
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "last"}, headers=as_user()
    )
    assert r.status_code == 200
    sent = [m for m in backend.requests[turns].messages if m.role != "system"]
    expected = [
        ChatMessage(role, f"{letter}{i}")
        for i in range(turns)
        for role, letter in (("user", "q"), ("assistant", "a"))
    ]
    assert sent == [*expected, ChatMessage("user", "last")]


async def test_refused_and_failed_turns_are_not_replayed_to_the_model(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([[BackendError("down")], ScriptedBackend.answer("ok")])
    app = supportai_app(
        plugins=[backend_plugin(backend)], llm_backend="scripted", system_prompt="S"
    )
    client = supportai_client(app)
    cid = await conversation(client)
    await client.post(f"/conversations/{cid}/messages", json={"content": "one"}, headers=as_user())
    await client.post(f"/conversations/{cid}/messages", json={"content": "two"}, headers=as_user())
    # The failed assistant row (empty, status error) is skipped; the user's words stay.
    assert list(backend.requests[1].messages) == [
        ChatMessage("system", "S"),
        ChatMessage("user", "one"),
        ChatMessage("user", "two"),
    ]


async def test_system_prompt_hook_is_per_tenant(supportai_app: Any, supportai_client: Any) -> None:
    from supportai.testing import plugin

    def supportai_system_prompt(caller: Any, conversation_id: int) -> str | None:
        return f"You support tenant {caller.tenant_id}." if caller.tenant_id == "t2" else None

    backend = ScriptedBackend([ScriptedBackend.answer("ok")])
    app = supportai_app(
        plugins=[backend_plugin(backend), plugin(supportai_system_prompt=supportai_system_prompt)],
        llm_backend="scripted",
        system_prompt="Default prompt.",
    )
    client = supportai_client(app)
    for tenant in ("t1", "t2"):
        headers = as_user(tenant=tenant)
        cid = await conversation(client, headers)
        await client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=headers)
    assert backend.requests[0].messages[0] == ChatMessage("system", "Default prompt.")
    assert backend.requests[1].messages[0] == ChatMessage("system", "You support tenant t2.")
    assert backend.requests[1].caller.tenant_id == "t2"
    assert backend.requests[1].max_output_tokens == 1024


# -- idempotency ---------------------------------------------------------------------------------


async def test_retried_submit_returns_the_original_turn(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend(
        [
            ScriptedBackend.answer("Original answer.", usage=(30, 4)),
            ScriptedBackend.answer("A second, different answer."),
        ]
    )
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    payload = {"content": "hi", "idempotency_key": "submit-1"}
    first = (
        await client.post(f"/conversations/{cid}/messages", json=payload, headers=as_user())
    ).json()
    assert first["replayed"] is False
    again = (
        await client.post(f"/conversations/{cid}/messages", json=payload, headers=as_user())
    ).json()
    assert again["replayed"] is True
    for key in (
        "user_message_id",
        "assistant_message_id",
        "content",
        "status",
        "usage",
        "finish_reason",
        "classification",
    ):
        assert again[key] == first[key], key
    sse = await client.post(
        f"/conversations/{cid}/messages", json=payload, headers={**as_user(), **SSE}
    )
    events = parse_sse(sse.text)
    assert [n for n, _ in events] == ["turn.started", "delta", "turn.completed"]
    assert events[1][1]["text"] == "Original answer."
    assert events[2][1]["replayed"] is True
    assert events[2][1]["message_id"] == first["assistant_message_id"]

    assert len(backend.requests) == 1
    assert len(await messages_of(app, cid)) == 2
    assert len(await rows(app, sa.select(tables.usage))) == 1
    q = await quota(client)
    assert q["user_turns"]["used"] == 1
    assert q["user_cost_micros"]["used"] == price(30, 4)

    # The key is the caller's: another user reusing it in their own conversation is new.
    other = as_user(user="u2")
    cid2 = await conversation(client, other)
    fresh = (
        await client.post(f"/conversations/{cid2}/messages", json=payload, headers=other)
    ).json()
    assert fresh["replayed"] is False and fresh["content"] == "A second, different answer."


async def test_retry_while_the_original_is_streaming_is_409(
    supportai_app: Any, supportai_client: Any
) -> None:
    gate = asyncio.Event()
    backend = ScriptedBackend([[gate.wait, *ScriptedBackend.answer("late")]])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    payload = {"content": "hi", "idempotency_key": "k-2"}
    original = asyncio.create_task(
        client.post(f"/conversations/{cid}/messages", json=payload, headers=as_user())
    )
    for _ in range(500):
        if backend.requests:
            break
        await asyncio.sleep(0.01)
    retry = await client.post(f"/conversations/{cid}/messages", json=payload, headers=as_user())
    assert retry.status_code == 409
    assert retry.json()["reason"] == "duplicate_request"
    gate.set()
    first = await original
    assert first.json()["content"] == "late"
    q = await quota(client)
    assert q["user_turns"]["used"] == 1 and q["user_cost_micros"]["reserved"] == 0


async def test_refused_turn_replays_as_refused(supportai_app: Any, supportai_client: Any) -> None:
    from supportai.classifiers import Classification
    from supportai.testing import plugin

    class Refuser:
        name = "refuser"

        async def classify(self, message: Any) -> Classification:
            return Classification("abusive", 0.99, True, "refuser")

    def supportai_register_classifiers(register: Any) -> None:
        register("refuser", lambda context: Refuser())

    backend = ScriptedBackend([ScriptedBackend.answer("never")])
    app = supportai_app(
        plugins=[
            backend_plugin(backend),
            plugin(supportai_register_classifiers=supportai_register_classifiers),
        ],
        llm_backend="scripted",
        classifiers=["refuser"],
    )
    client = supportai_client(app)
    cid = await conversation(client)
    payload = {"content": "...", "idempotency_key": "r-1"}
    first = (
        await client.post(f"/conversations/{cid}/messages", json=payload, headers=as_user())
    ).json()
    again = (
        await client.post(f"/conversations/{cid}/messages", json=payload, headers=as_user())
    ).json()
    assert first["status"] == again["status"] == "refused"
    assert again["replayed"] is True and again["user_message_id"] == first["user_message_id"]
    assert again["refusal"]["reason"] == "intent_refused"
    assert (await quota(client))["user_turns"]["used"] == 1
    assert backend.requests == []


# -- quota numbers -------------------------------------------------------------------------------


async def test_quota_endpoint_after_turns(supportai_app: Any, supportai_client: Any) -> None:
    backend = ScriptedBackend(
        [
            ScriptedBackend.answer("one", usage=(100, 10)),
            ScriptedBackend.answer("two", usage=(200, 20)),
        ]
    )
    app = supportai_app(
        plugins=[backend_plugin(backend)],
        llm_backend="scripted",
        rate_limit_user_turns=5,
        rate_limit_tenant_turns=50,
        rate_limit_window_s=600,
        user_daily_cost_cap_micros=1_000_000,
        tenant_monthly_cost_cap_micros=9_000_000,
    )
    client = supportai_client(app)
    empty = await quota(client)
    assert empty["user_turns"] == {
        **empty["user_turns"],
        "limit": 5,
        "used": 0,
        "reserved": 0,
        "remaining": 5,
    }
    cid = await conversation(client)
    for content in ("a", "b"):
        r = await client.post(
            f"/conversations/{cid}/messages", json={"content": content}, headers=as_user()
        )
        assert r.status_code == 200
    spent = price(100, 10) + price(200, 20)
    q = await quota(client)
    assert q["window_s"] == 600
    assert {k: q["user_turns"][k] for k in ("limit", "used", "reserved", "remaining")} == {
        "limit": 5,
        "used": 2,
        "reserved": 0,
        "remaining": 3,
    }
    assert {k: q["tenant_turns"][k] for k in ("limit", "used", "remaining")} == {
        "limit": 50,
        "used": 2,
        "remaining": 48,
    }
    assert {k: q["user_cost_micros"][k] for k in ("limit", "used", "reserved", "remaining")} == {
        "limit": 1_000_000,
        "used": spent,
        "reserved": 0,
        "remaining": 1_000_000 - spent,
    }
    assert q["tenant_cost_micros"]["used"] == spent
    assert q["tenant_cost_micros"]["remaining"] == 9_000_000 - spent
    from datetime import datetime

    now = datetime.now().astimezone()
    for bucket in ("user_turns", "tenant_turns", "user_cost_micros", "tenant_cost_micros"):
        resets = datetime.fromisoformat(q[bucket]["resets_at"])
        assert resets > now
    turns_reset = datetime.fromisoformat(q["user_turns"]["resets_at"])
    assert (turns_reset - now).total_seconds() <= 600
    # Another user sees their own buckets, and the tenant's shared ones.
    other = await quota(client, as_user(user="u2"))
    assert other["user_turns"]["used"] == 0 and other["tenant_turns"]["used"] == 2
    assert (await client.get("/quota")).status_code == 401


async def test_quota_shows_the_hold_while_a_turn_streams(
    supportai_app: Any, supportai_client: Any
) -> None:
    from supportai.pipeline.budget import worst_case_cost

    gate = asyncio.Event()
    backend = ScriptedBackend([[gate.wait, *ScriptedBackend.answer("ok", usage=(10, 1))]])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = await conversation(client)
    task = asyncio.create_task(
        client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=as_user())
    )
    for _ in range(500):
        if backend.requests:
            break
        await asyncio.sleep(0.01)
    during = await quota(client)
    assert during["user_turns"]["reserved"] == 1
    assert during["user_cost_micros"]["reserved"] == worst_case_cost(app.state.supportai, "hi")
    gate.set()
    assert (await task).status_code == 200
    after = await quota(client)
    assert after["user_turns"] == {**after["user_turns"], "used": 1, "reserved": 0}
    assert after["user_cost_micros"]["reserved"] == 0
    assert after["user_cost_micros"]["used"] == price(10, 1)


class QuarterTokens(ScriptedBackend):
    """A backend that declares its tokenizer: a token per four characters, rounded up."""

    @staticmethod
    def count_tokens(text: str) -> int:
        return -(-len(text) // 4)


def long_script(pieces: int) -> list[Any]:
    return [*(TextDelta("x" * 99 + " ") for _ in range(pieces)), Usage(1, 25 * pieces), Finish()]


async def test_the_output_bound_counts_with_the_backends_own_tokenizer(
    supportai_app: Any, supportai_client: Any
) -> None:
    """3,000 characters are 750 tokens for a backend that says so: within 1,000 tokens.

    Without a declared tokenizer core assumes a token per character (issue 13) and
    stops before the delta that would pass 1,000, with finish reason ``budget``.
    """
    for backend, finish, chars in (
        (QuarterTokens([long_script(30)]), "stop", 3000),
        (ScriptedBackend([long_script(30)]), "budget", 1000),
    ):
        app = supportai_app(
            plugins=[backend_plugin(backend)], llm_backend="scripted", max_output_tokens=1000
        )
        client = supportai_client(app)
        cid = await conversation(client)
        r = await client.post(
            f"/conversations/{cid}/messages", json={"content": "hi"}, headers=as_user()
        )
        body = r.json()
        assert (body["finish_reason"], len(body["content"])) == (finish, chars)
        assert body["status"] == "complete"
        assert (await messages_of(app, cid))[-1]["content"] == body["content"]
