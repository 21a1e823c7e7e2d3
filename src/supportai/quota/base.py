"""The quota-store protocol: reserve the worst case, then settle to the real cost.

Why reserve/settle (see ``docs/decisions/0002-reserve-settle.md``): the real cost
of a turn is known only after the model has answered, but concurrent turns must
not all pass a check against yesterday's spend. Reserving the worst-case cost
atomically *before* spending anything means 50 simultaneous turns against a cap
that fits 10 admit exactly 10; settling afterwards returns the unused part.

A store counts four buckets per turn, all checked and charged in one atomic step:
turns per rate window (user and tenant) and cost per period (user per UTC day,
tenant per UTC month). Bucket keys embed the window start, so old buckets simply
stop being read; stores may expire them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from supportai.caller import Caller
    from supportai.errors import SupportAIError
    from supportai.quota.ledger import ExpiredCharge
    from supportai.settings import Settings

log = logging.getLogger("supportai.quota")


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """Limits in force. ``0`` means "no turns" / "no spend", not unlimited."""

    user_turns: int
    tenant_turns: int
    window_s: int
    user_daily_micros: int
    tenant_monthly_micros: int
    reservation_ttl_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> QuotaPolicy:
        return cls(
            user_turns=settings.rate_limit_user_turns,
            tenant_turns=settings.rate_limit_tenant_turns,
            window_s=settings.rate_limit_window_s,
            user_daily_micros=settings.user_daily_cost_cap_micros,
            tenant_monthly_micros=settings.tenant_monthly_cost_cap_micros,
            reservation_ttl_s=settings.reservation_ttl_s,
        )


BucketKind = Literal["user_turns", "tenant_turns", "user_cost", "tenant_cost"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One counter: its key, what it limits, its cap and when it resets (epoch s)."""

    kind: BucketKind
    key: str
    limit: int
    resets_at: int


def buckets_for(caller: Caller, policy: QuotaPolicy, now: float) -> tuple[Bucket, ...]:
    """The four buckets a turn by ``caller`` at ``now`` counts against.

    Keys carry a ``{tenant}`` hash tag so that Redis Cluster keeps one tenant's
    buckets in one slot (a Lua script may touch them together).
    """
    window_start = int(now // policy.window_s) * policy.window_s
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.strftime("%Y-%m-%d")
    month = moment.strftime("%Y-%m")
    next_day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp() + 86400
    next_month = datetime(
        moment.year + (moment.month == 12), moment.month % 12 + 1, 1, tzinfo=UTC
    ).timestamp()
    tag = "{" + caller.tenant_id + "}"
    user = caller.user_id
    return (
        Bucket(
            "user_turns",
            f"{tag}:u:{user}:turns:{window_start}",
            policy.user_turns,
            window_start + policy.window_s,
        ),
        Bucket(
            "tenant_turns",
            f"{tag}:t:turns:{window_start}",
            policy.tenant_turns,
            window_start + policy.window_s,
        ),
        Bucket("user_cost", f"{tag}:u:{user}:cost:{day}", policy.user_daily_micros, int(next_day)),
        Bucket(
            "tenant_cost", f"{tag}:t:cost:{month}", policy.tenant_monthly_micros, int(next_month)
        ),
    )


@dataclass(frozen=True, slots=True)
class Reservation:
    """A held amount. Pass it back to ``settle`` or ``release`` exactly once."""

    id: str
    tenant_id: str
    user_id: str
    amount_micros: int
    bucket_keys: tuple[str, ...]
    expires_at: float


@dataclass(frozen=True, slots=True)
class BucketStatus:
    kind: BucketKind
    limit: int
    used: int
    reserved: int
    resets_at: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used - self.reserved, 0)


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    buckets: tuple[BucketStatus, ...]


class QuotaDenied(Exception):
    """The reservation would exceed a bucket. ``reason`` is a :class:`~supportai.errors.Reason`."""

    def __init__(
        self,
        reason: Literal["rate_limited", "cost_cap_exceeded"],
        retry_after_s: int,
        bucket: BucketKind,
    ) -> None:
        super().__init__(f"{bucket} exhausted; retry after {retry_after_s}s")
        self.reason = reason
        self.retry_after_s = retry_after_s
        self.bucket = bucket


class QuotaStoreUnavailable(Exception):
    """The store could not be reached; core answers ``quota_store_unavailable``.

    Its text (which may name a host and port) goes to the log, never to a client:
    see :func:`quota_store_unavailable`.
    """


#: ``Retry-After`` of a ``quota_store_unavailable`` answer.
QUOTA_RETRY_AFTER_S = 5


def quota_store_unavailable(exc: QuotaStoreUnavailable) -> SupportAIError:
    """The client's side of a store outage: typed, retryable, without the store's text."""
    from supportai.errors import Reason, SupportAIError

    log.warning("quota store unavailable: %s", exc)
    return SupportAIError(
        Reason.quota_store_unavailable,
        "the quota service is unavailable right now; please retry shortly",
        retry_after_s=QUOTA_RETRY_AFTER_S,
    )


def denial_for(bucket: Bucket, now: float) -> QuotaDenied:
    reason: Literal["rate_limited", "cost_cap_exceeded"] = (
        "rate_limited" if bucket.kind.endswith("turns") else "cost_cap_exceeded"
    )
    return QuotaDenied(reason, max(math.ceil(bucket.resets_at - now), 1), bucket.kind)


@runtime_checkable
class QuotaStore(Protocol):
    """Atomic across processes: any number of workers enforce one budget."""

    name: str

    async def reserve(self, caller: Caller, amount_micros: int, now: float) -> Reservation:
        """Count one turn and hold ``amount_micros`` in every bucket, or raise QuotaDenied."""
        ...

    async def settle(self, reservation: Reservation, actual_micros: int) -> None:
        """Replace the held amount by the real cost (the turn stays counted)."""
        ...

    async def release(self, reservation: Reservation) -> None:
        """Undo the reservation entirely: the turn did no billable work."""
        ...

    async def status(self, caller: Caller, now: float) -> QuotaStatus: ...

    async def release_expired(self, now: float) -> int:
        """Deal with reservations past their lease; return how many.

        Stores with :meth:`charge_expired` charge them in full (never give them
        back: the turn may have spent up to the hold). Core calls
        ``charge_expired`` when a store has it and this method otherwise.
        """
        ...


@runtime_checkable
class LeasedQuotaStore(QuotaStore, Protocol):
    """A store whose holds are leases (both built-in stores; docs/decisions/0010).

    * ``renew`` extends a held reservation's lease to ``now + reservation_ttl_s``
      and returns False once the reservation is no longer held;
    * ``charge_expired`` moves every hold whose lease ran out from ``reserved``
      to ``used`` (state ``charged``) and returns them, so core can write their
      ledger rows; a later ``settle`` replaces the charge by the real cost
      (``used`` changes by ``actual - amount``), a later ``release`` leaves it.

    Both are idempotent per reservation, as settle and release are.
    """

    async def renew(self, reservation: Reservation, now: float) -> bool: ...

    async def charge_expired(self, now: float) -> Sequence[ExpiredCharge]: ...
