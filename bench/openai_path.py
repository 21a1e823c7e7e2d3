"""The path users deploy: a supportai turn through the ``openai`` backend.

A mock OpenAI-compatible upstream (``bench/mock_openai.py``, its own process)
streams a fixed answer as 200 chunks. Systems under test, each one uvicorn
process, alternating in rounds within one run:

- ``supportai``: the turn endpoint with the ``openai`` backend pointed at the
  mock, SQLite, the ``rules`` classifier, the ``pii`` filter, persistence on;
- ``direct`` (the baseline): a bare Starlette endpoint with the HTTP client the
  backend runs the ``openai`` SDK on (aiohttp's, ``bench.common.sdk_async_client``),
  reading the mock's stream with ``json.loads`` and relaying each read's text as
  one SSE delta (what supportai does with it);
- ``litellm`` (optional): ``litellm.acompletion(stream=True)`` against the mock
  behind a minimal endpoint (``bench/litellm_relay.py``). It runs under
  ``BENCH_LITELLM_PYTHON`` (default: this interpreter) and is skipped, with the
  reason printed, when that interpreter cannot import litellm.

The primary figure is CPU per turn of each server process, read from
``/proc/<pid>/stat`` around each round; latency and throughput come beside it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from bench.common import (
    RawSSEClient,
    Sample,
    Server,
    best,
    failures,
    plain_deltas,
    sdk_async_client,
    serve_process,
)
from bench.mock_openai import MODEL
from bench.turn_overhead import compare, conversations_for, turn_caller, versus

CHUNKS = 200
MESSAGES = [
    {"role": "system", "content": "You are a support assistant."},
    {"role": "user", "content": "How do I reset my password?"},
]


def supportai_app() -> Any:
    """The app under test (uvicorn ``--factory``); the upstream comes from ``BENCH_UPSTREAM``."""
    from supportai import Settings, create_app
    from supportai.testing import HeaderCaller

    os.environ["SUPPORTAI_OPENAI_BASE_URL"] = os.environ["BENCH_UPSTREAM"]
    os.environ["SUPPORTAI_OPENAI_API_KEY"] = "sk-bench"
    os.environ["SUPPORTAI_OPENAI_MODEL"] = MODEL
    settings = Settings(
        database_url=os.environ["BENCH_DATABASE_URL"],
        auto_migrate=True,
        disclosure_required=False,
        llm_backend="openai",
        classifiers=["rules"],
        output_filters=["pii"],
        quota_store="sql",
        plugins=["classifiers", "filters", "llm_backends"],
        rate_limit_user_turns=1_000_000,
        rate_limit_tenant_turns=1_000_000,
        user_daily_cost_cap_micros=10**15,
        tenant_monthly_cost_cap_micros=10**15,
        history_char_budget=2000,
    )
    return create_app(settings, [HeaderCaller()])


def direct_app() -> Starlette:
    """The baseline: the mock read directly, with nothing but the HTTP client and json."""
    upstream = os.environ["BENCH_UPSTREAM"] + "/chat/completions"
    payload = {
        "model": MODEL,
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    clients: list[Any] = []

    async def stream(request: Request) -> StreamingResponse:
        await request.body()
        if not clients:  # created in the server's event loop, kept for keep-alive
            clients.append(sdk_async_client(60))

        async def events() -> AsyncIterator[bytes]:
            seq = 0
            rest = b""
            headers = {"authorization": "Bearer sk-bench"}
            async with clients[0].stream("POST", upstream, json=payload, headers=headers) as r:
                async for read in r.aiter_bytes():
                    lines = (rest + read).split(b"\n")
                    rest = lines.pop()
                    texts = plain_deltas(lines)
                    if texts:
                        seq += 1
                        data = json.dumps({"text": "".join(texts)})
                        yield f"event: delta\nid: {seq}\ndata: {data}\n\n".encode()
            yield b"event: done\ndata: {}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/stream", stream, methods=["POST"])])


def litellm_python() -> tuple[str | None, str]:
    """The interpreter to run LiteLLM under, or None and why it is skipped."""
    python = os.environ.get("BENCH_LITELLM_PYTHON") or sys.executable
    probe = subprocess.run(
        [python, "-c", "import litellm"],
        capture_output=True,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        check=False,
    )
    if probe.returncode != 0:
        return None, (
            f"litellm is not importable under {python} "
            "(pip install litellm there, or set BENCH_LITELLM_PYTHON)"
        )
    return python, ""


async def _run(
    servers: dict[str, Server], concurrency: int, requests: int, rounds: int
) -> dict[str, Any]:
    sut = servers["supportai"]
    conversations = await conversations_for(sut.base, concurrency)
    clients = {
        label: [RawSSEClient(s.base) for _ in range(concurrency)] for label, s in servers.items()
    }
    body = json.dumps({"content": "How do I reset my password?"}).encode()

    def relay(label: str) -> Callable[[int], Awaitable[Sample]]:
        async def one(worker: int) -> Sample:
            return await clients[label][worker].post("/stream", body, {})

        return one

    systems = {
        label: (server, turn_caller(sut.base, conversations, clients[label]))
        if label == "supportai"
        else (server, relay(label))
        for label, server in servers.items()
    }
    try:
        # LiteLLM is an order of magnitude slower: a fifth of the requests keeps the run short
        # and still gives its CPU per turn to a few percent.
        fewer = {"litellm": max(requests // 5, concurrency * 4)}
        runs = await compare(systems, concurrency, requests, rounds, fewer)
    finally:
        for connections in clients.values():
            for raw in connections:
                await raw.close()
    summaries = {label: best(label_runs) for label, label_runs in runs.items()}
    row: dict[str, Any] = {
        "concurrency": concurrency,
        **summaries,
        "supportai_vs_direct": versus(summaries["supportai"], summaries["direct"]),
        "failures": failures([run for label_runs in runs.values() for run in label_runs]),
    }
    if "litellm" in summaries:
        row["supportai_vs_litellm"] = versus(summaries["supportai"], summaries["litellm"])
    return row


def run(
    concurrencies: tuple[int, ...] = (1, 16),
    requests: int = 300,
    rounds: int = 2,
    with_litellm: bool = True,
) -> dict[str, Any]:
    python, skipped = litellm_python() if with_litellm else (None, "not asked for")
    if python is None:
        print(f"litellm variant skipped: {skipped}", flush=True)
    results: dict[str, Any] = {"chunks": CHUNKS, "litellm_skipped": skipped or None, "rows": []}
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        mock = stack.enter_context(
            serve_process("bench.mock_openai:app", {"BENCH_MOCK_CHUNKS": str(CHUNKS)})
        )
        upstream = {"BENCH_UPSTREAM": f"{mock.base}/v1"}
        env = {**upstream, "BENCH_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db"}
        servers = {
            "supportai": stack.enter_context(serve_process("bench.openai_path:supportai_app", env)),
            "direct": stack.enter_context(serve_process("bench.openai_path:direct_app", upstream)),
        }
        if python is not None:
            servers["litellm"] = stack.enter_context(
                serve_process("bench.litellm_relay:app", upstream, python=python)
            )
        for concurrency in concurrencies:
            results["rows"].append(
                asyncio.run(_run(servers, concurrency, max(requests, concurrency), rounds))
            )
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
