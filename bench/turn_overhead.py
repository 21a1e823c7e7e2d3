"""Turn overhead: supportai's whole pipeline against a bare Starlette SSE endpoint.

A: supportai on uvicorn with the SQL (or Redis) quota store, the ``rules``
classifier, the ``pii`` filter, persistence on, and a backend that streams a
fixed 200-delta answer with no delay. B: a bare Starlette endpoint streaming the
same 200 deltas as SSE with no pipeline and no database. One load client,
alternating A and B at each concurrency, in the same process.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from bench.common import (
    RawSSEClient,
    RunStats,
    Sample,
    Server,
    best,
    failures,
    load,
    ratio,
    serve_process,
)
from supportai.llm import BackendEvent, BackendRequest, Finish, TextDelta, Usage
from supportai.testing import HeaderCaller, as_user, backend_plugin

DELTAS = [f"word{i % 10} " for i in range(200)]


class FixedBackend:
    """Streams the same 200 deltas, as fast as the consumer takes them."""

    name = "fixed"
    model = "bench-model"

    async def stream(self, request: BackendRequest) -> AsyncIterator[BackendEvent]:
        for delta in DELTAS:
            yield TextDelta(delta)
        yield Usage(50, 200)
        yield Finish("stop")


def baseline_app() -> Starlette:
    async def stream(request: Request) -> StreamingResponse:
        await request.body()

        async def events() -> AsyncIterator[bytes]:
            for seq, delta in enumerate(DELTAS, 1):
                data = json.dumps({"text": delta})
                yield f"event: delta\nid: {seq}\ndata: {data}\n\n".encode()
            yield b"event: turn.completed\nid: 201\ndata: {}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/stream", stream, methods=["POST"])])


def supportai_app(database_url: str | None = None, quota_store: str | None = None) -> Any:
    """The app under test; uvicorn's ``--factory`` calls it with settings from the env."""
    from supportai import Settings, create_app

    database_url = database_url or os.environ["BENCH_DATABASE_URL"]
    quota_store = quota_store or os.environ.get("BENCH_QUOTA_STORE", "sql")
    settings = Settings(
        database_url=database_url,
        auto_migrate=True,
        disclosure_required=False,
        llm_backend="fixed",
        classifiers=["rules"],
        output_filters=["pii"],
        quota_store=quota_store,
        plugins=["classifiers", "filters", "redis"]
        if quota_store == "redis"
        else ["classifiers", "filters"],
        rate_limit_user_turns=1_000_000,
        rate_limit_tenant_turns=1_000_000,
        user_daily_cost_cap_micros=10**15,
        tenant_monthly_cost_cap_micros=10**15,
        history_char_budget=2000,
    )
    return create_app(settings, [HeaderCaller(), backend_plugin(FixedBackend(), "fixed")])


async def conversations_for(base: str, concurrency: int) -> list[int]:
    """One conversation per worker, so workers do not share a history."""
    async with httpx.AsyncClient(timeout=60) as client:
        conversations = []
        for worker in range(concurrency):
            headers = as_user("bench", f"user{worker}")
            created = await client.post(f"{base}/conversations", headers=headers)
            conversations.append(created.json()["conversation_id"])
    return conversations


def turn_caller(
    base: str, conversations: list[int], clients: list[RawSSEClient]
) -> Callable[[int], Awaitable[Sample]]:
    """``one(worker)``: a turn in that worker's conversation on its own connection."""
    body = json.dumps({"content": "How do I reset my password?"}).encode()

    async def one(worker: int) -> Sample:
        return await clients[worker].post(
            f"/conversations/{conversations[worker]}/messages",
            body,
            as_user("bench", f"user{worker}"),
        )

    return one


async def compare(
    systems: dict[str, tuple[Server, Callable[[int], Awaitable[Sample]]]],
    concurrency: int,
    requests: int,
    rounds: int = 2,
    fewer: dict[str, int] | None = None,
) -> dict[str, list[RunStats]]:
    """Warm each system up, then alternate them ``rounds`` times at ``concurrency``.

    ``fewer`` gives a slow system its own (smaller) number of requests per round.
    """
    for label, (server, one) in systems.items():
        await load(f"warm-{label}", concurrency, concurrency * 2, one, server)
    runs: dict[str, list[RunStats]] = {label: [] for label in systems}
    for _ in range(rounds):
        for label, (server, one) in systems.items():
            count = (fewer or {}).get(label, requests)
            runs[label].append(await load(label, concurrency, count, one, server))
    return runs


def versus(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """A against B: CPU per turn first, then latency and throughput."""
    return {
        "cpu_ratio": ratio(a["cpu_ms_per_turn"], b["cpu_ms_per_turn"]),
        "p50_ratio": ratio(a["p50_ms"], b["p50_ms"]),
        "p99_ratio": ratio(a["p99_ms"], b["p99_ms"]),
        "throughput_ratio": ratio(a["throughput_rps"], b["throughput_rps"]),
        "overhead_p50_ms": a["p50_ms"] - b["p50_ms"],
        "overhead_p99_ms": a["p99_ms"] - b["p99_ms"],
        "ttfd_overhead_p50_ms": a["ttfd_p50_ms"] - b["ttfd_p50_ms"],
    }


async def _run_pair(a: Server, b: Server, concurrency: int, requests: int) -> dict[str, Any]:
    conversations = await conversations_for(a.base, concurrency)
    body = json.dumps({"content": "How do I reset my password?"}).encode()
    # One keep-alive connection per worker and server, as a connection pool would hold.
    clients_a = [RawSSEClient(a.base) for _ in range(concurrency)]
    clients_b = [RawSSEClient(b.base) for _ in range(concurrency)]

    async def one_b(worker: int) -> Sample:
        return await clients_b[worker].post("/stream", body, {})

    systems = {
        "supportai": (a, turn_caller(a.base, conversations, clients_a)),
        "baseline": (b, one_b),
    }
    try:
        runs = await compare(systems, concurrency, requests)
    finally:
        for raw in (*clients_a, *clients_b):
            await raw.close()
    best_a, best_b = best(runs["supportai"]), best(runs["baseline"])
    return {
        "concurrency": concurrency,
        "supportai": best_a,
        "baseline": best_b,
        **versus(best_a, best_b),
        "failures": failures([run for label_runs in runs.values() for run in label_runs]),
    }


def run(
    database_url: str | None = None,
    quota_store: str = "sql",
    concurrencies: tuple[int, ...] = (1, 16, 64),
    requests: int = 200,
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        results = []
        env = {"BENCH_DATABASE_URL": url, "BENCH_QUOTA_STORE": quota_store}
        with (
            serve_process("bench.turn_overhead:supportai_app", env) as a,
            serve_process("bench.turn_overhead:baseline_app") as b,
        ):
            for concurrency in concurrencies:
                results.append(
                    asyncio.run(_run_pair(a, b, concurrency, max(requests, concurrency)))
                )
        return results
