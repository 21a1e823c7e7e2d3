"""Helpers of the host app's tests: an isolated environment, configs, sign-in, a live server.

Named uniquely (not ``conftest``) so that importing it works however pytest is invoked,
also together with other test folders that have a ``conftest`` of their own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
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


class CuttingProxy:
    """A TCP forwarder in front of a live server whose open connections a test can cut.

    What a phone switching networks does to a stream, without timing tricks: the
    browser talks to :attr:`url`; :meth:`cut` resets every connection open at that
    moment (the browser's socket gets an RST mid-response), and new connections go
    through as before, so the browser can reconnect. Playwright's request routing
    cannot do this: ``route.fetch()`` reads the whole response before the page sees
    any of it, so a "cut" there lands after the server finished the answer.
    """

    def __init__(self, target: str) -> None:
        host, _, port = target.removeprefix("http://").partition(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open: set[tuple[socket.socket, socket.socket]] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                browser_side, _ = self._listener.accept()
            except OSError:  # closed
                return
            server_side = socket.create_connection(self._target)
            pair = (browser_side, server_side)
            with self._lock:
                self._open.add(pair)
            for source, sink in (pair, pair[::-1]):
                threading.Thread(target=self._pump, args=(source, sink, pair), daemon=True).start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            if pair not in self._open:
                return  # cut (or already ended by the other direction)
            self._open.discard(pair)
        for side in pair:  # one direction ended: the connection is over
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
            side.close()

    def cut(self) -> int:
        """Reset every open connection (RST to the browser); returns how many there were."""
        with self._lock:
            pairs = list(self._open)
            self._open.clear()
        for browser_side, server_side in pairs:
            # Linger 0: the close sends an RST, as a dropped network does, not a clean
            # FIN. SHUT_RD wakes the thread reading the socket without sending anything.
            browser_side.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                browser_side.shutdown(socket.SHUT_RD)
            with contextlib.suppress(OSError):
                server_side.shutdown(socket.SHUT_RDWR)
            browser_side.close()
            server_side.close()
        return len(pairs)

    def close(self) -> None:
        self._listener.close()
        self.cut()
