"""The money and state promises under faults (issue 13), one test per scenario 1-9.

Every money scenario checks the same three things, on the SQL store (SQLite and
PostgreSQL) and, where the store matters, on the Redis store:

* **the invariant**, sampled all along: recorded spend + outstanding holds <= cap;
* **the ledger**: after the fault healed (and the sweep ran), recorded spend equals
  the sum of the usage rows, and nothing is left reserved;
* **the typed outcome** the client got, and no idempotency key left stuck.

Each test prints a ``FIGURE`` line (``pytest -s``) with what it measured: the
figures before and after the change are in the closing note of issue 13 and in
``docs/operations.md``. Time is bounded by short reservation TTLs (2 s).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import egress_guard
import httpx
import pytest
import sqlalchemy as sa
import test_faults as faults
import test_overspend_burst as bursts
from fault_services import own_postgres, own_redis, pause_redis

from supportai.caller import Caller
from supportai.llm import BackendRequest, Finish, TextDelta, ToolCallRequest, Usage
from supportai.pipeline.budget import worst_case_cost
from supportai.settings import Settings
from supportai.store import tables
from supportai.testing import as_admin, as_user, backend_plugin, parse_sse
from supportai.tools import Tool, ToolContext

USER = as_user("t1", "u1")
SSE = {**USER, "accept": "text/event-stream"}
CALLER = Caller("t1", "u1")
TTL = 2
MONEY: dict[str, Any] = {
    "llm_backend": "scripted",
    "tool_max_rounds": 0,
    "max_output_tokens": 100,
    "history_char_budget": 200,
    "rate_limit_user_turns": 1000,
    "rate_limit_tenant_turns": 1000,
    "reservation_ttl_s": TTL,
}


def figure(scenario: str, **values: Any) -> None:
    print(f"\nFIGURE {scenario}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


class ByContent:
    """A backend whose script depends on the user's message: ``slow...`` trickles
    (a delta every ``gap`` s for ``pieces`` deltas), anything else answers at once.
    Both report ``usage`` at the end: the real cost the provider bills."""

    name = "scripted"
    model = "scripted-model"

    def __init__(self, usage: Usage, gap: float = 0.25, pieces: int = 14) -> None:
        self.usage, self.gap, self.pieces = usage, gap, pieces
        self.hook: Callable[[], Any] | None = None
        self.requests: list[BackendRequest] = []
        self.billed_turns = 0  # turns whose usage the provider reported (and billed)

    async def stream(self, request: BackendRequest) -> AsyncIterator[Any]:
        self.requests.append(request)
        text = request.messages[-1].content
        if text.startswith("slow"):
            for _ in range(self.pieces):
                yield TextDelta("tick ")
                await asyncio.sleep(self.gap)
        else:
            yield TextDelta("Done.")
        if self.hook is not None:
            await self.hook()
        self.billed_turns += 1
        yield self.usage
        yield Finish("stop")


async def sum_ledger(app: Any) -> int:
    u = tables.usage
    rows = await faults.db_rows(
        app, sa.select(sa.func.coalesce(sa.func.sum(u.c.cost_micros), 0).label("s"))
    )
    return int(rows[0]["s"])


@asynccontextmanager
async def invariant_sampler(app: Any, cap: int) -> AsyncIterator[list[int]]:
    """Samples used + reserved of the user's cost bucket every 20 ms; yields the peaks."""
    peaks: list[int] = [0]
    stop = asyncio.Event()

    async def sample() -> None:
        store = app.state.supportai.quota
        while not stop.is_set():
            try:
                status = await store.status(CALLER, time.time())
            except Exception:
                pass  # the store may be down on purpose
            else:
                cost = next(b for b in status.buckets if b.kind == "user_cost")
                peaks.append(cost.used + cost.reserved)
            await asyncio.sleep(0.02)

    task = asyncio.create_task(sample())
    try:
        yield peaks
    finally:
        stop.set()
        await task


