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

import time
import uuid
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
from supportai.store import tables

if TYPE_CHECKING:
    from databases.core import Connection

    from supportai.caller import Caller
    from supportai.settings import Settings
    from supportai.store.database import Database

B = tables.quota_buckets
R = tables.quota_reservations


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
        if self.database.is_sqlite:
            return sqlite.insert(B).values(rows).on_conflict_do_nothing()
        return postgresql.insert(B).values(rows).on_conflict_do_nothing()

    @staticmethod
    def _charges(buckets: tuple[Bucket, ...], amount: int) -> list[tuple[Bucket, int]]:
        return [(b, 1 if b.kind.endswith("turns") else amount) for b in buckets]

    async def _adjust(
        self, conn: Connection, keys: list[str], charges: list[int], *, used: bool, held: bool
    ) -> None:
        """Move amounts between ``reserved`` and ``used`` (never below zero)."""
        for key, charge in zip(keys, charges, strict=True):
            values: dict[str, Any] = {}
            if held:
                values["reserved"] = sa.case(
                    (B.c.reserved >= charge, B.c.reserved - charge), else_=0
                )
            if used:
                values["used"] = B.c.used + charge
            if values:
                await conn.execute(B.update().where(B.c.bucket_key == key).values(**values))

    # -- protocol ----------------------------------------------------------------------

    async def reserve(self, caller: Caller, amount_micros: int, now: float) -> Reservation:
        buckets = buckets_for(caller, self.policy, now)
        charges = self._charges(buckets, amount_micros)
        reservation = Reservation(
            id=uuid.uuid4().hex,
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            amount_micros=amount_micros,
            bucket_keys=tuple(b.key for b in buckets),
            expires_at=now + self.policy.reservation_ttl_s,
        )
        async with self.database.connection() as conn:
            try:
                async with conn.transaction():
                    for bucket, charge in charges:
                        row = await conn.fetch_one(
                            B.update()
                            .where(B.c.bucket_key == bucket.key)
                            .where(B.c.used + B.c.reserved + charge <= bucket.limit)
                            .values(reserved=B.c.reserved + charge)
                            .returning(B.c.bucket_key)
                        )
                        if row is None:
                            # Over the limit, or the first turn in this window (no row
                            # yet). Create any missing rows and ask once more: only the
                            # retried conditional UPDATE decides. Checking whether the
                            # row exists instead races with a concurrent first reserver
                            # committing it, and denies a turn that fits.
                            await conn.execute(self._insert_missing(buckets))
                            row = await conn.fetch_one(
                                B.update()
                                .where(B.c.bucket_key == bucket.key)
                                .where(B.c.used + B.c.reserved + charge <= bucket.limit)
                                .values(reserved=B.c.reserved + charge)
                                .returning(B.c.bucket_key)
                            )
                            if row is None:
                                raise _Rollback(bucket)
                    await conn.execute(
                        R.insert().values(
                            id=reservation.id,
                            tenant_id=caller.tenant_id,
                            user_id=caller.user_id,
                            amount=amount_micros,
                            bucket_keys=list(reservation.bucket_keys),
                            state="held",
                            expires_at=reservation.expires_at,
                        )
                    )
            except _Rollback as denied:
                raise denial_for(denied.bucket, now) from None
        return reservation

    async def _finish(self, reservation: Reservation, actual: int | None) -> None:
        """Settle (``actual`` given) or release (``None``) exactly once."""
        turn_charge = 1
        keys = list(reservation.bucket_keys)
        held = [turn_charge, turn_charge, reservation.amount_micros, reservation.amount_micros]
        async with self.database.connection() as conn, conn.transaction():
            previous = await conn.fetch_one(
                R.update()
                .where(R.c.id == reservation.id)
                .where(R.c.state != "settled")
                .where(R.c.state != "released_by_caller")
                .values(state="settled" if actual is not None else "released_by_caller")
                .returning(R.c.state)
            )
            if previous is None:
                return
            # RETURNING gives the new state; whether the hold was still there is
            # read from the expiry sweep's marker instead.
            expiry = await conn.fetch_val(sa.select(R.c.expires_at).where(R.c.id == reservation.id))
            swept = 1 if expiry is not None and expiry < 0 else None
            if actual is not None:
                await self._adjust(conn, keys, held, used=False, held=swept is None)
                await self._adjust(
                    conn, keys, [turn_charge, turn_charge, actual, actual], used=True, held=False
                )
            elif swept is None:
                await self._adjust(conn, keys, held, used=False, held=True)

    async def settle(self, reservation: Reservation, actual_micros: int) -> None:
        await self._finish(reservation, max(actual_micros, 0))

    async def release(self, reservation: Reservation) -> None:
        await self._finish(reservation, None)

    async def status(self, caller: Caller, now: float) -> QuotaStatus:
        buckets = buckets_for(caller, self.policy, now)
        async with self.database.connection() as conn:
            rows = await conn.fetch_all(
                sa.select(B.c.bucket_key, B.c.used, B.c.reserved).where(
                    B.c.bucket_key.in_([b.key for b in buckets])
                )
            )
        found = {row["bucket_key"]: (int(row["used"]), int(row["reserved"])) for row in rows}
        return QuotaStatus(
            tuple(
                BucketStatus(b.kind, b.limit, *found.get(b.key, (0, 0)), b.resets_at)
                for b in buckets
            )
        )

    async def release_expired(self, now: float | None = None) -> int:
        """Give back holds of reservations nobody settled (a worker died mid-turn).

        The row is kept with ``expires_at`` negated as a marker, so a late
        ``settle`` still records the real spend without releasing twice.
        """
        now = time.time() if now is None else now
        released = 0
        async with self.database.connection() as conn:
            rows = await conn.fetch_all(
                sa.select(R.c.id, R.c.amount, R.c.bucket_keys)
                .where(R.c.state == "held")
                .where(R.c.expires_at >= 0)
                .where(R.c.expires_at < now)
            )
            for row in rows:
                async with conn.transaction():
                    claimed = await conn.fetch_one(
                        R.update()
                        .where(R.c.id == row["id"])
                        .where(R.c.state == "held")
                        .where(R.c.expires_at >= 0)
                        .values(expires_at=-R.c.expires_at)
                        .returning(R.c.id)
                    )
                    if claimed is None:
                        continue
                    keys = list(row["bucket_keys"])
                    amount = int(row["amount"])
                    await self._adjust(conn, keys, [1, 1, amount, amount], used=False, held=True)
                    released += 1
        return released
