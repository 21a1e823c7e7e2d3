"""Helpers of the host app's tests: an isolated environment, configs, sign-in, a live server.

Named uniquely (not ``conftest``) so that importing it works however pytest is invoked,
also together with other test folders that have a ``conftest`` of their own.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
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
def live_server(config: HostConfig, plugins: tuple[object, ...] = ()) -> Iterator[LiveServer]:
    """Serve the app with uvicorn on 127.0.0.1:<free port> in a thread; stop with should_exit.

    ``plugins`` go to supportai (a scripted LLM backend, for example).
    """
    app = create_host_app(config, plugins=plugins)
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