async def money_app(
    supportai_app: Any, base: Settings, backend: Any, turns_fit: int, **settings: Any
) -> tuple[Any, int]:
    """An app whose cap fits ``turns_fit`` worst-case turns and not one more."""
    entry_points = bool(settings.pop("_load_entry_points", False))
    configured = base.model_copy(update={**MONEY, **settings})
    probe = supportai_app(
        configured, plugins=[backend_plugin(backend)], load_entry_points=entry_points
    )
    worst = worst_case_cost(probe.state.supportai, "slow turn")
    cap = turns_fit * worst + worst - 1
    app = supportai_app(
        configured.model_copy(update={"user_daily_cost_cap_micros": cap}),
        plugins=[backend_plugin(backend)],
        load_entry_points=entry_points,
    )
    return app, cap


def lenient_client(app: Any) -> httpx.AsyncClient:
    """Unhandled exceptions become responses, as they do behind a real server."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://testserver",
    )


async def quota_of(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/quota", headers=USER)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def new_conversation(client: httpx.AsyncClient, headers: dict[str, str] = USER) -> int:
    r = await client.post("/conversations", json={}, headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["conversation_id"])


async def healed(app: Any, client: httpx.AsyncClient, cap: int) -> tuple[int, int]:
    """Run the sweep past every expiry, then check ledger == spend and nothing reserved."""
    runtime = app.state.supportai
    heal = getattr(runtime, "heal_quota", None)  # the sweep: outbox, then expired holds
    if heal is not None:
        await heal(time.time() + 10 * TTL)
    else:  # before issue 13
        await runtime.quota.release_expired(time.time() + 10 * TTL)
    quota = await quota_of(client)
    ledger = await sum_ledger(app)
    used = quota["user_cost_micros"]["used"]
    return used, ledger


def redis_settings(url: str, prefix: str) -> dict[str, Any]:
    return {
        "plugins": ["redis"],
        "quota_store": "redis",
        "plugin_options": {
            "redis": {
                "url": url,
                "key_prefix": prefix,
                "socket_timeout_s": 0.3,
                "socket_connect_timeout_s": 0.3,
                "retries": 0,
            }
        },
    }


# -- 1. a turn that outlives the reservation TTL ------------------------------------------


@pytest.mark.parametrize("store", ["sql", "redis"])
async def test_1_slow_turn_outliving_the_ttl_never_overspends(
    supportai_app: Any,
    supportai_client: Any,
    supportai_settings: Settings,
    engine: str,
    store: str,
    tmp_path: Path,
) -> None:
    if store == "redis" and engine != "sqlite":
        pytest.skip("the Redis store does not depend on the database engine")
    probe_backend = ByContent(Usage(0, 0))
    probe = supportai_app(plugins=[backend_plugin(probe_backend)], **MONEY)
    worst = worst_case_cost(probe.state.supportai, "slow turn")
    # The provider bills the worst case for every turn, slow or quick.
    async with _maybe_redis(store, tmp_path) as extra:
        backend = ByContent(_usage_costing(probe.state.supportai, worst))
        app, cap = await money_app(supportai_app, supportai_settings, backend, 2, **extra)
        client = supportai_client(app)
        cids = [await new_conversation(client) for _ in range(4)]
        async with invariant_sampler(app, cap) as peaks:
            slow = [
                asyncio.create_task(
                    client.post(
                        f"/conversations/{cid}/messages",
                        json={"content": "slow turn"},
                        headers=USER,
                    )
                )
                for cid in cids[:2]
            ]
            await asyncio.sleep(TTL + 0.4)
            await app.state.supportai.quota.release_expired(time.time())
            quick = [
                await client.post(
                    f"/conversations/{cid}/messages", json={"content": "quick"}, headers=USER
                )
                for cid in cids[2:]
            ]
            slow_done = await asyncio.gather(*slow)
        used, ledger = await healed(app, client, cap)
        admitted = sum(r.status_code == 200 for r in [*slow_done, *quick])
        figure(
            f"1 slow turn ({store}/{engine})",
            admitted=admitted,
            spent_pct_of_cap=round(100 * ledger / cap),
            peak_pct_of_cap=round(100 * max(peaks) / cap),
            used=used,
            ledger=ledger,
            slow_finish=[r.json().get("finish_reason") for r in slow_done],
        )
        assert max(peaks) <= cap
        assert used == ledger <= cap
        for r in slow_done:
            assert r.status_code == 200 and r.json()["finish_reason"] == "max_duration", r.text
        assert all(r.status_code in (200, 429) for r in quick)
        quota = await quota_of(client)
        assert quota["user_cost_micros"]["reserved"] == 0
    egress_guard.count("faults")


def _usage_costing(runtime: Any, micros: int) -> Usage:
    """Usage whose price is ``micros`` (all of it output tokens at the default price)."""
    price = runtime.settings.price_for("scripted-model")
    tokens = micros * 1000 // price.output_per_1k_micros
    return Usage(0, tokens)


@asynccontextmanager
async def _maybe_redis(store: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    if store != "redis":
        yield {}
        return
    pytest.importorskip("supportai_redis")
    async with own_redis(tmp_path) as url:
        yield {
            **redis_settings(url, f"faults-{uuid.uuid4().hex[:6]}:"),
            "_load_entry_points": True,
        }


# -- 2. settle cannot reach the store ------------------------------------------------------


@pytest.mark.parametrize("store", ["sql", "redis"])
async def test_2_settle_while_the_store_is_unreachable_is_recorded(
    supportai_app: Any,
    supportai_client: Any,
    supportai_settings: Settings,
    engine: str,
    store: str,
    tmp_path: Path,
) -> None:
    if store == "redis" and engine != "sqlite":
        pytest.skip("the Redis store does not depend on the database engine")
    async with _maybe_redis(store, tmp_path) as extra:
        probe = supportai_app(plugins=[backend_plugin(ByContent(Usage(0, 0)))], **MONEY)
        worst = worst_case_cost(probe.state.supportai, "slow turn")
        backend = ByContent(_usage_costing(probe.state.supportai, worst // 2))
        app, cap = await money_app(supportai_app, supportai_settings, backend, 2, **extra)
        client = lenient_client(app)
        cids = [await new_conversation(client) for _ in range(4)]
        await quota_of(client)  # connects the store
        outage_s = TTL + 1.5
        if store == "redis":
            url = extra["plugin_options"]["redis"]["url"]

            async def hook() -> None:
                backend.hook = None
                await pause_redis(url, outage_s)
        else:
            hook = _database_outage_hook(app, backend, outage_s)
        backend.hook = hook
        async with invariant_sampler(app, cap) as peaks:
            first = await asyncio.gather(
                *(
                    client.post(
                        f"/conversations/{cid}/messages", json={"content": "quick"}, headers=USER
                    )
                    for cid in cids[:2]
                )
            )
            await asyncio.sleep(outage_s + 0.3)
            await app.state.supportai.quota.release_expired(time.time())
            later = [
                await client.post(
                    f"/conversations/{cid}/messages", json={"content": "quick"}, headers=USER
                )
                for cid in cids[2:]
            ]
        used, ledger = await healed(app, client, cap)
        price = app.state.supportai.settings.price_for("scripted-model")
        billed = backend.billed_turns * price.cost_micros(
            backend.usage.input_tokens, backend.usage.output_tokens
        )
        figure(
            f"2 settle unreachable ({store}/{engine})",
            billed=billed,
            first=[r.status_code for r in first],
            later=[r.status_code for r in later],
            quota_used=used,
            ledger=ledger,
            spent_pct_of_cap=round(100 * ledger / cap),
            peak_pct_of_cap=round(100 * max(peaks) / cap),
        )
        assert used == ledger == billed <= cap
        assert max(peaks) <= cap
        assert (await quota_of(client))["user_cost_micros"]["reserved"] == 0
    await client.aclose()
    egress_guard.count("faults")


async def test_2_a_turn_the_outage_ends_before_the_model_costs_nothing(
    supportai_app: Any, supportai_settings: Settings, engine: str
) -> None:
    """The database goes away right after the hold is taken: the request is a typed 503,
    the release is retried until the database is back, and a hold the sweep charged in
    full meanwhile is settled at zero: no charge for work not done."""
    backend = ByContent(Usage(10, 10))
    app, cap = await money_app(supportai_app, supportai_settings, backend, 2)
    client = lenient_client(app)
    cid = await new_conversation(client)
    runtime = app.state.supportai
    reserve = runtime.quota.reserve

    async def reserve_then_outage(*args: Any) -> Any:
        reservation = await reserve(*args)
        _start_outage(app, 0.5)
        return reservation

    runtime.quota.reserve = reserve_then_outage
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "quick"}, headers=USER)
    runtime.quota.reserve = reserve
    assert r.status_code == 503 and r.json()["reason"] == "storage_unavailable", r.text
    await asyncio.sleep(0.6)
    await runtime.quota.release_expired(time.time() + 10 * TTL)  # the sweep, lease lapsed
    used, ledger = await healed(app, client, cap)
    quota = await quota_of(client)
    assert backend.billed_turns == 0
    assert used == ledger == 0
    assert quota["user_cost_micros"]["reserved"] == 0


def _database_outage_hook(app: Any, backend: ByContent, seconds: float) -> Callable[[], Any]:
    """The app database refuses connections for ``seconds`` from the first call on."""

    async def hook() -> None:
        backend.hook = None
        _start_outage(app, seconds)

    return hook


def _start_outage(app: Any, seconds: float) -> None:
    """Every new database connection is refused for ``seconds`` (the driver's error)."""
    backend = app.state.supportai.database._db._backend
    real = backend.connection
    until = time.monotonic() + seconds

    async def refuse() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('10.1.2.3', 5432)")

    def connection() -> Any:
        inner = real()
        if time.monotonic() < until:
            inner.acquire = refuse
        return inner

    backend.connection = connection


# -- 3. the worst-case reservation is an upper bound ---------------------------------------


async def big_tool(context: ToolContext, arguments: dict[str, Any]) -> Any:
    return {"rows": "記" * 20_000}


class OneTokenPerChar:
    """Bills one token per character sent and received; asks for a tool every round
    but the last; answers in CJK."""

    name = "scripted"
    model = "scripted-model"

    def __init__(self) -> None:
        self.billed = Usage(0, 0)

    async def stream(self, request: BackendRequest) -> AsyncIterator[Any]:
        sent = sum(len(m.content) for m in request.messages)
        sent += sum(len(d.text) for d in request.context)
        if request.tools:
            call = ToolCallRequest(f"c{sent}", "big", {})
            out = len("big") + len(json.dumps(call.arguments))
            yield call
            usage = Usage(sent, out)
        else:
            text = "答" * request.max_output_tokens
            yield TextDelta(text)
            usage = Usage(sent, len(text))
        self.billed = Usage(
            self.billed.input_tokens + usage.input_tokens,
            self.billed.output_tokens + usage.output_tokens,
        )
        yield usage
        yield Finish("tool_calls" if request.tools else "stop")


async def test_3_reservation_bounds_cjk_text_and_big_tool_results(
    supportai_app: Any, supportai_client: Any
) -> None:
    backend = OneTokenPerChar()
    settings = {**MONEY, "tool_max_rounds": 3, "max_output_tokens": 300}
    app = supportai_app(
        plugins=[
            backend_plugin(backend),
            faults.tools_plugin([Tool("big", "20k chars", big_tool)]),
        ],
        **settings,
    )
    client = supportai_client(app)
    cid = await new_conversation(client)
    content = "請幫我查一下訂單" * 50
    reserved = worst_case_cost(app.state.supportai, content)
    r = await client.post(f"/conversations/{cid}/messages", json={"content": content}, headers=USER)
    assert r.status_code == 200, r.text
    body = r.json()
    billed = app.state.supportai.settings.price_for("scripted-model").cost_micros(
        backend.billed.input_tokens, backend.billed.output_tokens
    )
    figure(
        "3 reservation bound",
        reserved=reserved,
        billed=billed,
        billed_pct_of_reservation=round(100 * billed / reserved),
        finish_reason=body["finish_reason"],
    )
    assert billed <= reserved
    assert body["usage"]["cost_micros"] == billed
    assert body["finish_reason"] == "budget"
    quota = await quota_of(client)
    assert quota["user_cost_micros"]["used"] == await sum_ledger(app) == billed
    egress_guard.count("faults")


# -- 4. kill -9 of the worker serving a turn with an idempotency key -----------------------


async def test_4_killed_worker_leaves_no_stuck_idempotency_key(
    supportai_app: Any, supportai_client: Any, database_url: str, tmp_path: Path
) -> None:
    from supportai.app import create_app

    settings = Settings(
        database_url=database_url, disclosure_required=False, auto_migrate=True, **MONEY
    )
    migrator = create_app(
        settings.model_copy(update={"llm_backend": None}), load_entry_points=False
    )
    await migrator.state.supportai.start()
    await migrator.state.supportai.stop()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(bursts.TESTS), os.environ.get("PYTHONPATH", "")]),
        "SUPPORTAI_DATABASE_URL": database_url,
        "SUPPORTAI_AUTO_MIGRATE": "false",
        "SUPPORTAI_DISCLOSURE_REQUIRED": "false",
        "BURST_LOG_DIR": str(tmp_path),
        "FAULT_APP": "hang",
        **{f"SUPPORTAI_{k.upper()}": str(v) for k, v in MONEY.items()},
    }
    key = "retry-" + uuid.uuid4().hex
    workers = bursts.start_workers(env, 1, app="fault_app:create")
    urls = await anext(workers)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            cid = (await http.post(urls[0] + "/conversations", json={}, headers=USER)).json()[
                "conversation_id"
            ]
            async with http.stream(
                "POST",
                f"{urls[0]}/conversations/{cid}/messages",
                json={"content": "hello", "idempotency_key": key},
                headers=SSE,
            ) as stream:
                async for chunk in stream.aiter_text():
                    if "delta" in chunk:
                        break
                os.kill(worker_pid(tmp_path), signal.SIGKILL)
    finally:
        await workers.aclose()

    backend = ByContent(Usage(5, 5))
    app = supportai_app(
        settings.model_copy(update={"auto_migrate": False}), plugins=[backend_plugin(backend)]
    )
    client = supportai_client(app)
    retry = {"content": "hello", "idempotency_key": key}
    path = f"/conversations/{cid}/messages"
    at_once = await client.post(path, json=retry, headers=USER)
    await asyncio.sleep(TTL + 0.5)
    after_ttl = await client.post(path, json=retry, headers=USER)
    again = await client.post(path, json=retry, headers=USER)
    replay = await client.post(path, json=retry, headers=USER)
    used, ledger = await healed(app, client, 10**12)
    figure(
        f"4 kill -9 ({'sqlite' if 'sqlite' in database_url else 'postgresql'})",
        at_once=f"{at_once.status_code} {at_once.json().get('reason')}",
        after_ttl=f"{after_ttl.status_code} {after_ttl.json().get('reason')}",
        again=f"{again.status_code} {again.json().get('status') or again.json().get('reason')}",
        replay=replay.json().get("replayed"),
        used=used,
        ledger=ledger,
    )
    assert at_once.status_code == 409 and at_once.json()["reason"] == "duplicate_request"
    assert after_ttl.status_code == 409 and after_ttl.json()["reason"] == "turn_interrupted"
    assert "retry_after_s" not in after_ttl.json() or after_ttl.headers.get("Retry-After")
    assert again.status_code == 200 and again.json()["status"] == "complete", again.text
    assert replay.json()["replayed"] is True
    assert replay.json()["assistant_message_id"] == again.json()["assistant_message_id"]
    assert used == ledger
    assert (await quota_of(client))["user_cost_micros"]["reserved"] == 0
    egress_guard.count("faults")


