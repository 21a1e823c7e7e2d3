"""Redis unreachable: fail closed (the default) or fail open, and recover afterwards."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis_quota_helpers import NOW, caller, policy
from supportai_redis.settings import RedisQuotaSettings
from supportai_redis.store import UNMETERED_PREFIX, RedisQuotaStore

from supportai.quota.base import QuotaStoreUnavailable, Reservation


@pytest.fixture
async def unreachable(closed_port: int) -> AsyncIterator[Any]:
    """Stores pointed at a loopback port nothing listens on."""
    stores: list[RedisQuotaStore] = []

    def build(**options: Any) -> RedisQuotaStore:
        settings = RedisQuotaSettings(
            url=f"redis://127.0.0.1:{closed_port}/0", key_prefix="unreachable:", **options
        )
        store = RedisQuotaStore(policy(), settings)
        stores.append(store)
        return store

    yield build
    for store in stores:
        await store.aclose()


def a_stored_reservation() -> Reservation:
    """A reservation shaped like one Redis handed out before it went away."""
    return Reservation(
        id="0" * 32,
        tenant_id="acme",
        user_id="alice",
        amount_micros=10,
        bucket_keys=("{acme}:a", "{acme}:b", "{acme}:c", "{acme}:d"),
        expires_at=NOW + 300,
    )


async def test_fail_closed_is_the_default_and_refuses_everything(unreachable: Any) -> None:
    store = unreachable()
    assert store.options.fail_open is False
    started = time.perf_counter()
    with pytest.raises(QuotaStoreUnavailable, match="reserve failed, Redis unavailable"):
        await store.reserve(caller(), 10, NOW)
    assert time.perf_counter() - started < 2.0  # a refused connect fails fast
    with pytest.raises(QuotaStoreUnavailable):
        await store.settle(a_stored_reservation(), 5)
    with pytest.raises(QuotaStoreUnavailable):
        await store.release(a_stored_reservation())
    with pytest.raises(QuotaStoreUnavailable):
        await store.status(caller(), NOW)
    with pytest.raises(QuotaStoreUnavailable):
        await store.release_expired(NOW)


async def test_fail_open_admits_unmetered_turns_and_warns_once(
    unreachable: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = unreachable(fail_open=True)
    with caplog.at_level(logging.WARNING, logger="supportai_redis"):
        first = await store.reserve(caller(), 10, NOW)
        second = await store.reserve(caller(), 10, NOW)
    assert first.id.startswith(UNMETERED_PREFIX)
    assert first.bucket_keys == ()
    assert first.amount_micros == 10
    assert first.id != second.id
    warnings = [r for r in caplog.records if "fail_open is on" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited: an outage must not flood the log
    # Unmetered reservations settle and release as no-ops, without touching Redis.
    await store.settle(first, 5)
    await store.release(second)
    # A reservation made while Redis was up is not lost silently either: a warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="supportai_redis"):
        await store.settle(a_stored_reservation(), 5)
    assert "during settle" in caplog.text
    # There is no honest status to report, open or not.
    with pytest.raises(QuotaStoreUnavailable):
        await store.status(caller(), NOW)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung Redis)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


async def test_a_hung_redis_times_out_into_unavailable(silent_server: int) -> None:
    settings = RedisQuotaSettings(
        url=f"redis://127.0.0.1:{silent_server}/0", socket_timeout_s=0.2, retries=1
    )
    store = RedisQuotaStore(policy(), settings)
    try:
        started = time.perf_counter()
        with pytest.raises(QuotaStoreUnavailable, match="Timeout"):
            await store.reserve(caller(), 10, NOW)
        assert time.perf_counter() - started < 2.0
    finally:
        await store.aclose()


@pytest.fixture
def own_redis_server(closed_port: int) -> Iterator[Any]:
    """A private redis-server we may stop and start (its script cache dies with it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server binary not installed; the restart test needs its own server")
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(closed_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", closed_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop() -> None:
        process = processes[-1]
        process.terminate()
        process.wait(timeout=10)

    start()
    yield start, stop, closed_port
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


async def test_recovers_after_a_redis_restart(own_redis_server: Any) -> None:
    start, stop, port = own_redis_server
    store = RedisQuotaStore(
        policy(), RedisQuotaSettings(url=f"redis://127.0.0.1:{port}/0", health_check_interval_s=0)
    )
    try:
        held = await store.reserve(caller(), 10, NOW)
        stop()
        with pytest.raises(QuotaStoreUnavailable):
            await store.reserve(caller(), 10, NOW)
        with pytest.raises(QuotaStoreUnavailable):
            await store.settle(held, 5)
        start()  # an empty server: no data, and no loaded scripts (NOSCRIPT)
        again = await store.reserve(caller(), 10, NOW)
        crashed = await store.reserve(caller(), 20, NOW)
        await store.settle(again, 7)
        await store.settle(held, 5)  # its record died with the old server: a logged no-op
        cost = {b.kind: b for b in (await store.status(caller(), NOW)).buckets}["user_cost"]
        assert (cost.used, cost.reserved) == (7, 20)
        # The tenant registry died too; the store noticed and wrote it again, so
        # the sweep still finds the hold of a turn that never settles.
        assert await store.release_expired(NOW + 10_000) == 1
        await store.release(crashed)
    finally:
        await store.aclose()
        await asyncio.sleep(0)


async def test_a_full_redis_fails_closed_without_a_partial_charge(own_redis_server: Any) -> None:
    _, _, port = own_redis_server
    store = RedisQuotaStore(policy(), RedisQuotaSettings(url=f"redis://127.0.0.1:{port}/0"))
    try:
        await store.reserve(caller(), 10, NOW)
        await store.redis.config_set("maxmemory-policy", "noeviction")
        await store.redis.config_set("maxmemory", 1)  # every write is now refused (OOM)
        with pytest.raises(QuotaStoreUnavailable, match="OutOfMemoryError"):
            await store.reserve(caller(), 10, NOW)
        await store.redis.config_set("maxmemory", 0)
        status = {b.kind: b for b in (await store.status(caller(), NOW)).buckets}
        assert (status["user_turns"].reserved, status["user_cost"].reserved) == (1, 10)
    finally:
        await store.aclose()
