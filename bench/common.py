"""Shared pieces of the benchmarks: a loopback server, a load client, statistics.

Everything is measured as a ratio against a baseline run in the same process,
alternating A and B, because absolute times drift on shared machines.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1:<free port> in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_process(factory: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``uvicorn --factory <factory>`` in its own process on loopback.

    A separate process keeps the server and the load client from sharing one
    GIL, which would distort both sides of the comparison alike but badly.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{factory} exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{factory} did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Sample:
    latency_ms: float
    first_delta_ms: float
    ok: bool


@dataclass
class RunStats:
    label: str
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0

    def _pct(self, values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        index = min(round(q * (len(ordered) - 1)), len(ordered) - 1)
        return ordered[index]

    def summary(self) -> dict[str, float]:
        ok = [s for s in self.samples if s.ok]
        latency = [s.latency_ms for s in ok]
        first = [s.first_delta_ms for s in ok]
        return {
            "requests": len(self.samples),
            "errors": len(self.samples) - len(ok),
            "p50_ms": self._pct(latency, 0.50),
            "p99_ms": self._pct(latency, 0.99),
            "ttfd_p50_ms": self._pct(first, 0.50),
            "ttfd_p99_ms": self._pct(first, 0.99),
            "mean_ms": statistics.fmean(latency) if latency else float("nan"),
            "throughput_rps": len(ok) / self.wall_s if self.wall_s else 0.0,
        }


async def sse_request(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Sample:
    """Send one SSE request; time to the first ``delta`` event and to the end."""
    started = time.perf_counter()
    first = 0.0
    ok = False
    async with client.stream(method, url, **kwargs) as response:
        async for chunk in response.aiter_bytes():
            if not first and b"event: delta" in chunk:
                first = time.perf_counter()
            if b"event: turn.completed" in chunk or b"event: done" in chunk:
                ok = response.status_code == 200
    ended = time.perf_counter()
    return Sample((ended - started) * 1000, ((first or ended) - started) * 1000, ok)


async def load(
    label: str,
    concurrency: int,
    requests: int,
    one: Callable[[int], Awaitable[Sample]],
) -> RunStats:
    """``requests`` calls of ``one(worker)`` with ``concurrency`` in flight."""
    stats = RunStats(label, concurrency)
    counter = iter(range(requests))

    async def worker(index: int) -> None:
        for _ in counter:
            try:
                stats.samples.append(await one(index))
            except Exception:
                stats.samples.append(Sample(0.0, 0.0, False))

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    stats.wall_s = time.perf_counter() - started
    return stats


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