def worker_pid(log_dir: Path) -> int:
    """The pid ``fault_app`` wrote at start-up."""
    return int((log_dir / "worker.pid").read_text())


# -- 5. database outage: a typed, retryable 503 on every endpoint ---------------------------

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
    ("get", "/conversations", None, USER),
    ("post", "/conversations", {}, USER),
    ("get", "/conversations/1", None, USER),
    ("get", "/cases/1", None, USER),
    ("post", "/conversations/1/messages", {"content": "hi"}, USER),
    ("post", "/conversations/1/messages", {"content": "hi"}, SSE),
    ("delete", "/conversations/1", None, USER),
    ("post", "/conversations/1/escalate", {}, USER),
    ("post", "/conversations/1/feedback", {"helpful": True}, USER),
    ("get", "/quota", None, USER),
    ("get", "/disclosure/status", None, USER),
    ("post", "/disclosure/accept", {"version": "v1"}, USER),
    ("get", "/cases", None, USER),
    ("post", "/cases", {"subject": "s", "description": "d"}, USER),
    ("get", "/cases/1", None, USER),
    ("get", "/admin/candidates", None, as_admin()),
    ("post", "/admin/candidates/1/approve", {}, as_admin()),
    ("get", "/admin/conversations", None, as_admin()),
    ("get", "/admin/cases", None, as_admin()),
    ("get", "/admin/audit-events", None, as_admin()),
]


