"""Fixtures of the host app's tests: an isolated environment, the app in-process, a live server.

Every app here gets its own data folder and a clean ``SUPPORTAI_*`` / ``HOST_APP_*``
environment (the host writes its supportai defaults into ``os.environ``, and the
developer's shell may have some set), restored afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from host_app import HostConfig, create_host_app
from starlette.applications import Starlette

_PREFIXES = ("SUPPORTAI_", "HOST_APP_")


@contextmanager
def clean_environment(**overrides: str) -> Iterator[None]:
    """Drop every SUPPORTAI_*/HOST_APP_* variable, apply ``overrides``, restore on exit."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(_PREFIXES)}
    for key in saved:
        del os.environ[key]
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith(_PREFIXES)]:
            del os.environ[key]
        os.environ.update(saved)


def make_config(data_dir: Path, **overrides: object) -> HostConfig:
    # Fast streaming by default; the browser test slows it down to see it arrive.
    values: dict[str, object] = {"data_dir": data_dir, "stream_delay_s": 0.0}
    values.update(overrides)
    return HostConfig().model_copy(update=values)


@pytest.fixture
def host_env() -> Iterator[None]:
    with clean_environment():
        yield


@pytest.fixture(scope="session")
def seeded_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after one first start (users seeded, supportai migrated), made once.

    Each test starts from a copy: seeding hashes five passwords with scrypt on
    purpose slowly, and the tests that check seeding itself start from empty.
    """
    import asyncio

    folder = tmp_path_factory.mktemp("seeded") / "data"

    async def first_start() -> None:
        app = create_host_app(make_config(folder))
        async with app.router.lifespan_context(app):
            pass

    with clean_environment():
        asyncio.run(first_start())
    return folder


@pytest.fixture
async def host_app(
    tmp_path: Path, host_env: None, seeded_data: Path
) -> AsyncIterator[Starlette]:
    """The app with its lifespan running, on a copy of the seeded data folder."""
    data = tmp_path / "data"
    shutil.copytree(seeded_data, data)
    app = create_host_app(make_config(data))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(host_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=host_app), base_url="http://lumen.test"
    ) as http:
        yield http


async def sign_in(
    http: httpx.AsyncClient, email: str, password: str = "lumen-demo"
) -> httpx.Response:
    return await http.post(
        "/login",
        data={"email": email, "password": password, "next": "/support/chat"},
        follow_redirects=False,
    )


@dataclass
class LiveServer:
    url: str
    app: Starlette
    data_dir: Path


@contextmanager
def live_server(config: HostConfig) -> Iterator[LiveServer]:
    """Serve the app with uvicorn on 127.0.0.1:<free port> in a thread; stop with should_exit."""
    app = create_host_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the host app did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=f"http://{host}:{port}", app=app, data_dir=config.data_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
