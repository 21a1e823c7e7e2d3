"""Shared constants and helpers of the supportai-redis tests (a unique module name on purpose:
test directories of several distributions may run in one pytest session)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from supportai.caller import Caller
from supportai.quota.base import QuotaPolicy

REDIS_URL = os.environ.get("SUPPORTAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

#: A fixed moment, 30 s into a rate window and 12 h before midnight UTC.
NOW = datetime(2026, 11, 28, 12, 0, 30, tzinfo=UTC).timestamp()


def policy(**overrides: int) -> QuotaPolicy:
    """Generous limits unless a test narrows one."""
    values = {
        "user_turns": 1000,
        "tenant_turns": 10_000,
        "window_s": 60,
        "user_daily_micros": 10_000_000,
        "tenant_monthly_micros": 1_000_000_000,
        "reservation_ttl_s": 300,
    }
    values.update(overrides)
    return QuotaPolicy(**values)


def caller(user: str = "alice", tenant: str = "acme") -> Caller:
    return Caller(tenant_id=tenant, user_id=user)
