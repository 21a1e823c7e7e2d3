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


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class OwnPostgres:
    """A throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``) that a test may stop and start.

    Runs as the ``postgres`` system user when the tests run as root (PostgreSQL
    refuses to run as root). Never the shared server: its own directory and port.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        import os

        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        import os

        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            # fsync off: the OS keeps what was written across a server crash (all the
            # tests cause); synchronous_commit stays on, or a crash loses commits
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
            "-l", str(self.directory / "postgres.log"), "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")


@asynccontextmanager
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    """A private PostgreSQL on a free port, in a directory of its own, removed afterwards.

    Not under pytest's ``tmp_path``: its parents are private to the user running the
    tests, and the server may run as another one.
    """
    import contextlib
    import tempfile

    if not (PG_BIN / "initdb").exists():
        require_service("PostgreSQL binaries", f"{PG_BIN} is missing")
    server = OwnPostgres(Path(tempfile.mkdtemp(prefix="supportai-pg-")))
    try:
        await asyncio.to_thread(server.init)
        await asyncio.to_thread(server.start)
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            await asyncio.to_thread(server.stop)  # already stopped by the test, maybe
        shutil.rmtree(server.directory, ignore_errors=True)
