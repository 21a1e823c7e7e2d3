"""The default quota store: the app's own SQL database, atomic on SQLite and PostgreSQL.

Atomicity without read-then-write: each bucket is charged by one conditional
``UPDATE ... SET reserved = reserved + :x WHERE used + reserved + :x <= :limit
RETURNING``. All four updates run in one transaction; if any returns no row the
transaction rolls back, so either every bucket is charged or none. PostgreSQL
row locks serialise concurrent reservers on the same bucket; on SQLite the
first UPDATE takes the database write lock (and ``busy_timeout`` queues the
others), so the same statements are atomic there too.

Turn buckets count turns (limit = turns per window) and cost buckets hold
micro-dollars; both are the same row shape, ``used`` + ``reserved``.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from supportai.quota.base import (
    Bucket,
    BucketStatus,
    QuotaPolicy,
    QuotaStatus,
    Reservation,
    buckets_for,
    denial_for,
)
from supportai.quota.ledger import DELETE_UNSETTLED, ExpiredCharge, record_expired_charges
from supportai.store import tables
from supportai.store.compiled import Prepared, column_values, prepared_insert

if TYPE_CHECKING:
    from databases.core import Connection

    from supportai.caller import Caller
    from supportai.settings import Settings
    from supportai.store.database import Database

B = tables.quota_buckets
R = tables.quota_reservations


def _case(values: str, buckets: int) -> Any:
    """``CASE WHEN bucket_key = :k0 THEN :<values>0 ... ELSE 0 END`` with bound parameters.

    Typed casts: PostgreSQL cannot infer a parameter's type inside CASE.
    """
    return sa.case(
        *(
            (
                B.c.bucket_key == sa.bindparam(f"k{i}"),
                sa.cast(sa.bindparam(f"{values}{i}", type_=sa.BigInteger), sa.BigInteger),
            )
            for i in range(buckets)
        ),
        else_=sa.cast(sa.literal(0), sa.BigInteger),
    )


def _any_key(buckets: int) -> Any:
    """``bucket_key = :k0 OR ...``; not ``IN``, whose SQL changes with its values."""
    return sa.or_(sa.false(), *(B.c.bucket_key == sa.bindparam(f"k{i}") for i in range(buckets)))


@dataclass(frozen=True)
class _BucketStatements:
    """The quota writes of every turn, for ``buckets`` buckets, compiled once each."""

    charge: Prepared
    give_back: Prepared
    give_back_and_use: Prepared
    read: Prepared


@functools.cache
def _bucket_statements(buckets: int) -> _BucketStatements:
    charge, limit = _case("c", buckets), _case("l", buckets)
    give_back = _case("g", buckets)
    returned = sa.case((B.c.reserved >= give_back, B.c.reserved - give_back), else_=0)
    adjust = B.update().where(_any_key(buckets))
    return _BucketStatements(
        charge=Prepared(
            B.update()
            .where(_any_key(buckets))
            .where(B.c.used + B.c.reserved + charge <= limit)
            # an exhausted bucket refuses even a zero amount (as the Redis store does):
            # a cap of 0 means "nothing", also for a zero-priced model
            .where(B.c.used + B.c.reserved < limit)
            .values(reserved=B.c.reserved + charge)
            .returning(B.c.bucket_key)
        ),
        give_back=Prepared(adjust.values(reserved=returned)),
        give_back_and_use=Prepared(
            adjust.values(reserved=returned, used=B.c.used + _case("u", buckets))
        ),
        read=Prepared(sa.select(B.c.bucket_key, B.c.used, B.c.reserved).where(_any_key(buckets))),
    )


def _per_bucket(keys: Sequence[str], **columns: Sequence[int]) -> dict[str, Any]:
    """The values of a :func:`_bucket_statements` statement: ``k0..``, then each column's."""
    values: dict[str, Any] = {f"k{i}": key for i, key in enumerate(keys)}
    for prefix, numbers in columns.items():
        values.update((f"{prefix}{i}", number) for i, number in enumerate(numbers))
    return values


_FINISH_RESERVATION = Prepared(
    R.update()
    .where(R.c.id == sa.bindparam("reservation_id"))
    .where(R.c.state == "held")
    .values(state=sa.bindparam("new_state"))
    .returning(R.c.expires_at)
)
# A hold the sweep charged in full: the real cost replaces the charge.
_SETTLE_CHARGED = Prepared(
    R.update()
    .where(R.c.id == sa.bindparam("reservation_id"))
    .where(R.c.state == "charged")
    .values(state="settled")
    .returning(R.c.amount)
)
_RENEW = Prepared(
    R.update()
    .where(R.c.id == sa.bindparam("reservation_id"))
    .where(R.c.state == "held")
    .where(R.c.expires_at >= 0)
    .values(expires_at=sa.bindparam("expires_at", type_=sa.Float))
    .returning(R.c.id)
)
_INSERT_RESERVATION = prepared_insert(
    R, "id", "tenant_id", "user_id", "amount", "bucket_keys", "state", "expires_at"
)
_TENANT_LOCK = Prepared(
    sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(sa.bindparam("lock", type_=sa.Text))))
)