async def test_5_database_outage_is_a_typed_503_everywhere(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = supportai_app(plugins=[backend_plugin(ByContent(Usage(1, 1)))], **MONEY)
    client = lenient_client(app)
    await new_conversation(client)
    _start_outage(app, 60)
    outcomes: dict[str, int] = {}
    responses = []
    started = time.monotonic()
    for method, path, body, headers in ENDPOINTS:
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        r = await asyncio.wait_for(client.request(method.upper(), path, **kwargs), 10)
        responses.append((method, path, r))
        outcome = f"{r.status_code} {r.text[:50]}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    elapsed = time.monotonic() - started
    await client.aclose()
    figure(
        "5 database outage", requests=len(ENDPOINTS), outcomes=outcomes, seconds=round(elapsed, 2)
    )
    for method, path, r in responses:
        assert r.status_code == 503, (method, path, r.text)
        assert r.json()["reason"] == "storage_unavailable", r.text
        assert int(r.headers["Retry-After"]) >= 1
        assert "10.1.2.3" not in r.text and "Connect call" not in r.text
    egress_guard.count("faults")


async def test_5_database_refusing_connections_from_the_start(
    supportai_app: Any, supportai_client: Any
) -> None:
    from fault_services import free_port

    from supportai.app import create_app

    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app(
        Settings(database_url=url, disclosure_required=False, auto_migrate=False),
        load_entry_points=False,
    )
    client = supportai_client(app)
    started = time.monotonic()
    r = await asyncio.wait_for(client.get("/conversations", headers=USER), 20)
    figure("5 database down at start", status=r.status_code, reason=r.json().get("reason"))
    assert r.status_code == 503 and r.json()["reason"] == "storage_unavailable", r.text
    assert "127.0.0.1" not in r.text
    assert time.monotonic() - started < 15
    await app.state.supportai.stop()


async def test_5_a_real_postgres_stopped_mid_turn_then_started_again(
    supportai_app: Any, engine: str
) -> None:
    """Our own PostgreSQL, stopped (``pg_ctl stop -m immediate``) while an answer streams:
    the turn ends honestly, every request meanwhile is a typed 503, and once the server
    is back the spend is recorded: recorded spend == ledger == what the model billed."""
    if engine != "postgresql":
        pytest.skip("a database server outage; SQLite has no server to stop")
    async with own_postgres() as server:
        settings = Settings(
            database_url=server.url,
            disclosure_required=False,
            auto_migrate=True,
            storage_timeout_s=2,
            **{**MONEY, "reservation_ttl_s": 60},
        )
        backend = ByContent(Usage(40, 30))
        app = supportai_app(settings, plugins=[backend_plugin(backend)])
        client = lenient_client(app)
        cid = await new_conversation(client)

        async def stop() -> None:
            backend.hook = None
            await asyncio.to_thread(server.stop)

        backend.hook = stop
        r = await client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=SSE)
        events = parse_sse(r.text)
        completed = events[-1][1]
        started = time.monotonic()
        down = [
            await client.get("/conversations", headers=USER),
            await client.get("/quota", headers=USER),
            await client.post(
                f"/conversations/{cid}/messages", json={"content": "x"}, headers=USER
            ),
        ]
        down_s = time.monotonic() - started
        await asyncio.to_thread(server.start)
        for _ in range(50):  # the pool replaces the connections the restart killed
            if (await client.get("/conversations", headers=USER)).status_code == 200:
                break
            await asyncio.sleep(0.2)
        used, ledger = await healed(app, client, 10**12)
        price = settings.price_for("scripted-model")
        billed = backend.billed_turns * price.cost_micros(40, 30)
        figure(
            "5 real PostgreSQL stopped mid-turn",
            turn=f"{completed['status']} {[d['reason'] for n, d in events if n == 'error']}",
            while_down=[f"{x.status_code} {x.json().get('reason')}" for x in down],
            down_seconds=round(down_s, 2),
            used=used,
            ledger=ledger,
            billed=billed,
        )
        assert completed["status"] == "error" and completed["message_id"] is None
        assert [d["reason"] for n, d in events if n == "error"] == ["answer_not_saved"]
        for response in down:
            assert response.status_code == 503, response.text
            assert response.json()["reason"] == "storage_unavailable"
            assert response.headers["Retry-After"] == "5"
            assert str(server.port) not in response.text
        assert down_s < 3 * 2 + 1  # each request within about storage_timeout_s
        assert used == ledger == billed > 0
        assert (await quota_of(client))["user_cost_micros"]["reserved"] == 0
        await client.aclose()
    egress_guard.count("faults")


