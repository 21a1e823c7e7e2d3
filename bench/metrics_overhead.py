"""Metrics overhead: a turn with the ``supportai-metrics`` plugin against one without.

Both apps run in this process on their own SQLite file, with the same scripted
50-delta backend, no classifier or filter (so the pipeline's own cost, the
denominator, is as small as it gets and the ratio as unflattering as it gets).
Turns are sent through an in-process ASGI client in alternating blocks (off, on,
on, off, ...) and CPU time per turn is compared: on a shared machine CPU time
drifts much less than wall time, and the plugin's cost is CPU only (it waits for
nothing). The tracing spans are always there; without an OpenTelemetry SDK they
are skipped, as in production without one (a check per span site), and the
micro-benchmark below says what the check, a no-op span and the plugin's update
of one turn cost.

``python bench/run.py --only metrics`` (or ``python -m bench.metrics_overhead``).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from supportai.llm import BackendEvent, BackendRequest, Finish, TextDelta, Usage
from supportai.testing import HeaderCaller, as_user, backend_plugin

DELTAS = [f"word{i % 10} " for i in range(50)]


class FixedBackend:
    """Streams the same 50 deltas as fast as they are taken."""

    name = "fixed"
    model = "bench-model"

    async def stream(self, request: BackendRequest) -> AsyncIterator[BackendEvent]:
        for delta in DELTAS:
            yield TextDelta(delta)
        yield Usage(50, 50)
        yield Finish("stop")


def build(database_url: str, metrics: bool) -> Any:
    from supportai import Settings, create_app

    settings = Settings(
        database_url=database_url,
        auto_migrate=True,
        disclosure_required=False,
        llm_backend="fixed",
        plugins=["metrics"] if metrics else [],
        rate_limit_user_turns=1_000_000,
        rate_limit_tenant_turns=1_000_000,
        user_daily_cost_cap_micros=10**15,
        tenant_monthly_cost_cap_micros=10**15,
        history_char_budget=500,
    )
    return create_app(
        settings, [HeaderCaller(), backend_plugin(FixedBackend(), "fixed")], load_entry_points=True
    )


async def _block(client: httpx.AsyncClient, conversation: int, turns: int) -> float:
    """CPU seconds per turn over ``turns`` sequential turns."""
    headers = {**as_user("bench", "u1"), "accept": "application/json"}
    started = time.process_time()
    for _ in range(turns):
        r = await client.post(
            f"/conversations/{conversation}/messages",
            json={"content": "How do I reset my password?"},
            headers=headers,
        )
        assert r.status_code == 200, r.text
    return (time.process_time() - started) / turns


async def _compare(folder: str, blocks: int, turns: int) -> dict[str, Any]:
    apps = {
        name: build(f"sqlite+aiosqlite:///{folder}/{name}.db", name == "on")
        for name in ("off", "on")
    }
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
        for name, app in apps.items()
    }
    try:
        conversations = {}
        for name, client in clients.items():
            r = await client.post("/conversations", headers=as_user("bench", "u1"))
            conversations[name] = r.json()["conversation_id"]
            await _block(client, conversations[name], 20)  # warm-up
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        for block in range(blocks):
            order = ("off", "on") if block % 2 == 0 else ("on", "off")
            for name in order:
                cpu[name].append(await _block(clients[name], conversations[name], turns))
        from supportai_metrics import metrics_for

        counted = metrics_for(apps["on"].state.supportai.context).turns
        total = sum(
            s.value for m in counted.collect() for s in m.samples if s.name.endswith("_total")
        )
        assert total == 20 + blocks * turns, total  # the plugin really saw every turn
        off, on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
        ratios = [b / a for a, b in zip(cpu["off"], cpu["on"], strict=True)]
        traced = await _with_tracing(clients["on"], conversations["on"], blocks, turns)
        return {
            "turns_per_block": turns,
            "blocks": blocks,
            "cpu_ms_per_turn_off": round(off * 1000, 3),
            "cpu_ms_per_turn_on": round(on * 1000, 3),
            "cpu_ratio_on_over_off": round(on / off, 4),
            "cpu_ratio_median_of_blocks": round(statistics.median(ratios), 4),
            "metrics_cost_us_per_turn": round((on - off) * 1e6, 1),
            "cpu_ms_per_turn_metrics_and_tracing": round(traced * 1000, 3),
            "cpu_ratio_tracing_over_off": round(traced / off, 4),
        }
    finally:
        for client in clients.values():
            await client.aclose()
        for app in apps.values():
            await app.state.supportai.stop()


async def _with_tracing(
    client: httpx.AsyncClient, conversation: int, blocks: int, turns: int
) -> float:
    """CPU per turn once an OpenTelemetry SDK records every span (last: it is global).

    The SDK's batch processor hands spans to an exporter that drops them, so this is
    the cost of recording, not of a network exporter.
    """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Drop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)
    try:
        return statistics.median([await _block(client, conversation, turns) for _ in range(blocks)])
    finally:
        provider.shutdown()


def _hook_and_span_cost(repeats: int = 20_000) -> dict[str, float]:
    """Micro-benchmark: one turn's metric update and one no-op span, CPU microseconds."""
    from supportai_metrics.collectors import SupportMetrics

    from supportai.telemetry.tracing import enabled, span

    metrics = SupportMetrics()
    event = {
        "status": "complete",
        "intent": "how_to",
        "timings_ms": {
            "quota": 1.0,
            "classify": 0.5,
            "persist": 2.0,
            "backend": 9.0,
            "filter": 1.0,
        },
        "first_delta_ms": 5.0,
        "cost_micros": 150,
        "usage": {"input_tokens": 50, "output_tokens": 50},
    }
    started = time.process_time()
    for _ in range(repeats):
        metrics.turn_completed(event)
    update_us = (time.process_time() - started) / repeats * 1e6
    started = time.process_time()
    for _ in range(repeats):
        with span("bench", {"supportai.tenant_id": "t"}):
            pass
    span_us = (time.process_time() - started) / repeats * 1e6
    started = time.process_time()
    for _ in range(repeats):
        enabled()
    check_us = (time.process_time() - started) / repeats * 1e6
    return {
        "turn_completed_update_us": round(update_us, 2),
        # What each span site would cost as an API no-op span, and what it costs
        # instead: the check that skips it while no SDK is configured.
        "noop_span_us": round(span_us, 2),
        "span_site_without_sdk_us": round(check_us, 3),
    }


def run(blocks: int = 40, turns: int = 25) -> dict[str, Any]:
    micro = _hook_and_span_cost()  # first: the tracing variant sets a global provider
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(_compare(folder, blocks, turns))
    return {**result, **micro}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
