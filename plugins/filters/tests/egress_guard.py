"""A socket guard: record and refuse every connection attempt to a non-loopback host.

Used in-process (a fixture) and in a subprocess (where exporter threads would
keep the interpreter alive), to prove that the filters make no outbound
connection on their own.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", ""}


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host)
    return host in LOOPBACK_NAMES or host.startswith("127.")


def install(attempts: list[str], report: Callable[[str], None] | None = None) -> Callable[[], None]:
    """Patch the socket module; return a function that restores it.

    ``report`` is called at each attempt as it happens, which matters for
    attempts made by exporter threads while the interpreter shuts down.
    """
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_create_connection = socket.create_connection
    original_getaddrinfo = socket.getaddrinfo

    def refuse(what: str) -> OSError:
        attempts.append(what)
        if report is not None:
            report(what)
        return OSError(f"egress refused by test guard: {what}")

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise refuse(f"connect {address!r}")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise refuse(f"connect_ex {address!r}")
        return original_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _is_loopback(address[0]):
            raise refuse(f"create_connection {address!r}")
        return original_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            raise refuse(f"getaddrinfo {host!r}")
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.create_connection = create_connection
    socket.getaddrinfo = getaddrinfo

    def restore() -> None:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
        socket.create_connection = original_create_connection
        socket.getaddrinfo = original_getaddrinfo

    return restore
