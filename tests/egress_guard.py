"""No egress during the test run, and the reliability suite's summary (issue 8).

Loaded as a pytest plugin from ``tests/conftest.py`` (``pytest_plugins = ["egress_guard"]``).

*Guard.* For the whole session, every outbound connection attempt is checked before it
is made: ``socket.socket.connect``/``connect_ex``/``sendto`` and name resolution
(``socket.getaddrinfo``, which ``asyncio``'s ``loop.getaddrinfo`` and
``loop.create_connection`` go through). Loopback addresses, ``localhost`` and Unix
sockets pass; anything else raises :class:`EgressBlocked` *before* a packet leaves, and
is recorded. Code under test may swallow the error (an HTTP client retrying, a
telemetry thread), so raising is not enough: a per-test check fails the test that made
the attempt at teardown, naming the address.

*Summary.* Tests of the suite call :func:`count` ("fuzz cases", "matrix cells",
"bursts", "faults", ...) and :func:`timed`; ``pytest_terminal_summary`` prints the
figures at the end of the run so CI logs show how much was exercised.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

# -- the guard ---------------------------------------------------------------------------------


class EgressBlocked(ConnectionRefusedError):
    """A connection to a non-loopback address was attempted (and not made).

    A ``ConnectionRefusedError`` (an ``OSError``) so that the code under test sees the
    same failure as an unreachable host; the test still fails through the record.
    """


_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", ""})


def is_local_host(host: Any) -> bool:
    """True for loopback IP literals, ``localhost`` names and "no host" (``None``)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("idna", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower().rstrip(".")
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # 0.0.0.0 / :: as a *destination* means "this host" on Linux.
    return address.is_loopback or address.is_unspecified


def is_local_address(address: Any) -> bool:
    """A socket address tuple (or Unix path) that stays on this machine."""
    if isinstance(address, (str, bytes)):  # AF_UNIX path or abstract name
        return True
    if isinstance(address, tuple) and address:
        return is_local_host(address[0])
    return False


@dataclass
class Guard:
    """The installed patches and every blocked attempt, in order."""

    blocked: list[str] = field(default_factory=list)
    originals: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse(self, what: str) -> EgressBlocked:
        with self.lock:
            self.blocked.append(what)
        return EgressBlocked(f"egress blocked by the test guard: {what}")


_guard: Guard | None = None


def install() -> Guard:
    """Patch the socket layer (idempotent). Returns the active guard."""
    global _guard
    if _guard is not None:
        return _guard
    guard = Guard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo
    guard.originals = {
        "connect": real_connect,
        "connect_ex": real_connect_ex,
        "sendto": real_sendto,
        "getaddrinfo": real_getaddrinfo,
    }

    def connect(self: socket.socket, address: Any) -> None:
        if not is_local_address(address):
            raise guard.refuse(f"connect {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not is_local_address(address):
            raise guard.refuse(f"connect_ex {address!r}")
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        address = args[-1] if args else None
        if address is not None and not is_local_address(address):
            raise guard.refuse(f"sendto {address!r}")
        return real_sendto(self, data, *args)  # type: ignore[arg-type]

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_local_host(host):
            raise guard.refuse(f"resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    _guard = guard
    return guard


def uninstall() -> None:
    global _guard
    if _guard is None:
        return
    socket.socket.connect = _guard.originals["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = _guard.originals["connect_ex"]  # type: ignore[method-assign]
    socket.socket.sendto = _guard.originals["sendto"]  # type: ignore[method-assign]
    socket.getaddrinfo = _guard.originals["getaddrinfo"]
    _guard = None


def active() -> Guard | None:
    return _guard


@pytest.fixture(scope="session", autouse=True)
def _no_egress_session() -> Iterator[Guard]:
    """Session-wide: the patches stay on for every test of the run."""
    guard = install()
    yield guard
    uninstall()


@pytest.fixture(autouse=True)
def _no_egress_check(_no_egress_session: Guard, request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test that attempted egress, even if the code under test swallowed the error."""
    seen = len(_no_egress_session.blocked)
    yield
    if request.node.get_closest_marker("egress_expected"):
        return
    attempts = _no_egress_session.blocked[seen:]
    if attempts:
        pytest.fail(
            "network egress attempted (blocked before connecting): " + "; ".join(attempts[:5]),
            pytrace=False,
        )


# -- the summary ---------------------------------------------------------------------------------

_counts: Counter[str] = Counter()
_durations: dict[str, float] = {}

#: Figures printed first, in this order (issue 8's "must show").
HEADLINE = ("fuzz cases", "fuzz operations", "matrix cells", "bursts", "burst turns", "faults")


def count(name: str, n: int = 1) -> None:
    """Add ``n`` to a figure of the end-of-run summary."""
    _counts[name] += n


def figures() -> dict[str, int]:
    return dict(_counts)


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Accumulate wall time under ``name`` for the summary."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _durations[name] = _durations.get(name, 0.0) + time.perf_counter() - started


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "egress_expected: the test provokes a blocked connection on purpose"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _counts and not _durations:
        return
    write: Callable[..., Any] = terminalreporter.write_line
    terminalreporter.section("supportai reliability suite")
    names = [n for n in HEADLINE if n in _counts] + sorted(set(_counts) - set(HEADLINE))
    for name in names:
        write(f"{name:>28}: {_counts[name]}")
    for name, seconds in sorted(_durations.items()):
        write(f"{'time ' + name:>28}: {seconds:.1f}s")
    guard = active()
    if guard is not None:
        write(f"{'egress attempts blocked':>28}: {len(guard.blocked)}")