class _Rollback(Exception):
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket


class SQLQuotaStore:
    """Reserve/settle in the app's database; see the module docstring for atomicity."""

    name = "sql"

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.policy = QuotaPolicy.from_settings(settings)

    # -- helpers ---------------------------------------------------------------------

    def _insert_missing(self, buckets: tuple[Bucket, ...]) -> Any:
        rows = [
            {"bucket_key": b.key, "used": 0, "reserved": 0, "expires_at": b.resets_at}
            for b in buckets
        ]
        insert = sqlite.insert(B) if self.database.is_sqlite else postgresql.insert(B)
        return insert.values(rows).on_conflict_do_nothing()

    async def _charge_all(
        self, conn: Connection, buckets: tuple[Bucket, ...], amount: int
    ) -> set[str]:
        """Charge every bucket whose limit allows it; return the keys charged."""
        rows = await conn.fetch_all(
            _bucket_statements(len(buckets)).charge(
                **_per_bucket(
                    [b.key for b in buckets],
                    c=[1 if b.kind.endswith("turns") else amount for b in buckets],
                    l=[b.limit for b in buckets],
                )
            )
        )
        return {row["bucket_key"] for row in rows}

    async def _lock_tenant(self, conn: Connection, tenant_id: str) -> None:
        """PostgreSQL: serialise one tenant's quota writes with a transaction advisory lock.

        Every turn of a tenant touches the tenant's shared buckets, with multi-row
        UPDATEs (whose row-lock order is the plan's) and, on a window's first turn,
        INSERTs of the missing rows. Concurrent reservations and settlements could
        then wait on each other in a cycle: PostgreSQL aborts one ("deadlock
        detected"). Taking one lock per tenant first, before any row is touched,
        rules that out; it is held to the end of the transaction (for ``settle_in``,
        the answer's). SQLite needs nothing: its writers are serialised already.
        """
        if self.database.is_sqlite:
            return
        await conn.execute(_TENANT_LOCK(lock="supportai:" + tenant_id))

    async def _adjust(
        self, conn: Connection, keys: list[str], held: list[int], used: list[int] | None
    ) -> None:
        """Give back ``held`` (never below zero) and add ``used``, in one statement."""
        statements = _bucket_statements(len(keys))
        if used is None:
            await conn.execute(statements.give_back(**_per_bucket(keys, g=held)))
        else:
            await conn.execute(statements.give_back_and_use(**_per_bucket(keys, g=held, u=used)))

    # -- protocol ----------------------------------------------------------------------

    async def reserve(self, caller: Caller, amount_micros: int, now: float) -> Reservation:
        buckets = buckets_for(caller, self.policy, now)
        reservation = Reservation(
            id=uuid.uuid4().hex,
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            amount_micros=amount_micros,
            bucket_keys=tuple(b.key for b in buckets),
            expires_at=now + self.policy.reservation_ttl_s,
        )
        async with self.database.connection() as conn:
            for attempt in range(2):
                try:
                    async with conn.transaction():
                        await self._lock_tenant(conn, caller.tenant_id)
                        if attempt:  # first turn in these windows: create the rows
                            await conn.execute(self._insert_missing(buckets))
                        charged = await self._charge_all(conn, buckets, amount_micros)
                        refused = [b for b in buckets if b.key not in charged]
                        if refused:
                            raise _Rollback(refused[0])
                        await conn.execute(
                            _INSERT_RESERVATION(
                                **column_values(
                                    id=reservation.id,
                                    tenant_id=caller.tenant_id,
                                    user_id=caller.user_id,
                                    amount=amount_micros,
                                    bucket_keys=list(reservation.bucket_keys),
                                    state="held",
                                    expires_at=reservation.expires_at,
                                )
                            )
                        )
                    return reservation
                except _Rollback as denied:
                    # Over a limit, or the first turn in these windows (rows missing).
                    # Create the rows and ask once more: only the retried conditional
                    # UPDATE decides. (Checking whether the rows exist instead races
                    # with a concurrent first reserver committing them, and denies a
                    # turn that fits.)
                    if attempt == 0:
                        continue
                    raise denial_for(denied.bucket, now) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _finish(self, reservation: Reservation, actual: int | None) -> None:
        """Settle (``actual`` given) or release (``None``) exactly once."""
        async with self.database.connection() as conn, conn.transaction():
            await self._finish_on(conn, reservation, actual)

    async def settle_in(self, conn: Connection, reservation: Reservation, actual: int) -> None:
        """Settle inside the caller's transaction on this store's own database.

        The turn pipeline uses it to settle in the transaction that saves the
        answer: either both happen or neither does.
        """
        await self._finish_on(conn, reservation, max(actual, 0))

    async def _finish_on(
        self, conn: Connection, reservation: Reservation, actual: int | None
    ) -> None:
        keys = list(reservation.bucket_keys)
        amount = reservation.amount_micros
        await self._lock_tenant(conn, reservation.tenant_id)
        row = await conn.fetch_one(
            _FINISH_RESERVATION(
                reservation_id=reservation.id,
                new_state="settled" if actual is not None else "released_by_caller",
            )
        )
        if row is None:
            if actual is not None:
                await self._settle_charged(conn, reservation, actual)
            return
        # A negative expiry marks a hold the expiry sweep already gave back.
        swept = float(row["expires_at"]) < 0
        held = [0, 0, 0, 0] if swept else [1, 1, amount, amount]
        used = None if actual is None else [1, 1, actual, actual]
        if actual is None and swept:
            return
        await self._adjust(conn, keys, held, used)

    async def _settle_charged(
        self, conn: Connection, reservation: Reservation, actual: int
    ) -> None:
        """The late settle of a hold the sweep charged in full: spend becomes the real cost.

        The turn stayed counted; only the cost buckets change, by ``actual - amount``
        (at most zero: a turn never spends more than it reserved). A release of a
        charged hold changes nothing: the hold may have been spent, so it stays charged.
        """
        row = await conn.fetch_one(_SETTLE_CHARGED(reservation_id=reservation.id))
        if row is None:
            return
        delta = actual - int(row["amount"])
        await self._adjust(conn, list(reservation.bucket_keys), [0, 0, 0, 0], [0, 0, delta, delta])
        # The sweep's ledger row goes with its charge (a turn's own row, written in
        # this transaction before the settle, already replaced it when it cost anything).
        await conn.execute(DELETE_UNSETTLED(reservation_id=reservation.id))

    async def settle(self, reservation: Reservation, actual_micros: int) -> None:
        await self._finish(reservation, max(actual_micros, 0))

    async def renew(self, reservation: Reservation, now: float) -> bool:
        """Extend a held reservation's lease to ``now`` + TTL; False once it is not held."""
        async with self.database.connection() as conn:
            row = await conn.fetch_one(
                _RENEW(
                    reservation_id=reservation.id,
                    expires_at=now + self.policy.reservation_ttl_s,
                )
            )
        return row is not None

    async def release(self, reservation: Reservation) -> None:
        await self._finish(reservation, None)

    async def correct_used(self, bucket: Bucket, used: int) -> None:
        """Set a bucket's recorded spend (``supportai quota reconcile --fix``)."""
        async with self.database.connection() as conn, conn.transaction():
            await conn.execute(self._insert_missing((bucket,)))
            await conn.execute(B.update().where(B.c.bucket_key == bucket.key).values(used=used))

    async def status(self, caller: Caller, now: float) -> QuotaStatus:
        buckets = buckets_for(caller, self.policy, now)
        async with self.database.connection() as conn:
            rows = await conn.fetch_all(
                _bucket_statements(len(buckets)).read(**_per_bucket([b.key for b in buckets]))
            )
        found = {row["bucket_key"]: (int(row["used"]), int(row["reserved"])) for row in rows}
        return QuotaStatus(
            tuple(
                BucketStatus(b.kind, b.limit, *found.get(b.key, (0, 0)), b.resets_at)
                for b in buckets
            )
        )

    async def release_expired(self, now: float | None = None) -> int:
        """Charge expired holds (see :meth:`charge_expired`); return how many."""
        return len(await self.charge_expired(now))

    async def charge_expired(self, now: float | None = None) -> list[ExpiredCharge]:
        """Charge in full the holds whose lease ran out unsettled (never give them back).

        A lapsed lease means the turn's worker died or could not reach this
        database; either way the model may have spent up to the hold, and the cap
        must keep counting it. The hold moves from ``reserved`` to ``used`` and a
        ledger row of :data:`~supportai.quota.ledger.UNSETTLED_MODEL` records it,
        in one transaction; a late settle replaces both by the real cost.
        """
        now = time.time() if now is None else now
        charged: list[ExpiredCharge] = []
        async with self.database.connection() as conn:
            rows = await conn.fetch_all(
                sa.select(R.c.id, R.c.tenant_id, R.c.user_id, R.c.amount, R.c.bucket_keys)
                .where(R.c.state == "held")
                .where(R.c.expires_at >= 0)
                .where(R.c.expires_at < now)
            )
            for row in rows:
                async with conn.transaction():
                    await self._lock_tenant(conn, row["tenant_id"])
                    claimed = await conn.fetch_one(
                        R.update()
                        .where(R.c.id == row["id"])
                        .where(R.c.state == "held")
                        .where(R.c.expires_at >= 0)
                        .values(state="charged")
                        .returning(R.c.id)
                    )
                    if claimed is None:
                        continue
                    amount = int(row["amount"])
                    held = [1, 1, amount, amount]
                    await self._adjust(conn, list(_keys(row["bucket_keys"])), held, held)
                    charge = ExpiredCharge(row["id"], row["tenant_id"], row["user_id"], amount)
                    await record_expired_charges(conn, [charge])
                    charged.append(charge)
        return charged


def _keys(value: Any) -> list[str]:
    """``bucket_keys`` decoded (a raw asyncpg record skips the column's JSON decoding)."""
    if isinstance(value, str):
        import json

        decoded: list[str] = json.loads(value)
        return decoded
    return list(value)
