"""Fixtures: a real Redis (skipped without one, unless CI=true) and a key prefix per test.

Every test gets its own ``key_prefix`` and deletes everything under it
afterwards, so tests never see what an earlier run (or a parallel one) left.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis_quota_helpers import REDIS_URL, policy
from supportai_redis.settings import RedisQuotaSettings
from supportai_redis.store import RedisQuotaStore

from supportai.quota.base import QuotaPolicy


@functools.cache
def _probe(url: str) -> str | None:
    """Why ``url`` is unusable, or None. Probed once per session, without retries."""
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"Redis not reachable at {url} ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis URL, or a skip (a failure when CI=true) if nothing answers there."""
    message = _probe(REDIS_URL)
    if message is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true, so Redis tests must run")
        pytest.skip(f"{message}; set SUPPORTAI_TEST_REDIS_URL or start redis-server")
    return REDIS_URL


@pytest.fixture
def key_prefix() -> str:
    return f"supportai-test:{uuid.uuid4().hex[:16]}:"


StoreFactory = Callable[..., RedisQuotaStore]


@pytest.fixture
async def clean_prefix(redis_url: str, key_prefix: str) -> AsyncIterator[str]:
    """This test's key prefix on the real Redis; every key under it is deleted afterwards."""
    yield key_prefix
    cleaner: Redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [key async for key in cleaner.scan_iter(match=key_prefix + "*", count=1000)]
        if keys:
            await cleaner.delete(*keys)
    finally:
        await cleaner.aclose()


@pytest.fixture
async def make_store(redis_url: str, clean_prefix: str) -> AsyncIterator[StoreFactory]:
    """Build stores sharing this test's prefix; close them before the keys are deleted."""
    stores: list[RedisQuotaStore] = []

    def build(quota: QuotaPolicy | None = None, **options: Any) -> RedisQuotaStore:
        settings = RedisQuotaSettings(url=redis_url, key_prefix=clean_prefix, **options)
        store = RedisQuotaStore(quota or policy(), settings)
        stores.append(store)
        return store

    yield build
    for store in stores:
        await store.aclose()


@pytest.fixture
async def raw_redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client for looking at keys and TTLs directly."""
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, then closed, so it was free just now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    yield port
