"""Rate limits and cost caps: the quota-store protocol and the built-in SQL store."""

from supportai.quota.base import (
    QuotaDenied,
    QuotaPolicy,
    QuotaStatus,
    QuotaStore,
    QuotaStoreUnavailable,
    Reservation,
)

__all__ = [
    "QuotaDenied",
    "QuotaPolicy",
    "QuotaStatus",
    "QuotaStore",
    "QuotaStoreUnavailable",
    "Reservation",
]
