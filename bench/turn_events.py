"""The turn event log's cost, and how fast a resumed stream gets its first missed event.

Overhead (issue 15's goal: at most 5% more CPU and memory on a normal turn). In one
process, in one run, two apps alternate round by round: A with the event log on
(``turn_events_ttl_s=3600``), B with it off (``0``); otherwise identical (SQLite
file each, the ``rules`` classifier, persistence, quota). A round runs
``CONCURRENCY`` turns at once through the pipeline (``prepare``, ``Turn.events``,
SSE encoding: what the server does for a turn, without an HTTP client in the
figures). Two kinds of turn: ``paced`` (a model streaming ``DELTAS`` deltas
``PACE_S`` apart, about a second: several timed batches plus the last one in the
answer's transaction) and ``burst`` (the same deltas with no pause: one batch).

* CPU: ``time.process_time()`` of this process around each round (the aiosqlite
  threads included); the figure is the median of A / B over pairs of rounds run
  back to back (and, for reference, the ratio of the sums).
* Memory: ``tracemalloc`` peak over a round minus what was allocated before it, in
  separate rounds (tracing slows everything alike), ``ROUNDS`` per side, alternating
  which side goes first as for CPU, each after a full collection (else the garbage
  of the round before decides the peak); the figure is the median A / median B (and,
  for reference, the median of A / B over pairs of rounds). A round's peak is at
  its end, when the turns save their answers: the rounds grow slowly over a run as
  the conversations' history grows, the same on both sides.

Resume latency: a turn runs on app P; at a random point its client "drops", and
``RECONNECT_S`` later a resume starts after the last event it had, either on P itself
(the live turn in memory) or on app O, a second runtime on the same database file
(what another worker does: it polls the log every ``turn_events_poll_s``). Timed from
the resume until the first missed event arrives, through the resume reader
(:func:`supportai.resume.reader.events_after`) without HTTP.

``python -m bench.turn_events`` prints JSON and writes ``bench/results/turn_events.json``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

from supportai.caller import Caller
from supportai.llm import BackendEvent, BackendRequest, Finish, TextDelta, Usage
from supportai.pipeline.prepare import prepare
from supportai.pipeline.turn import Turn
from supportai.resume.reader import events_after
from supportai.testing import HeaderCaller, backend_plugin

DELTAS = [f"word{i % 10} " for i in range(80)]
PACE_S = 0.012
CONCURRENCY = 8
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "16"))
RESUMES = int(os.environ.get("BENCH_RESUMES", "100"))
#: Between the drop and the resume: a client reconnecting at once is rarely faster.
RECONNECT_S = 0.2
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PacedBackend:
    """``DELTAS`` with ``pause_s`` between them (0: as fast as they are taken)."""

    name = "paced"
    model = "bench-model"

    def __init__(self, pause_s: float) -> None:
        self.pause_s = pause_s

    async def stream(self, request: BackendRequest) -> AsyncIterator[BackendEvent]:
        for delta in DELTAS:
            yield TextDelta(delta)
            if self.pause_s:
                await asyncio.sleep(self.pause_s)
        yield Usage(50, len(DELTAS))
        yield Finish("stop")


async def make_app(database_url: str, ttl_s: int, pause_s: float) -> Any:
    from supportai import Settings, create_app

    settings = Settings(
        database_url=database_url,
        auto_migrate=True,
        disclosure_required=False,
        llm_backend="paced",
        tool_max_rounds=0,
        rate_limit_user_turns=10**9,
        rate_limit_tenant_turns=10**9,
        user_daily_cost_cap_micros=10**15,
        tenant_monthly_cost_cap_micros=10**15,
        turn_events_ttl_s=ttl_s,
    )
    app = create_app(
        settings,
        [HeaderCaller(), backend_plugin(PacedBackend(pause_s), "paced")],
        load_entry_points=False,
    )
    await app.state.supportai.start()
    return app


async def conversation(runtime: Any, caller: Caller) -> int:
    from supportai.store import conversations

    async with runtime.database.connection() as conn, conn.transaction():
        return int((await conversations.create(conn, caller, "bench"))["id"])


async def one_turn(runtime: Any, caller: Caller, cid: int) -> int:
    """One turn as the SSE route runs it; returns the bytes it would send."""
    prepared = await prepare(runtime, caller, cid, "How do I export my invoices?", None)
    turn = Turn(runtime, caller, prepared, "How do I export my invoices?")
    sent = 0
    async for event in turn.events():
        if event is not None:
            sent += len(b"".join(e.encode() for e in (event, *turn.take_ready())))
    await turn.wait()
    return sent


async def round_of_turns(runtime: Any, cids: list[int]) -> None:
    caller = Caller("bench", "user")
    await asyncio.gather(*(one_turn(runtime, caller, cid) for cid in cids))


async def overhead(pause_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        apps = {
            "on": await make_app(f"sqlite+aiosqlite:///{tmp}/on.db", 3600, pause_s),
            "off": await make_app(f"sqlite+aiosqlite:///{tmp}/off.db", 0, pause_s),
        }
        caller = Caller("bench", "user")
        cids = {
            side: [await conversation(app.state.supportai, caller) for _ in range(CONCURRENCY)]
            for side, app in apps.items()
        }
        for side, app in apps.items():  # warm-up: compiled statements, pools, imports
            await round_of_turns(app.state.supportai, cids[side])
        cpu: dict[str, list[float]] = {"on": [], "off": []}
        for index in range(ROUNDS):
            for side in ("on", "off") if index % 2 == 0 else ("off", "on"):
                gc.collect()  # the garbage of the round before is not this round's
                started = time.process_time()
                await round_of_turns(apps[side].state.supportai, cids[side])
                cpu[side].append(time.process_time() - started)
        peak: dict[str, list[int]] = {"on": [], "off": []}
        tracemalloc.start()
        try:
            for index in range(ROUNDS):
                for side in ("on", "off") if index % 2 == 0 else ("off", "on"):
                    gc.collect()
                    tracemalloc.reset_peak()
                    before = tracemalloc.get_traced_memory()[0]
                    await round_of_turns(apps[side].state.supportai, cids[side])
                    peak[side].append(tracemalloc.get_traced_memory()[1] - before)
        finally:
            tracemalloc.stop()
        for app in apps.values():
            await app.state.supportai.stop()
    turns = ROUNDS * CONCURRENCY
    memory = {side: statistics.median(values) for side, values in peak.items()}
    # Per pair of rounds run back to back, then the median: a burst of load from
    # elsewhere on the machine moves one pair, not the figure.
    pairs = [on / off for on, off in zip(cpu["on"], cpu["off"], strict=True)]
    return {
        "turns_per_side": turns,
        "cpu_ms_per_turn": {
            side: round(sum(values) / turns * 1000, 3) for side, values in cpu.items()
        },
        "cpu_ratio": round(statistics.median(pairs), 4),
        "cpu_ratio_of_sums": round(sum(cpu["on"]) / sum(cpu["off"]), 4),
        "peak_kib_per_round": {side: round(memory[side] / 1024, 1) for side in memory},
        "memory_ratio": round(memory["on"] / memory["off"], 4),
        # For reference, as for CPU: the median over pairs of rounds run back to back.
        "memory_ratio_of_pairs": round(
            statistics.median(on / off for on, off in zip(peak["on"], peak["off"], strict=True)),
            4,
        ),
    }


async def resume_latency() -> dict[str, Any]:
    """Time from a resume to its first missed event, same worker and another worker."""
    rng = random.Random(15)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/shared.db"
        producer = await make_app(url, 3600, PACE_S)
        other = await make_app(url, 3600, PACE_S)
        caller = Caller("bench", "user")
        runtime = producer.state.supportai
        results: dict[str, list[float]] = {"same_worker": [], "other_worker": []}
        for index in range(RESUMES):
            where = "same_worker" if index % 2 == 0 else "other_worker"
            reader_runtime = runtime if where == "same_worker" else other.state.supportai
            cid = await conversation(runtime, caller)
            prepared = await prepare(runtime, caller, cid, "How do I export?", None)
            turn = Turn(runtime, caller, prepared, "How do I export?")
            events = turn.events()
            drop_after = rng.randint(2, len(DELTAS) - 2)
            last = None
            for _ in range(drop_after):
                last = await anext(events)
                while last is None:
                    last = await anext(events)
            await events.aclose()  # the client is gone; the turn runs on
            assert last is not None
            await asyncio.sleep(RECONNECT_S)  # the client finds a network again
            started = time.perf_counter()
            reader = events_after(reader_runtime, caller, cid, prepared.user_message_id, last.id)
            first = await anext(reader)
            results[where].append((time.perf_counter() - started) * 1000)
            assert first is not None and first.id == last.id + 1
            async for _ in reader:  # to the end, so turns do not pile up
                pass
            await turn.wait()
        await producer.state.supportai.stop()
        await other.state.supportai.stop()
    return {
        where: {
            "resumes": len(values),
            "p50_ms": round(percentile(values, 0.5), 2),
            "p99_ms": round(percentile(values, 0.99), 2),
            "max_ms": round(max(values), 2),
        }
        for where, values in results.items()
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main() -> dict[str, Any]:
    return {
        "overhead_paced": await overhead(PACE_S),
        "overhead_burst": await overhead(0.0),
        "resume_latency": await resume_latency(),
    }


if __name__ == "__main__":
    figures = asyncio.run(main())
    text = json.dumps(figures, indent=2)
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "turn_events.json"), "w") as out:
        out.write(text + "\n")
