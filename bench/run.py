"""Run every benchmark and write ``bench/results/<time>.json`` plus a summary.

Usage: ``python bench/run.py [--quick] [--only turn,openai,stream,filter,startup,queries,metrics]``
(``tox -e bench``). Benchmarks are never part of the test suite's pass/fail:
they measure ratios against a baseline in the same run and report them. A run
in which any request failed exits with status 1 and says which: its figures
would describe a different workload. PostgreSQL and Redis variants run when
those servers answer on localhost.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import (  # noqa: E402
    filter_cost,
    metrics_overhead,
    openai_path,
    openai_stream,
    queries,
    startup,
    turn_overhead,
)


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _drop_postgres_database(url: str) -> None:
    import asyncio

    import asyncpg

    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


def _postgres_database() -> str | None:
    if not _reachable(5432):
        return None
    import asyncio
    import uuid

    import asyncpg

    name = f"supportai_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests (smoke run)")
    parser.add_argument("--only", default="turn,openai,stream,filter,startup,queries,metrics")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    requests = 60 if args.quick else 300
    concurrencies = (1, 16) if args.quick else (1, 16, 64)
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if "metrics" in sections:
        results["metrics"] = metrics_overhead.run()
        print("metrics:", json.dumps(results["metrics"], indent=1), flush=True)
    if "queries" in sections:
        results["queries"] = queries.run()
        print("queries per turn:", results["queries"]["turn"], flush=True)
    if "filter" in sections:
        results["filter"] = filter_cost.run()
        print("filter:", json.dumps(results["filter"], indent=1), flush=True)
    if "startup" in sections:
        results["startup"] = startup.run(str(ROOT / "examples" / "host_app" / "articles"))
        print("startup:", json.dumps(results["startup"], indent=1), flush=True)
    if "turn" in sections:
        variants: list[tuple[str, str | None, str]] = [("sqlite+sql", None, "sql")]
        postgres = _postgres_database()
        if postgres:
            variants.append(("postgresql+sql", postgres, "sql"))
            if _reachable(6379):
                variants.append(("postgresql+redis", postgres, "redis"))
        results["turn"] = {}
        try:
            _run_turn_variants(results["turn"], variants, concurrencies, requests)
        finally:
            if postgres:  # the benchmark's throw-away database
                _drop_postgres_database(postgres)
    failed: list[str] = []
    if "stream" in sections:
        results["openai_stream"] = openai_stream.run(streams=30 if args.quick else 100)
        cpu = results["openai_stream"]["cpu_ms_per_stream"]
        print(
            "openai backend, 200 chunks, CPU per stream: "
            + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items()),
            flush=True,
        )
    if "openai" in sections:
        results["openai"] = openai_path.run((1, 16), requests)
        for row in results["openai"]["rows"]:
            failed += row["failures"]
            _print_openai_row(row)
    if "turn" in sections:
        for rows in results.get("turn", {}).values():
            for row in rows:
                failed += row["failures"]
    results["failures"] = failed
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {path}")
    if failed:
        print("FAILED: requests failed, so these figures are not comparable:", file=sys.stderr)
        for line in failed:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _print_openai_row(row: dict[str, Any]) -> None:
    cpu = ", ".join(
        f"{label} {row[label]['cpu_ms_per_turn']:.2f} ms"
        for label in ("supportai", "direct", "litellm")
        if label in row
    )
    rps = ", ".join(
        f"{label} {row[label]['throughput_rps']:.0f}/s"
        for label in ("supportai", "direct", "litellm")
        if label in row
    )
    line = f"openai c={row['concurrency']}: CPU per turn {cpu}; throughput {rps}"
    direct = row["supportai_vs_direct"]
    line += (
        f"; vs direct: CPU x{direct['cpu_ratio']:.2f} throughput x{direct['throughput_ratio']:.2f}"
    )
    if "supportai_vs_litellm" in row:
        versus = row["supportai_vs_litellm"]
        line += (
            f"; vs litellm: CPU x{versus['cpu_ratio']:.3f} "
            f"throughput x{versus['throughput_ratio']:.1f}"
        )
    print(line, flush=True)


def _run_turn_variants(
    into: dict[str, Any],
    variants: list[tuple[str, str | None, str]],
    concurrencies: tuple[int, ...],
    requests: int,
) -> None:
    for label, url, store in variants:
        rows = turn_overhead.run(url, store, concurrencies, requests)
        into[label] = rows
        for row in rows:
            print(
                f"{label} c={row['concurrency']}: CPU per turn "
                f"{row['supportai']['cpu_ms_per_turn']:.2f} / "
                f"{row['baseline']['cpu_ms_per_turn']:.2f} ms (x{row['cpu_ratio']:.2f}) "
                f"p50 x{row['p50_ratio']:.2f} "
                f"p99 x{row['p99_ratio']:.2f} throughput x{row['throughput_ratio']:.2f} "
                f"overhead p50 {row['overhead_p50_ms']:.1f} ms "
                f"p99 {row['overhead_p99_ms']:.1f} ms",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
