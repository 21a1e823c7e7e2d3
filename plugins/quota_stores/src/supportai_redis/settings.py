"""Settings of the Redis quota store, read from ``SUPPORTAI_REDIS_*`` variables.

Validated when the app starts (core instantiates every model a plugin declares),
so a malformed URL or a prefix that would break Redis Cluster hash tags fails
start-up rather than the first turn.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class RedisQuotaSettings(BaseSettings):
    """Where Redis is, how keys are named and what to do when it is unreachable."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_REDIS_", extra="forbid")

    url: SecretStr = Field(
        default=SecretStr("redis://127.0.0.1:6379/0"),
        description=(
            "redis:// or rediss:// URL. A SecretStr because URLs often carry a password; "
            "it is shown redacted by `supportai plugins`."
        ),
    )
    key_prefix: str = Field(
        default="supportai:",
        min_length=1,
        max_length=200,
        description="Prepended to every key, so several apps can share one Redis.",
    )
    cluster: bool = Field(
        default=False,
        description=(
            "Connect with the Redis Cluster client (url names any one node). The key "
            "layout keeps each tenant in one hash slot, so every script runs on one node."
        ),
    )
    fail_open: bool = Field(
        default=False,
        description=(
            "When Redis is unreachable: False refuses turns (quota_store_unavailable); "
            "True admits them unmetered and logs a warning."
        ),
    )
    socket_timeout_s: float = Field(
        default=1.0, gt=0, description="Per-command read/write timeout."
    )
    socket_connect_timeout_s: float = Field(default=1.0, gt=0)
    retries: int = Field(
        default=1,
        ge=0,
        le=10,
        description=(
            "Retries after a connection error or timeout. Safe for every operation: "
            "reserve, settle and release are idempotent per reservation id."
        ),
    )
    max_connections: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description=(
            "Connections per process (per node with cluster). More concurrent commands "
            "wait for a free one, up to pool_timeout_s."
        ),
    )
    pool_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description=(
            "How long a command waits for a free connection before Redis counts as unavailable."
        ),
    )
    health_check_interval_s: int = Field(
        default=30,
        ge=0,
        description="PING a pooled connection idle this long before reuse (0: never).",
    )
    tombstone_ttl_s: int = Field(
        default=3600,
        ge=60,
        description=(
            "How long a finished reservation is remembered: how long a repeated "
            "settle/release stays a no-op and a settle after an expiry release still "
            "counts. The store uses at least twice SUPPORTAI_RESERVATION_TTL_S."
        ),
    )
    expire_batch: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Reservations released per script call in release_expired (bounds blocking).",
    )

    @field_validator("key_prefix")
    @classmethod
    def _prefix_has_no_hash_tag(cls, value: str) -> str:
        # Redis Cluster hashes the first {...} of a key. A brace in the prefix would
        # become the hash tag of every key and put all tenants in one slot (or, with
        # an unbalanced brace, split one tenant's keys across slots).
        if "{" in value or "}" in value:
            raise ValueError("key_prefix must not contain '{' or '}' (Redis Cluster hash tags)")
        return value

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("url must start with redis://, rediss:// or unix://")
        return value