# -- 6. honest endings: an answer that was not saved is never "complete" -------------------


@pytest.mark.parametrize("fault", ["database down", "conversation deleted"])
async def test_6_an_unsaved_answer_never_ends_complete(
    supportai_app: Any, supportai_client: Any, fault: str
) -> None:
    backend = ByContent(Usage(40, 30))
    app = supportai_app(plugins=[backend_plugin(backend)], **{**MONEY, "reservation_ttl_s": 60})
    client = supportai_client(app)
    cid = await new_conversation(client)
    if fault == "database down":
        backend.hook = _database_outage_hook(app, backend, 1.0)
    else:

        async def delete() -> None:
            backend.hook = None
            r = await client.delete(f"/conversations/{cid}", headers=USER)
            assert r.status_code in (200, 204), r.text

        backend.hook = delete
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=SSE)
    events = parse_sse(r.text)
    completed = events[-1][1]
    errors = [d for n, d in events if n == "error"]
    await asyncio.sleep(1.2)
    used, ledger = await healed(app, client, 10**12)
    figure(
        f"6 unsaved answer ({fault})",
        status=completed["status"],
        message_id=completed["message_id"],
        errors=[e["reason"] for e in errors],
        used=used,
        ledger=ledger,
    )
    assert completed["message_id"] is None
    assert completed["status"] in ("error", "interrupted")
    assert [e["reason"] for e in errors] == ["answer_not_saved"]
    assert used == ledger == completed["cost_micros"] > 0
    egress_guard.count("faults")


