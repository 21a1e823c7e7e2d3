"""Resume on another worker process (issue 15): drop the stream at random points,
resume on the other uvicorn worker with Last-Event-ID, and the concatenated deltas
are the stored answer: 0 lost, 0 duplicated.

Two worker processes share the app database: a SQLite file (event log in the
database), and PostgreSQL with the Redis quota store (event log on Redis Streams).
``DROPS`` drops per combination (10; 100 with ``SUPPORTAI_LONG_TESTS=1``), run a few
at a time. The resume latency figures are ``bench/turn_events.py``'s, not a timed test.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from resume_app import ANSWER, PIECES
from test_overspend_burst import (
    REDIS_URL,
    TESTS,
    crashes_in_logs,
    drop_redis_prefix,
    redis_or_skip,
    start_workers,
)

from supportai.settings import Settings
from supportai.testing import as_user, postgres_url

LONG = os.environ.get("SUPPORTAI_LONG_TESTS") == "1"
DROPS = 100 if LONG else 10
AT_ONCE = 10
SSE = {"accept": "text/event-stream"}
USER = as_user("resume", "reader")


async def migrated(database_url: str) -> None:
    """Migrate once, before the workers start (two workers must not both migrate)."""
    from supportai.app import create_app

    app = create_app(
        Settings(database_url=database_url, auto_migrate=True, llm_backend=None),
        load_entry_points=False,
    )
    await app.state.supportai.start()
    await app.state.supportai.stop()


def worker_env(database_url: str, log_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "SUPPORTAI_DATABASE_URL": database_url,
        "SUPPORTAI_AUTO_MIGRATE": "false",
        "SUPPORTAI_DISCLOSURE_REQUIRED": "false",
        "SUPPORTAI_LLM_BACKEND": "scripted",
        "SUPPORTAI_TOOL_MAX_ROUNDS": "0",
        "SUPPORTAI_RATE_LIMIT_USER_TURNS": "100000",
        "SUPPORTAI_RATE_LIMIT_WINDOW_S": "86400",
        "SUPPORTAI_USER_DAILY_COST_CAP_MICROS": str(10**12),
        "SUPPORTAI_TENANT_MONTHLY_COST_CAP_MICROS": str(10**13),
        "SUPPORTAI_HEARTBEAT_S": "1",
        "SUPPORTAI_PLUGINS": "[]",
        "BURST_LOG_DIR": str(log_dir),
        **extra,
    }


def split_events(buffer: str) -> tuple[list[dict[str, Any]], str]:
    """Complete SSE events in ``buffer`` (comments skipped), and the incomplete rest."""
    *done, rest = buffer.split("\n\n")
    events = []
    for block in done:
        fields = dict(
            line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":")
        )
        if "event" in fields:
            events.append({**fields, "data": json.loads(fields["data"])})
    return events, rest


async def read_stream(response: httpx.Response, stop_after: int | None) -> list[dict[str, Any]]:
    """Events of a stream; with ``stop_after``, give up (drop) after that many."""
    got: list[dict[str, Any]] = []
    buffer = ""
    async for chunk in response.aiter_text():
        events, buffer = split_events(buffer + chunk)
        for event in events:
            got.append(event)
            if stop_after is not None and len(got) >= stop_after:
                return got
    return got


async def drop_and_resume(
    client: httpx.AsyncClient, producer: str, other: str, stop_after: int
) -> None:
    cid = (await client.post(producer + "/conversations", json={}, headers=USER)).json()[
        "conversation_id"
    ]
    async with client.stream(
        "POST",
        f"{producer}/conversations/{cid}/messages",
        json={"content": "How do I export?"},
        headers={**USER, **SSE},
    ) as response:
        assert response.status_code == 200
        seen = await read_stream(response, stop_after)
    # the connection is closed here, mid-answer: resume on the other worker
    turn = seen[0]["data"]["user_message_id"]
    async with client.stream(
        "GET",
        f"{other}/conversations/{cid}/messages/{turn}/events",
        headers={**USER, "Last-Event-ID": seen[-1]["id"]},
    ) as response:
        assert response.status_code == 200
        rest = await read_stream(response, None)
    ids = [int(e["id"].split(":")[1]) for e in seen + rest]
    assert ids == list(range(1, len(ids) + 1)), ids  # no gap, no repeat
    assert rest[-1]["event"] == "turn.completed" and rest[-1]["data"]["status"] == "complete"
    text = "".join(e["data"]["text"] for e in seen + rest if e["event"] == "delta")
    stored = (
        await client.get(f"{other}/conversations/{cid}/messages/{turn}/turn", headers=USER)
    ).json()
    assert text == stored["content"] == ANSWER


async def run_drops(urls: list[str]) -> None:
    rng = random.Random(15)
    # turn.started, len(PIECES) deltas, turn.completed: drop after 1..all-but-the-last
    points = [rng.randint(1, len(PIECES) + 1) for _ in range(DROPS)]
    async with httpx.AsyncClient(timeout=30) as client:
        for start in range(0, DROPS, AT_ONCE):
            await asyncio.gather(
                *(
                    drop_and_resume(client, urls[i % 2], urls[(i + 1) % 2], point)
                    for i, point in enumerate(points[start : start + AT_ONCE], start)
                )
            )


async def test_resume_on_the_other_worker_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    await migrated(url)
    running = start_workers(worker_env(url, tmp_path), app="resume_app:create")
    urls = await anext(running)
    try:
        await run_drops(urls)
    finally:
        await running.aclose()
    assert crashes_in_logs(tmp_path) == []


@pytest.fixture
def shared_postgres() -> Any:
    yield from postgres_url()


@pytest.mark.postgres
@pytest.mark.redis
async def test_resume_on_the_other_worker_postgres_redis(
    shared_postgres: str, tmp_path: Path
) -> None:
    await redis_or_skip()
    await migrated(shared_postgres)
    prefix = f"supportai-resume-{uuid.uuid4().hex[:8]}:"
    env = worker_env(
        shared_postgres,
        tmp_path,
        SUPPORTAI_QUOTA_STORE="redis",
        SUPPORTAI_PLUGINS='["redis"]',
        SUPPORTAI_REDIS_URL=REDIS_URL,
        SUPPORTAI_REDIS_KEY_PREFIX=prefix,
    )
    try:
        running = start_workers(env, app="resume_app:create")
        urls = await anext(running)
        try:
            await run_drops(urls)
            # the events went to Redis Streams, not the database
            from redis.asyncio import Redis

            redis = Redis.from_url(REDIS_URL)
            try:
                streams = [k async for k in redis.scan_iter(match=prefix + "ev:*")]
            finally:
                await redis.aclose()
            assert len(streams) >= DROPS
        finally:
            await running.aclose()
        assert crashes_in_logs(tmp_path) == []
    finally:
        await drop_redis_prefix(prefix)
