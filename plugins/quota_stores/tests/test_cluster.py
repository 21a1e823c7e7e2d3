"""On a real three-node Redis Cluster: every script stays in its tenant's slot.

The fixture starts three private ``redis-server --cluster-enabled yes`` nodes on
free loopback ports and joins them with ``redis-cli --cluster create`` (about a
second); it skips when those binaries are not installed.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import RedisCluster
from redis.crc import key_slot
from redis_quota_helpers import NOW, caller, policy
from supportai_redis.settings import RedisQuotaSettings
from supportai_redis.store import RedisQuotaStore

from supportai.quota.base import QuotaDenied, QuotaStoreUnavailable, Reservation

WORST_CASE = 1_000
ADMITS = 10


def _free_cluster_port() -> int:
    """A port free now whose cluster-bus port (port + 10000) is free too."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _info(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10
    ).stdout


@pytest.fixture(scope="module")
def cluster_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server/redis-cli not installed: cannot start a private cluster")
    base: Path = tmp_path_factory.mktemp("cluster")
    ports = [_free_cluster_port() for _ in range(3)]
    processes = []
    try:
        for port in ports:
            node_dir = base / str(port)
            node_dir.mkdir()
            processes.append(
                subprocess.Popen(
                    [
                        server,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(node_dir),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 10
        while any("PONG" not in _info(port, "ping") for port in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("cluster nodes did not start")
            time.sleep(0.05)
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + 15
        while any("cluster_state:ok" not in _info(port, "cluster", "info") for port in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("cluster did not converge")
            time.sleep(0.1)
        yield ports
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def tenants_on_every_node(ports: list[int]) -> list[str]:
    """One tenant id whose hash slot each node serves."""
    ranges: list[tuple[int, int, int]] = []
    for line in _info(ports[0], "cluster", "nodes").splitlines():
        fields = line.split()
        port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
        for slots in fields[8:]:
            low, _, high = slots.partition("-")
            ranges.append((int(low), int(high or low), port))
    chosen: dict[int, str] = {}
    index = 0
    while len(chosen) < len(ports):
        tenant = f"tenant-{index}"
        slot = key_slot(("{" + tenant + "}").encode())
        node = next(port for low, high, port in ranges if low <= slot <= high)
        chosen.setdefault(node, tenant)
        index += 1
    return list(chosen.values())


async def test_exact_admission_and_every_operation_on_a_cluster(cluster_ports: list[int]) -> None:
    settings = RedisQuotaSettings(url=f"redis://127.0.0.1:{cluster_ports[0]}", cluster=True)
    store = RedisQuotaStore(policy(user_daily_micros=ADMITS * WORST_CASE), settings)
    assert isinstance(store.redis, RedisCluster)
    tenants = tenants_on_every_node(cluster_ports)
    try:
        kept: dict[str, list[Reservation]] = {}
        for tenant in tenants:
            who = caller("alice", tenant=tenant)
            results = await asyncio.gather(
                *(store.reserve(who, WORST_CASE, NOW) for _ in range(50)),
                return_exceptions=True,
            )
            admitted = [r for r in results if isinstance(r, Reservation)]
            assert len(admitted) == ADMITS, [
                r for r in results if not isinstance(r, Reservation | QuotaDenied)
            ]
            assert sum(isinstance(r, QuotaDenied) for r in results) == 50 - ADMITS
            await store.settle(admitted[0], 300)
            await store.release(admitted[1])
            kept[tenant] = admitted[2:]
        for tenant in tenants:
            status = {b.kind: b for b in (await store.status(caller("alice", tenant), NOW)).buckets}
            assert (status["user_cost"].used, status["user_cost"].reserved) == (
                300,
                (ADMITS - 2) * WORST_CASE,
            )
            assert (status["user_turns"].used, status["user_turns"].reserved) == (1, ADMITS - 2)
        # The sweep reaches every tenant, whichever node holds it.
        assert await store.release_expired(NOW + 1000) == len(tenants) * (ADMITS - 2)
        # lapsed holds are charged in full; a late settle replaces one charge by its cost
        charged = 300 + (ADMITS - 2) * WORST_CASE
        await store.settle(kept[tenants[0]][0], 50)
        status = {b.kind: b for b in (await store.status(caller("alice", tenants[0]), NOW)).buckets}
        assert (status["user_cost"].used, status["user_cost"].reserved) == (
            charged - WORST_CASE + 50,
            0,
        )
    finally:
        await store.aclose()


async def test_an_unreachable_cluster_fails_closed(closed_port: int) -> None:
    settings = RedisQuotaSettings(url=f"redis://127.0.0.1:{closed_port}", cluster=True)
    store = RedisQuotaStore(policy(), settings)
    try:
        with pytest.raises(QuotaStoreUnavailable):
            await store.reserve(caller(), 10, NOW)
        with pytest.raises(QuotaStoreUnavailable):
            await store.status(caller(), NOW)
    finally:
        await store.aclose()
