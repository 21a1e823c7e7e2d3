"""Overspend under concurrency (issue 8.3): bursts of 64 simultaneous turns against a
cost cap that admits exactly k of them.

Stores: the SQL store on SQLite and PostgreSQL, the Redis store (``supportai-redis``,
loaded from its entry point), and two ``uvicorn`` worker processes sharing
PostgreSQL, once with the SQL store and once with Redis. The model reports the
worst-case usage of a turn, so settling frees nothing and the outcome cannot depend
on how the turns interleave. After each burst:

* admitted <= k (and exactly k: the cap is not under-used either);
* the settled spend (quota ``used`` and the usage table) <= cap;
* nothing is left reserved: ``reserved == 0`` in every bucket and
  ``release_expired`` with a ``now`` past every expiry finds nothing dangling.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import egress_guard
import httpx
import pytest
import sqlalchemy as sa

from supportai.caller import Caller
from supportai.llm import Finish, TextDelta, Usage
from supportai.pipeline.budget import reservation_tokens
from supportai.settings import Settings
from supportai.store import tables
from supportai.testing import (
    ScriptedBackend,
    as_user,
    backend_plugin,
    postgres_url,
    require_service,
)

LONG = os.environ.get("SUPPORTAI_LONG_TESTS") == "1"
TURNS = int(os.environ.get("SUPPORTAI_BURST_TURNS", "256" if LONG else "64"))
ADMITTED = 7
CONTENT = "Please export my invoices."
REDIS_URL = os.environ.get("SUPPORTAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TESTS = Path(__file__).resolve().parent
COMMON: dict[str, Any] = {
    "llm_backend": "scripted",
    "tool_max_rounds": 0,
    "max_output_tokens": 200,
    "history_char_budget": 1000,
    "rate_limit_user_turns": 10_000,
    "rate_limit_tenant_turns": 10_000,
    "rate_limit_window_s": 86_400,
}
INPUT_TOKENS, OUTPUT_TOKENS = reservation_tokens(Settings(**COMMON), CONTENT, 0)


def worst(settings: Settings) -> int:
    return settings.price_for("scripted-model").cost_micros(INPUT_TOKENS, OUTPUT_TOKENS)


def cap_for(settings: Settings) -> int:
    return ADMITTED * worst(settings) + worst(settings) - 1  # room for k, not k + 1


def full_cost_backend() -> ScriptedBackend:
    return ScriptedBackend(
        [
            [
                TextDelta("Open Settings, then Export."),
                Usage(INPUT_TOKENS, OUTPUT_TOKENS),
                Finish("stop"),
            ]
        ]
    )


async def redis_or_skip() -> None:
    """Skip (fail with CI=true) without the supportai-redis plugin, its client or the server."""
    try:
        import supportai_redis  # noqa: F401
        from redis.asyncio import Redis
    except ImportError as exc:
        require_service(
            "Redis", f"{exc.name} is not installed (pip install ./plugins/quota_stores)"
        )
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        require_service("Redis", f"{REDIS_URL}: {exc}")
    finally:
        await client.aclose()


async def drop_redis_prefix(prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def burst(send: Callable[[int, int], Any], conversations: list[int]) -> list[httpx.Response]:
    """All turns at once; ``send(i, conversation_id)`` posts turn ``i``."""
    return list(
        await asyncio.gather(
            *(send(i, conversations[i % len(conversations)]) for i in range(TURNS))
        )
    )


async def check_outcome(
    responses: list[httpx.Response],
    quota: dict[str, Any],
    cap: int,
    unit: int,
    store: Any,
    spent_in_db: int | None,
) -> None:
    statuses = [r.status_code for r in responses]
    admitted = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    for r in responses:
        if r.status_code == 429:
            assert r.json()["reason"] == "cost_cap_exceeded", r.text
        else:
            assert r.json()["status"] == "complete", r.text
    assert admitted <= ADMITTED, admitted
    assert admitted == ADMITTED, f"the cap admits {ADMITTED}, only {admitted} got through"
    used = quota["user_cost_micros"]["used"]
    assert used == admitted * unit <= cap
    assert quota["tenant_cost_micros"]["used"] == used
    for bucket in ("user_turns", "tenant_turns", "user_cost_micros", "tenant_cost_micros"):
        assert quota[bucket]["reserved"] == 0, (bucket, quota[bucket])
    assert quota["user_turns"]["used"] == admitted
    if spent_in_db is not None:
        assert spent_in_db == used
    # Nothing dangling: a sweep far in the future has nothing left to release.
    assert await store.release_expired(time.time() + 10 * 86_400) == 0
    egress_guard.count("bursts")
    egress_guard.count("burst turns", len(responses))


async def in_process_burst(
    supportai_app: Any, supportai_client: Any, settings: Settings, load_entry_points: bool = False
) -> None:
    settings = settings.model_copy(update={"user_daily_cost_cap_micros": cap_for(settings)})
    app = supportai_app(
        settings, plugins=[backend_plugin(full_cost_backend())], load_entry_points=load_entry_points
    )
    client = supportai_client(app)
    user = as_user("burst", "spender")
    conversations = [
        (await client.post("/conversations", json={}, headers=user)).json()["conversation_id"]
        for _ in range(8)
    ]

    async def send(i: int, cid: int) -> httpx.Response:
        return await client.post(
            f"/conversations/{cid}/messages", json={"content": CONTENT}, headers=user
        )

    with egress_guard.timed("bursts"):
        responses = await burst(send, conversations)
    quota = (await client.get("/quota", headers=user)).json()
    runtime = app.state.supportai
    async with runtime.database.connection() as conn:
        spent = await conn.fetch_val(
            sa.select(sa.func.coalesce(sa.func.sum(tables.usage.c.cost_micros), 0))
        )
    await check_outcome(
        responses,
        quota,
        settings.user_daily_cost_cap_micros,
        worst(settings),
        runtime.quota,
        int(spent),
    )
    status = await runtime.quota.status(Caller("burst", "spender"), time.time())
    assert all(b.reserved == 0 for b in status.buckets)


async def test_burst_sql_store(
    supportai_app: Any, supportai_client: Any, supportai_settings: Settings
) -> None:
    """SQLite and PostgreSQL (the ``engine`` fixture)."""
    await in_process_burst(
        supportai_app, supportai_client, supportai_settings.model_copy(update=COMMON)
    )


@pytest.mark.redis
async def test_burst_redis_store(
    supportai_app: Any, supportai_client: Any, supportai_settings: Settings, engine: str
) -> None:
    if engine != "sqlite":
        pytest.skip("the Redis store does not depend on the database engine: once is enough")
    await redis_or_skip()
    prefix = f"supportai-burst-{uuid.uuid4().hex[:8]}:"
    settings = supportai_settings.model_copy(
        update={
            **COMMON,
            "plugins": ["redis"],
            "quota_store": "redis",
            "plugin_options": {"redis": {"url": REDIS_URL, "key_prefix": prefix}},
        }
    )
    try:
        await in_process_burst(supportai_app, supportai_client, settings, load_entry_points=True)
    finally:
        await drop_redis_prefix(prefix)


# -- two uvicorn workers sharing PostgreSQL (and Redis) -------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def shared_postgres() -> Iterator[str]:
    yield from postgres_url()


def spawn(
    env: dict[str, str], port: int, log_dir: Path, app: str = "burst_app:create"
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=TESTS,
        stdout=(log_dir / f"worker{port}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def crashes_in_logs(log_dir: Path) -> list[str]:
    return [
        p.read_text()[-3000:] for p in log_dir.glob("worker*.log") if "Traceback" in p.read_text()
    ]


async def start_workers(
    env: dict[str, str], count: int = 2, app: str = "burst_app:create"
) -> AsyncIterator[list[str]]:
    """``count`` uvicorn workers serving ``app`` (a factory in tests/); yields their URLs."""
    ports = [free_port() for _ in range(count)]
    log_dir = Path(env["BURST_LOG_DIR"])
    processes = [spawn(env, port, log_dir, app) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        async with httpx.AsyncClient(timeout=2) as probe:
            for url, process in zip(urls, processes, strict=True):
                deadline = time.monotonic() + 30
                while True:
                    assert process.poll() is None, log_dir / f"worker{url[-5:]}.log"
                    try:
                        if (await probe.get(url + "/openapi.json")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, f"worker {url} did not start"
                    await asyncio.sleep(0.2)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.postgres
@pytest.mark.parametrize("store", ["sql", "redis"])
async def test_burst_two_uvicorn_workers(shared_postgres: str, store: str, tmp_path: Path) -> None:
    from supportai.app import create_app

    if store == "redis":
        await redis_or_skip()
    prefix = f"supportai-burst2-{uuid.uuid4().hex[:8]}:"
    settings = Settings(database_url=shared_postgres, disclosure_required=False, **COMMON)
    cap = cap_for(settings)
    # Migrate once, before the workers start (two workers must not both migrate).
    migrator = create_app(
        settings.model_copy(update={"auto_migrate": True, "llm_backend": None}),
        load_entry_points=False,
    )
    await migrator.state.supportai.start()
    await migrator.state.supportai.stop()

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "SUPPORTAI_DATABASE_URL": shared_postgres,
        "SUPPORTAI_AUTO_MIGRATE": "false",
        "SUPPORTAI_DISCLOSURE_REQUIRED": "false",
        "SUPPORTAI_USER_DAILY_COST_CAP_MICROS": str(cap),
        "SUPPORTAI_QUOTA_STORE": store,
        "SUPPORTAI_PLUGINS": '["redis"]' if store == "redis" else "[]",
        "SUPPORTAI_REDIS_URL": REDIS_URL,
        "SUPPORTAI_REDIS_KEY_PREFIX": prefix,
        "BURST_INPUT_TOKENS": str(INPUT_TOKENS),
        "BURST_OUTPUT_TOKENS": str(OUTPUT_TOKENS),
        "BURST_LOG_DIR": str(tmp_path),
        **{f"SUPPORTAI_{k.upper()}": str(v) for k, v in COMMON.items()},
    }
    user = as_user("burst", "spender")
    try:
        workers = start_workers(env)
        urls = await anext(workers)
        try:
            limits = httpx.Limits(max_connections=TURNS + 8)
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                conversations = []
                for i in range(8):
                    r = await client.post(urls[i % 2] + "/conversations", json={}, headers=user)
                    conversations.append(r.json()["conversation_id"])

                async def send(i: int, cid: int) -> httpx.Response:
                    return await client.post(
                        f"{urls[i % 2]}/conversations/{cid}/messages",
                        json={"content": CONTENT},
                        headers=user,
                    )

                with egress_guard.timed("bursts"):
                    responses = await burst(send, conversations)
                quota = (await client.get(urls[0] + "/quota", headers=user)).json()
                assert (await client.get(urls[1] + "/quota", headers=user)).json()[
                    "user_cost_micros"
                ] == quota["user_cost_micros"]
        finally:
            await workers.aclose()
        assert crashes_in_logs(tmp_path) == []

        # A fresh process reads the shared stores: the settled figures are the real ones.
        checker = create_app(
            settings.model_copy(
                update={
                    "user_daily_cost_cap_micros": cap,
                    "quota_store": store,
                    "llm_backend": None,
                    "plugins": ["redis"] if store == "redis" else [],
                    "plugin_options": {"redis": {"url": REDIS_URL, "key_prefix": prefix}},
                }
            ),
            load_entry_points=store == "redis",
        )
        runtime = checker.state.supportai
        await runtime.start()
        try:
            async with runtime.database.connection() as conn:
                spent = await conn.fetch_val(
                    sa.select(sa.func.coalesce(sa.func.sum(tables.usage.c.cost_micros), 0))
                )
            await check_outcome(responses, quota, cap, worst(settings), runtime.quota, int(spent))
        finally:
            await runtime.stop()
    finally:
        if store == "redis":
            await drop_redis_prefix(prefix)
