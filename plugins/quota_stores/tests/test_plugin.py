"""Registration through the plugin system, settings, and lazy connecting (no Redis needed)."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import pytest
import supportai_redis.plugin
from supportai_redis.settings import RedisQuotaSettings
from supportai_redis.store import RedisQuotaStore

from supportai.errors import ConfigurationError
from supportai.plugins import (
    Hooks,
    ProviderContext,
    Registry,
    create_plugin_manager,
    load_plugin_settings,
    redacted_settings,
    settings_key,
)
from supportai.quota.base import QuotaPolicy, QuotaStore
from supportai.settings import Settings

if sys.version_info >= (3, 12):
    from importlib.metadata import entry_points
else:
    from importlib_metadata import entry_points


def build(settings: Settings) -> Any:
    """What core does for SUPPORTAI_QUOTA_STORE: register, load settings, build by name."""
    pm = create_plugin_manager(
        settings, extra_plugins=[supportai_redis.plugin], load_entry_points=False
    )
    hooks = Hooks(pm)
    registry = Registry("quota store")
    hooks.register_quota_stores(registry.register)
    extra: dict[str, Any] = {}
    if "database" in {f.name for f in dataclasses.fields(ProviderContext)}:
        extra["database"] = None  # the redis store never touches the app database
    context = ProviderContext(
        settings=settings,
        hooks=hooks,
        _plugin_settings=load_plugin_settings(hooks, settings),
        **extra,
    )
    return registry.build(settings.quota_store, context, "SUPPORTAI_QUOTA_STORE")


def test_the_entry_point_is_named_redis() -> None:
    found = {ep.name: ep for ep in entry_points(group="supportai")}
    assert found["redis"].value == "supportai_redis.plugin"
    assert found["redis"].load() is supportai_redis.plugin


def test_settings_key_and_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_key(RedisQuotaSettings) == "redis"
    monkeypatch.setenv("SUPPORTAI_REDIS_KEY_PREFIX", "prod-eu:")
    monkeypatch.setenv("SUPPORTAI_REDIS_FAIL_OPEN", "true")
    monkeypatch.setenv("SUPPORTAI_REDIS_SOCKET_TIMEOUT_S", "0.25")
    options = RedisQuotaSettings()
    assert (options.key_prefix, options.fail_open, options.socket_timeout_s) == (
        "prod-eu:",
        True,
        0.25,
    )


async def test_core_builds_the_store_by_name_without_connecting(closed_port: int) -> None:
    # Nothing listens on closed_port: building would fail if it connected.
    settings = Settings(
        quota_store="redis",
        user_daily_cost_cap_micros=123,
        rate_limit_user_turns=7,
        plugin_options={
            "redis": {"url": f"redis://127.0.0.1:{closed_port}/0", "key_prefix": "app1:"}
        },
    )
    store = build(settings)
    try:
        assert isinstance(store, RedisQuotaStore)
        assert isinstance(store, QuotaStore)
        assert store.policy == QuotaPolicy.from_settings(settings)
        assert store.policy.user_daily_micros == 123
        assert store.options.key_prefix == "app1:"
        assert store.options.fail_open is False
    finally:
        await store.aclose()


def test_an_unknown_store_name_lists_redis() -> None:
    with pytest.raises(ConfigurationError, match="redis"):
        build(Settings(quota_store="redsi"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"key_prefix": "app{1}:"}, "hash tags"),
        ({"url": "http://127.0.0.1:6379"}, "redis://"),
        ({"socket_timeout_s": 0}, "SOCKET_TIMEOUT_S"),
        ({"colour": "blue"}, "COLOUR"),
    ],
)
def test_bad_settings_fail_start_up(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build(Settings(quota_store="redis", plugin_options={"redis": options}))


def test_the_url_is_a_secret() -> None:
    options = RedisQuotaSettings(url="redis://:hunter2@cache.internal:6379/0")
    assert "hunter2" not in repr(options)
    assert "hunter2" not in str(redacted_settings(options))


async def test_aclose_leaves_a_borrowed_client_open(redis_url: str) -> None:
    from redis.asyncio import Redis

    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    store = RedisQuotaStore(QuotaPolicy.from_settings(Settings()), client=client)
    await store.aclose()
    assert await client.ping() is True
    await client.aclose()