# -- 7. an idempotency key reused with a different body ------------------------------------


async def test_7_reused_key_with_another_body_is_a_typed_422(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = supportai_app(plugins=[backend_plugin(ByContent(Usage(3, 3)))], **MONEY)
    client = supportai_client(app)
    cid = await new_conversation(client)
    path = f"/conversations/{cid}/messages"
    first = await client.post(path, json={"content": "one", "idempotency_key": "k1"}, headers=USER)
    same = await client.post(path, json={"content": "one", "idempotency_key": "k1"}, headers=USER)
    other = await client.post(path, json={"content": "two", "idempotency_key": "k1"}, headers=USER)
    figure(
        "7 key reuse",
        same=same.status_code,
        other=f"{other.status_code} {other.json().get('reason')}",
    )
    assert first.status_code == same.status_code == 200
    assert same.json()["replayed"] is True
    assert other.status_code == 422 and other.json()["reason"] == "idempotency_key_reused"
    messages = (await client.get(f"/conversations/{cid}", headers=USER)).json()["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["one"]
    egress_guard.count("faults")


# -- 8. concurrent approve/reject of one training candidate --------------------------------


async def test_8_concurrent_reviews_keep_the_audit_chain(
    supportai_app: Any, supportai_client: Any
) -> None:
    from improvement_support import chat, feedback, loop_app

    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, _ = await chat(client, USER)
    response = await feedback(client, USER, cid, helpful=False, comment="wrong")
    candidate = int(response.json()["training_candidate_id"])
    admin = as_admin("t1", "root")
    calls = [
        client.post(f"/admin/candidates/{candidate}/approve", json={"note": f"a{i}"}, headers=admin)
        for i in range(10)
    ] + [
        client.post(
            f"/admin/candidates/{candidate}/reject", json={"reason": f"r{i}"}, headers=admin
        )
        for i in range(10)
    ]
    results = await asyncio.gather(*calls)
    statuses = [r.status_code for r in results]
    A = tables.audit_events
    events = await faults.db_rows(
        app, sa.select(A).where(A.c.target_type == "candidate").order_by(A.c.id)
    )
    breaks = sum(
        1
        for before, after in itertools.pairwise(events)
        if after["before_status"] != before["after_status"]
    )
    breaks += events[0]["before_status"] != "queued"
    figure(
        "8 concurrent reviews",
        winners=statuses.count(200),
        conflicts=statuses.count(409),
        audit_events=len(events),
        chain_breaks=breaks,
    )
    assert set(statuses) <= {200, 409}
    assert len(events) == statuses.count(200)
    assert breaks == 0
    for r in results:
        if r.status_code == 409:
            assert r.json()["reason"] == "invalid_transition"
    egress_guard.count("faults")


# -- 9. no internal address or exception text in any response -------------------------------


async def test_9_redis_errors_show_no_internal_address(
    supportai_app: Any, supportai_client: Any, supportai_settings: Any
) -> None:
    pytest.importorskip("supportai_redis")
    settings = supportai_settings.model_copy(
        update={"llm_backend": "scripted", **faults.redis_down_settings(False)}
    )
    app = supportai_app(
        settings, plugins=[backend_plugin(ByContent(Usage(1, 1)))], load_entry_points=True
    )
    client = supportai_client(app)
    cid = await new_conversation(client)
    bodies = [
        await client.post(f"/conversations/{cid}/messages", json={"content": "hi"}, headers=USER),
        await client.get("/quota", headers=USER),
    ]
    leaks = [r.text for r in bodies if "127.0.0.1" in r.text or "Error" in r.text]
    figure("9 redis detail", leaks=len(leaks), example=bodies[0].json().get("detail"))
    for r in bodies:
        assert r.status_code == 503 and r.json()["reason"] == "quota_store_unavailable"
    assert leaks == []
    egress_guard.count("faults")
