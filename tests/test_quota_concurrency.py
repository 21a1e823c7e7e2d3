"""Concurrent turns against one budget: the reservation is atomic, so a cap that fits
ten worst-case turns admits exactly ten of fifty simultaneous ones, and the settled
spend never exceeds the cap. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa

from supportai.caller import Caller
from supportai.llm import Finish, TextDelta, Usage
from supportai.pipeline.budget import reservation_tokens, worst_case_cost
from supportai.quota.base import QuotaDenied
from supportai.quota.sql import SQLQuotaStore
from supportai.settings import Settings
from supportai.store import tables
from supportai.testing import ScriptedBackend, as_user, backend_plugin

TURNS = 50
ADMITTED = 10
CONTENT = "How do I export my data?"


def full_cost_backend(settings_budget: int, max_output: int) -> ScriptedBackend:
    """Reports exactly the worst-case tokens of a no-tool turn: settling frees nothing,
    so the outcome cannot depend on how the turns interleave."""
    settings = Settings(history_char_budget=settings_budget, max_output_tokens=max_output)
    input_tokens, _ = reservation_tokens(settings, CONTENT, 0)
    return ScriptedBackend(
        [
            [
                TextDelta("Open Settings, then Export."),
                Usage(input_tokens, max_output),
                Finish("stop"),
            ]
        ]
    )


async def test_fifty_simultaneous_turns_admit_exactly_ten(
    supportai_app: Any, supportai_client: Any
) -> None:
    common = {
        "llm_backend": "scripted",
        "tool_max_rounds": 0,
        "max_output_tokens": 256,
        "history_char_budget": 2000,
        "rate_limit_user_turns": 1000,
        "rate_limit_tenant_turns": 1000,
    }
    backend = full_cost_backend(2000, 256)
    probe = supportai_app(plugins=[backend_plugin(backend)], **common)
    worst = worst_case_cost(probe.state.supportai, CONTENT)
    cap = ADMITTED * worst + worst - 1  # room for ten, not eleven
    app = supportai_app(plugins=[backend_plugin(backend)], user_daily_cost_cap_micros=cap, **common)
    client = supportai_client(app)
    conversations = []
    for _ in range(TURNS):
        r = await client.post("/conversations", json={}, headers=as_user())
        conversations.append(r.json()["conversation_id"])

    responses = await asyncio.gather(
        *(
            client.post(
                f"/conversations/{cid}/messages", json={"content": CONTENT}, headers=as_user()
            )
            for cid in conversations
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * ADMITTED + [429] * (TURNS - ADMITTED), statuses
    for r in responses:
        if r.status_code == 429:
            assert r.json()["reason"] == "cost_cap_exceeded"
            assert int(r.headers["retry-after"]) >= 1
        else:
            assert r.json()["status"] == "complete"
            assert r.json()["usage"]["cost_micros"] == worst
    assert len(backend.requests) == ADMITTED

    async with app.state.supportai.database.connection() as conn:
        spent = await conn.fetch_val(sa.select(sa.func.sum(tables.usage.c.cost_micros)))
        assistants = await conn.fetch_val(
            sa.select(sa.func.count())
            .select_from(tables.messages)
            .where(tables.messages.c.role == "assistant")
        )
    assert assistants == ADMITTED
    assert spent == ADMITTED * worst <= cap
    q = (await client.get("/quota", headers=as_user())).json()
    assert q["user_cost_micros"]["used"] == spent
    assert q["user_cost_micros"]["reserved"] == 0
    assert q["user_turns"]["used"] == ADMITTED


async def test_fifty_simultaneous_turns_with_cheap_answers_never_overspend(
    supportai_app: Any, supportai_client: Any
) -> None:
    """Answers far cheaper than the worst case: admitted turns are held open until all
    fifty requests were decided, so exactly ten fit; afterwards the spend is tiny."""
    gate = asyncio.Event()
    backend = ScriptedBackend([[gate.wait, TextDelta("ok"), Usage(10, 2), Finish("stop")]])
    common = {
        "llm_backend": "scripted",
        "rate_limit_user_turns": 1000,
        "rate_limit_tenant_turns": 1000,
    }
    probe = supportai_app(plugins=[backend_plugin(backend)], **common)
    worst = worst_case_cost(probe.state.supportai, CONTENT)
    cap = ADMITTED * worst
    app = supportai_app(plugins=[backend_plugin(backend)], user_daily_cost_cap_micros=cap, **common)
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    tasks = [
        asyncio.create_task(
            client.post(
                f"/conversations/{cid}/messages", json={"content": CONTENT}, headers=as_user()
            )
        )
        for _ in range(TURNS)
    ]
    deadline = time.monotonic() + 60
    while sum(t.done() for t in tasks) < TURNS - ADMITTED:
        assert time.monotonic() < deadline, "denials did not arrive"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert sum(t.done() for t in tasks) == TURNS - ADMITTED  # the ten are still streaming
    q = (await client.get("/quota", headers=as_user())).json()
    assert q["user_cost_micros"]["reserved"] == cap
    assert q["user_cost_micros"]["remaining"] == 0
    gate.set()
    responses = await asyncio.gather(*tasks)
    assert sorted(r.status_code for r in responses) == [200] * ADMITTED + [429] * 40
    q = (await client.get("/quota", headers=as_user())).json()
    assert q["user_cost_micros"]["used"] == ADMITTED * 14  # 10*1 + 2*2 micros each
    assert q["user_cost_micros"]["reserved"] == 0


async def test_fifty_simultaneous_turns_respect_the_rate_limit(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = ScriptedBackend([ScriptedBackend.answer("ok")])
    app = supportai_app(
        plugins=[backend_plugin(backend)],
        llm_backend="scripted",
        rate_limit_user_turns=ADMITTED,
        rate_limit_window_s=3600,
    )
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    responses = await asyncio.gather(
        *(
            client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=as_user())
            for _ in range(TURNS)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * ADMITTED + [429] * 40
    assert {r.json()["reason"] for r in responses if r.status_code == 429} == {"rate_limited"}
    q = (await client.get("/quota", headers=as_user())).json()
    assert q["user_turns"]["used"] == ADMITTED and q["user_turns"]["reserved"] == 0


async def test_store_level_race_admits_exactly_the_cap(supportai_app: Any) -> None:
    """Fifty reservations raced straight against the SQL store, then settled at full cost."""
    app = supportai_app(
        user_daily_cost_cap_micros=10_000, rate_limit_user_turns=1000, rate_limit_tenant_turns=1000
    )
    runtime = app.state.supportai
    await runtime.start()
    store = runtime.quota
    assert isinstance(store, SQLQuotaStore)
    caller = Caller("t1", "u1")
    now = time.time()

    async def attempt() -> bool:
        try:
            reservation = await store.reserve(caller, 1_000, now)
        except QuotaDenied as denied:
            assert denied.reason == "cost_cap_exceeded"
            return False
        await store.settle(reservation, 1_000)
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(TURNS)))
    assert outcomes.count(True) == ADMITTED
    status = {b.kind: b for b in (await store.status(caller, now)).buckets}
    assert status["user_cost"].used == 10_000 and status["user_cost"].reserved == 0
    assert status["user_turns"].used == ADMITTED
