"""Shared pieces of the benchmarks: a loopback server, a load client, statistics.

Everything is measured as a ratio against a baseline run in the same process,
alternating A and B, because absolute times drift on shared machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any


def sdk_async_client(timeout: float) -> Any:
    """An async HTTP client like the one the ``openai`` backend reads through by default.

    The backend runs the SDK on its aiohttp client when ``openai[aiohttp]`` is
    installed (``SUPPORTAI_OPENAI_HTTP_CLIENT=auto``), else on the SDK's httpx;
    baselines read the mock through the same one, so an A/B difference is what the
    code above the HTTP client costs, not which parser reads the bytes.
    """
    from supportai_llm_backends.openai_backend import sdk_http_client

    client = sdk_http_client(os.environ.get("SUPPORTAI_OPENAI_HTTP_CLIENT", "auto"))
    if client is not None:
        client.timeout = timeout
        return client
    return http_client_module().AsyncClient(timeout=timeout)


def http_client_module() -> ModuleType:
    """The HTTP library the installed ``openai`` SDK runs on (httpx2 from 3.x, httpx before).

    Baselines that read the mock upstream directly use the same one, so an A/B
    difference is what the code above the HTTP client costs.
    """
    import openai

    if int(openai.__version__.split(".")[0]) >= 3:
        import httpx2

        return httpx2
    import httpx

    return httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Server:
    """A server process under test: where it listens and its pid (for its CPU time)."""

    base: str
    pid: int

    def cpu_s(self) -> float:
        """User + system CPU seconds this process has used, from ``/proc/<pid>/stat``."""
        return process_cpu_s(self.pid)


def process_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        # the command name (field 2) may hold spaces: split after its closing parenthesis
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve_process(
    factory: str, env: dict[str, str] | None = None, python: str | None = None
) -> Iterator[Server]:
    """Run ``uvicorn --factory <factory>`` in its own process on loopback.

    A separate process keeps the server and the load client from sharing one
    GIL, which would distort both sides of the comparison alike but badly, and
    lets its CPU time be read on its own. ``python`` runs it under another
    interpreter (a virtualenv holding LiteLLM, say).
    """
    port = free_port()
    command = [
        python or sys.executable,
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
        # The same server for both sides of a comparison, named explicitly: uvicorn's
        # "auto" picks uvloop and httptools whenever they happen to be installed.
        # BENCH_UVICORN_ARGS="--loop uvloop --http httptools" measures that setup.
        *os.environ.get("BENCH_UVICORN_ARGS", "--loop asyncio --http h11").split(),
    ]
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, cwd=ROOT)
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
        yield Server(base, process.pid)
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
    cpu_s: float | None = None  # the server process's CPU time over the run

    def _pct(self, values: list[float], q: float) -> float:
        if not values:
            return 0.0  # no successful request: the run fails (see failures()), never NaN
        ordered = sorted(values)
        index = min(round(q * (len(ordered) - 1)), len(ordered) - 1)
        return ordered[index]

    def summary(self) -> dict[str, float]:
        ok = [s for s in self.samples if s.ok]
        latency = [s.latency_ms for s in ok]
        first = [s.first_delta_ms for s in ok]
        cpu = self.cpu_s * 1000 / len(self.samples) if self.cpu_s and self.samples else 0.0
        return {
            "requests": len(self.samples),
            "errors": len(self.samples) - len(ok),
            "cpu_ms_per_turn": cpu,
            "p50_ms": self._pct(latency, 0.50),
            "p99_ms": self._pct(latency, 0.99),
            "ttfd_p50_ms": self._pct(first, 0.50),
            "ttfd_p99_ms": self._pct(first, 0.99),
            "mean_ms": statistics.fmean(latency) if latency else 0.0,
            "throughput_rps": len(ok) / self.wall_s if self.wall_s else 0.0,
        }


class RawSSEClient:
    """A minimal HTTP/1.1 keep-alive client for timing SSE responses, one per worker.

    httpx spends about 10 us per received chunk: a bare Starlette endpoint
    that writes 200 events costs the load client more CPU than the server, and
    at concurrency 16 the client, not the server, set the baseline's numbers
    (it ran at 100 % CPU). This client reads the chunked body with a few
    buffered reads per chunk and parses nothing else, so both sides of an A/B
    comparison are measured by what the servers do.
    """

    #: uvicorn closes a keep-alive connection idle for 5 s; reuse one only if fresher.
    IDLE_REUSE_S = 2.0

    def __init__(self, base: str) -> None:
        host_port = base.removeprefix("http://")
        host, _, port = host_port.partition(":")
        self._host, self._port = host, int(port)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._last_used = 0.0

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Sample:
        """One request; after any error the connection is dropped and the next one reconnects."""
        if self._writer is not None and time.monotonic() - self._last_used > self.IDLE_REUSE_S:
            await self.close()  # the server may be closing it right now: do not race it
        try:
            sample = await self._post(path, body, headers)
        except BaseException:
            await self.close()
            raise
        self._last_used = time.monotonic()
        if not sample.ok:
            await self.close()
        return sample

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> Sample:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        lines = [
            f"POST {path} HTTP/1.1",
            f"host: {self._host}:{self._port}",
            "content-type: application/json",
            "accept: text/event-stream",
            f"content-length: {len(body)}",
        ]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        started = time.perf_counter()
        first = 0.0
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        ok_status = head.startswith(b"HTTP/1.1 200")
        if b"chunked" not in head.lower():
            raise RuntimeError(f"expected a chunked SSE response, got {head[:200]!r}")
        completed = False
        edge = b""  # the end of the previous chunk: a marker may straddle two chunks
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
            data = edge + await reader.readexactly(size + 2)
            if size == 0:
                break
            if not first and b"event: delta" in data:
                first = time.perf_counter()
            if not completed:
                completed = b"event: turn.completed" in data or b"event: done" in data
            edge = data[-32:]
        ended = time.perf_counter()
        ok = ok_status and completed
        return Sample((ended - started) * 1000, ((first or ended) - started) * 1000, ok)


async def load(
    label: str,
    concurrency: int,
    requests: int,
    one: Callable[[int], Awaitable[Sample]],
    server: Server | None = None,
) -> RunStats:
    """``requests`` calls of ``one(worker)`` with ``concurrency`` in flight.

    A failed request is counted (``errors`` in the summary; see :func:`failures`)
    and its worker goes on with a fresh connection. With ``server``, the CPU
    time that process spent over the run is recorded.
    """
    stats = RunStats(label, concurrency)
    counter = iter(range(requests))

    async def worker(index: int) -> None:
        for _ in counter:
            try:
                stats.samples.append(await one(index))
            except Exception:
                stats.samples.append(Sample(0.0, 0.0, False))

    cpu = server.cpu_s() if server else 0.0
    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    stats.wall_s = time.perf_counter() - started
    if server:
        stats.cpu_s = server.cpu_s() - cpu
    return stats


def failures(runs: list[RunStats]) -> list[str]:
    """``label c=N: k of n failed`` for every run with a failed request."""
    return [
        f"{run.label} c={run.concurrency}: {errors} of {len(run.samples)} requests failed"
        for run in runs
        if (errors := sum(not sample.ok for sample in run.samples))
    ]


def best(runs: list[RunStats]) -> dict[str, float]:
    """The round with the lowest CPU per turn (the least disturbed by other load)."""
    return min((run.summary() for run in runs), key=lambda s: (s["cpu_ms_per_turn"], s["p50_ms"]))


def plain_deltas(lines: list[bytes]) -> list[str]:
    """The text of complete ``data: {chunk}`` SSE lines, with nothing but ``json.loads``."""
    texts: list[str] = []
    for line in lines:
        if line.startswith(b"data: {"):
            for choice in json.loads(line[6:])["choices"]:
                text = choice["delta"].get("content")
                if text:
                    texts.append(text)
    return texts


def example_questions() -> list[str]:
    """Every question of the example help center's question set, in file order."""
    path = Path(__file__).resolve().parent.parent / "examples/host_app/eval/questions.jsonl"
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()]


