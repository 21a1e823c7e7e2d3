"""The socket guard itself: it must stop a connection to a public address before any
packet leaves, let loopback through, and be active for the whole core run.

A guard that silently did nothing would make every "no egress" claim of the suite
worthless, so these tests attack it directly.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import egress_guard
import pytest

from supportai.testing import as_user

PUBLIC_V4 = ("93.184.215.14", 80)  # a documentation-range-free public address; never reached
PUBLIC_V6 = ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", 443)


def test_guard_is_installed_for_the_whole_run(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.has_plugin("egress_guard"), (
        "tests/conftest.py must load the guard: pytest_plugins = ['egress_guard']"
    )
    assert egress_guard.active() is not None
    assert socket.socket.connect is not egress_guard.active().originals["connect"]  # type: ignore[union-attr]


@pytest.mark.egress_expected
def test_connect_to_a_public_ip_is_refused_before_connecting() -> None:
    guard = egress_guard.install()
    before = len(guard.blocked)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # A non-blocking socket would return at once from a real connect (EINPROGRESS):
        # only a guard that raises *before* calling the kernel makes this raise EgressBlocked.
        s.setblocking(False)
        with pytest.raises(egress_guard.EgressBlocked):
            s.connect(PUBLIC_V4)
        with pytest.raises(egress_guard.EgressBlocked):
            s.connect_ex(PUBLIC_V4)
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6,
        pytest.raises(egress_guard.EgressBlocked),
    ):
        s6.connect(PUBLIC_V6)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
        pytest.raises(egress_guard.EgressBlocked),
    ):
        udp.sendto(b"x", ("8.8.8.8", 53))
    assert len(guard.blocked) == before + 4
    assert "93.184.215.14" in guard.blocked[before]


@pytest.mark.egress_expected
def test_name_resolution_of_a_public_host_is_refused() -> None:
    guard = egress_guard.install()
    with pytest.raises(egress_guard.EgressBlocked):
        socket.getaddrinfo("pypi.org", 443)
    with pytest.raises(egress_guard.EgressBlocked):
        socket.create_connection(("api.openai.com", 443), timeout=1)
    assert any("api.openai.com" in attempt for attempt in guard.blocked)


@pytest.mark.egress_expected
async def test_asyncio_connections_go_through_the_guard() -> None:
    guard = egress_guard.install()
    before = len(guard.blocked)
    with pytest.raises(OSError):
        await asyncio.open_connection(*PUBLIC_V4)
    with pytest.raises(OSError):
        await asyncio.get_running_loop().getaddrinfo("telemetry.example.com", 443)
    assert len(guard.blocked) >= before + 2


def test_swallowed_attempts_still_fail_the_test(tmp_path: Path) -> None:
    """Code that catches the error (a retrying telemetry client) cannot hide the attempt."""
    (tmp_path / "conftest.py").write_text("pytest_plugins = ['egress_guard']\n")
    (tmp_path / "test_swallow.py").write_text(
        "import socket\n\n"
        "def test_swallows():\n"
        "    try:\n"
        "        socket.create_connection(('1.1.1.1', 443), timeout=1)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(egress_guard.__file__).parent)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout, result.stdout
    assert "network egress attempted" in result.stdout and "1.1.1.1" in result.stdout


def test_loopback_and_unix_sockets_pass(tmp_path: Any) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
        with socket.create_connection(("localhost", server.getsockname()[1]), timeout=2):
            pass
    finally:
        server.close()
    assert egress_guard.is_local_address(str(tmp_path / "s.sock"))
    for host in (
        "127.0.0.1",
        "127.3.4.5",
        "::1",
        "[::1]",
        "localhost",
        "LOCALHOST.",
        None,
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ):
        assert egress_guard.is_local_host(host), host
    for host in (
        "10.0.0.1",
        "192.168.1.1",
        "8.8.8.8",
        "example.com",
        "::ffff:8.8.8.8",
        "127.0.0.1.nip.io",
        "2001:db8::1",
    ):
        assert not egress_guard.is_local_host(host), host


async def test_a_whole_turn_makes_no_outbound_connection(
    supportai_app: Any, supportai_client: Any
) -> None:
    """The core app, through a turn, touches only its database (loopback or a file)."""
    from supportai.testing import ScriptedBackend, backend_plugin

    guard = egress_guard.install()
    before = len(guard.blocked)
    backend = ScriptedBackend([ScriptedBackend.answer("Use the export button.")])
    app = supportai_app(plugins=[backend_plugin(backend)], llm_backend="scripted")
    client = supportai_client(app)
    cid = (await client.post("/conversations", json={}, headers=as_user())).json()[
        "conversation_id"
    ]
    r = await client.post(
        f"/conversations/{cid}/messages", json={"content": "export?"}, headers=as_user()
    )
    assert r.status_code == 200 and r.json()["status"] == "complete"
    assert guard.blocked[before:] == []
