"""Private servers for the fault suite: a Redis of its own, and a uvicorn worker to kill.

The kill and stall scenarios (``CLIENT PAUSE``, ``kill -9``) must never touch the
shared servers of the machine, so each test that needs one starts its own
``redis-server`` on a free port in a temporary directory and removes it afterwards.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from supportai.testing import require_service


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def own_redis(directory: Path) -> AsyncIterator[str]:
    """A throw-away ``redis-server`` (no persistence) on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        require_service("redis-server", "the binary is not installed")
    assert binary is not None
    port = free_port()
    process = _spawn_redis(binary, port, directory)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                await client.ping()
                break
            except Exception:
                assert process.poll() is None, (directory / "redis.log").read_text()
                assert time.monotonic() < deadline, "own redis-server did not start"
                await asyncio.sleep(0.05)
        await client.aclose()
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)


def _spawn_redis(binary: str, port: int, directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=(directory / "redis.log").open("w"),
        stderr=subprocess.STDOUT,
    )


async def pause_redis(url: str, seconds: float) -> None:
    """``CLIENT PAUSE`` on the private server: every client's commands wait meanwhile."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")
    finally:
        await client.aclose()