def minilm_service(source: Any, embedder: Any, store: Any, **settings: Any) -> Any:
    """A retrieval service ranking with ``minilm``'s calibration and ``settings`` over the
    given articles, embedder and store (two such share an index's inputs in an A/B)."""
    from supportai_llm_backends.knowledge import calibrated, service_with
    from supportai_llm_backends.settings import KnowledgeBaseSettings

    chosen = calibrated(KnowledgeBaseSettings(embedder="minilm", **settings))
    return service_with(chosen, source, lambda: embedder, store)


async def alternating_searches(
    first: Any, second: Any, questions: Sequence[str], rounds: int, tenant: str = "bench"
) -> tuple[list[float], list[float]]:
    """Seconds per ``search`` of every question through two retrieval services, ``rounds``
    times, alternating which goes first question by question so that the machine's noise
    falls on both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for round_ in range(rounds):
        for n, question in enumerate(questions):
            order = (0, 1) if (n + round_) % 2 == 0 else (1, 0)
            for which in order:
                service = first if which == 0 else second
                started = time.perf_counter()
                await service.search(tenant, question)
                times[which].append(time.perf_counter() - started)
    return times


def median_p99(seconds: Sequence[float]) -> tuple[float, float]:
    """The median and the p99 of ``seconds`` (the value at rank ``int(n * 0.99)``, 1-based,
    as the same-process A/B benches have always reported it)."""
    ordered = sorted(seconds)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def ratio(a: float, b: float) -> float:
    """``a / b``; 0 when ``b`` is 0, which only a failed run produces (it exits non-zero)."""
    return a / b if b else 0.0


def print_result(result: dict[str, Any], as_json: bool) -> None:
    """A standalone bench's figures: JSON with ``--json``, else one aligned line each."""
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:>30}: {value}")


def rounds_main(
    description: str,
    run: Callable[[int], dict[str, Any]],
    argv: Sequence[str] | None,
    rounds: int = 3,
) -> int:
    """The command line of a same-process A/B bench: ``--rounds N`` and ``--json``;
    ``run(rounds)`` returns the figures to print."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    print_result(run(args.rounds), args.json)
    return 0
