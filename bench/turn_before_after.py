"""A change's effect on a turn: two versions of supportai and bare Starlette in one run.

``python bench/turn_before_after.py REV [--requests N] [--rounds R] [--concurrency 1,16]``
serves the in-process turn of ``bench/turn_overhead.py`` from the git revision
``REV`` (extracted with ``git archive``, imported ahead of the installed
package) and from this checkout, beside the bare Starlette baseline, each in its
own uvicorn process, and alternates the three in rounds. On a shared machine
figures from separate runs are not comparable; within one run the three see the
same load, so the ratios (CPU per turn first) say what the change did. The
plugins (``rules``, ``pii``) are this checkout's in both versions, unless
``--plugins-too`` imports REV's copies of them for the "before" side as well (for a
change to the plugins themselves).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RawSSEClient, Sample, Server, best, failures, serve_process  # noqa: E402
from bench.turn_overhead import compare, conversations_for, turn_caller  # noqa: E402

BODY = json.dumps({"content": "How do I reset my password?"}).encode()


async def _round(servers: dict[str, Server], concurrency: int, requests: int, rounds: int) -> Any:
    systems: dict[str, Any] = {}
    clients: list[RawSSEClient] = []
    for label, server in servers.items():
        own = [RawSSEClient(server.base) for _ in range(concurrency)]
        clients.extend(own)
        if label == "baseline":

            async def one(worker: int, own: list[RawSSEClient] = own) -> Sample:
                return await own[worker].post("/stream", BODY, {})

            systems[label] = (server, one)
        else:
            conversations = await conversations_for(server.base, concurrency)
            systems[label] = (server, turn_caller(server.base, conversations, own))
    try:
        runs = await compare(systems, concurrency, requests, rounds=rounds)
    finally:
        for client in clients:
            await client.close()
    return {label: best(label_runs) for label, label_runs in runs.items()}, failures(
        [run for label_runs in runs.values() for run in label_runs]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument(
        "--plugins-too",
        action="store_true",
        help="serve REV's classifiers and filters plugins on the before side too",
    )
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "before"
        tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.revision], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        paths = [f"{tree}/src"]
        if args.plugins_too:  # ahead of the installed (editable) plugins, like core
            paths += [f"{tree}/plugins/classifiers/src", f"{tree}/plugins/filters/src"]
        before_env = {
            "BENCH_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/before.db",
            "PYTHONPATH": ":".join(paths),
        }
        after_env = {"BENCH_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/after.db"}
        with (
            serve_process("bench.turn_overhead:supportai_app", before_env) as before,
            serve_process("bench.turn_overhead:supportai_app", after_env) as after,
            serve_process("bench.turn_overhead:baseline_app") as baseline,
        ):
            servers = {"before": before, "after": after, "baseline": baseline}
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                figures, failures_ = asyncio.run(
                    _round(servers, concurrency, args.requests, args.rounds)
                )
                failed = failed or bool(failures_)
                base = figures["baseline"]
                print(f"c={concurrency} failures={failures_}")
                for label, f in figures.items():
                    print(
                        f"  {label:8s} CPU per turn {f['cpu_ms_per_turn']:6.2f} ms "
                        f"(x{f['cpu_ms_per_turn'] / base['cpu_ms_per_turn']:.2f} baseline)  "
                        f"p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms  "
                        f"{f['throughput_rps']:6.1f}/s "
                        f"(x{f['throughput_rps'] / base['throughput_rps']:.2f} baseline)"
                    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
