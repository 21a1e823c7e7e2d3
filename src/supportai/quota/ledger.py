"""The spend ledger (``support_ai_usage``) and the settlement outbox, in the app's database.

Recorded spend in a quota store must always be explainable by the ledger: after
any fault has healed, a bucket's ``used`` equals the sum of the usage rows it
covers. So every way spend reaches a store has a ledger row, one per reservation
(``reservation_id`` is unique):

* a turn's answer writes its row in the transaction that saves the answer;
* an answer that could not be saved still writes one (no conversation reference);
* a hold whose lease ran out is charged in full by the sweep, with a row marked
  :data:`UNSETTLED_MODEL`, which the turn's real row replaces if it ever arrives.

A store outside this database (Redis) cannot join that transaction; the
transaction writes an outbox row instead, deleted once the store applied the
settlement, and retried by any worker's sweep until then (idempotent per
reservation: the store's record of the reservation makes a second apply a no-op).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from supportai.quota.base import Reservation
from supportai.store import tables
from supportai.store.compiled import Prepared, column_values, prepared_insert

if TYPE_CHECKING:
    from databases.core import Connection

U = tables.usage
O = tables.quota_outbox  # noqa: E741 - the table's one-letter alias, like the others

#: ``model`` of the ledger row of a hold the sweep charged in full: the turn never
#: reported its cost (its worker died, or could not reach the store or database).
UNSETTLED_MODEL = "(unsettled reservation)"

INSERT_OUTBOX = prepared_insert(
    O,
    "reservation_id",
    "tenant_id",
    "user_id",
    "amount",
    "bucket_keys",
    "expires_at",
    "cost_micros",
    "created_at",
)
DELETE_OUTBOX = Prepared(O.delete().where(O.c.reservation_id == sa.bindparam("reservation_id")))
DELETE_UNSETTLED = Prepared(
    U.delete()
    .where(U.c.reservation_id == sa.bindparam("reservation_id"))
    .where(U.c.model == UNSETTLED_MODEL)
)


@dataclass(frozen=True, slots=True)
class ExpiredCharge:
    """A hold the sweep charged in full because its lease ran out unsettled."""

    reservation_id: str
    tenant_id: str
    user_id: str
    amount_micros: int


async def add_outbox(conn: Connection, reservation: Reservation, cost_micros: int) -> None:
    """Queue the settlement of ``reservation`` (in the caller's transaction)."""
    await conn.execute(
        INSERT_OUTBOX(
            **column_values(
                reservation_id=reservation.id,
                tenant_id=reservation.tenant_id,
                user_id=reservation.user_id,
                amount=reservation.amount_micros,
                bucket_keys=list(reservation.bucket_keys),
                expires_at=reservation.expires_at,
                cost_micros=cost_micros,
                created_at=datetime.now(UTC),
            )
        )
    )


async def remove_outbox(conn: Connection, reservation_id: str) -> None:
    await conn.execute(DELETE_OUTBOX(reservation_id=reservation_id))


async def pending_outbox(
    conn: Connection, older_than_s: float, limit: int = 500
) -> list[tuple[Reservation, int]]:
    """Settlements queued more than ``older_than_s`` ago (younger ones are in flight)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    rows = await conn.fetch_all(
        sa.select(O).where(O.c.created_at <= cutoff).order_by(O.c.created_at).limit(limit)
    )
    return [
        (
            Reservation(
                id=row["reservation_id"],
                tenant_id=row["tenant_id"],
                user_id=row["user_id"],
                amount_micros=int(row["amount"]),
                bucket_keys=tuple(_json_list(row["bucket_keys"])),
                expires_at=float(row["expires_at"]),
            ),
            int(row["cost_micros"]),
        )
        for row in rows
    ]


def _json_list(value: Any) -> list[str]:
    """``bucket_keys`` decoded (raw asyncpg records skip the column's JSON decoding)."""
    if isinstance(value, str):
        import json

        decoded: list[str] = json.loads(value)
        return decoded
    return list(value)


async def count_outbox_attempt(conn: Connection, reservation_id: str) -> None:
    await conn.execute(
        O.update().where(O.c.reservation_id == reservation_id).values(attempts=O.c.attempts + 1)
    )


async def has_row(conn: Connection, reservation_id: str) -> bool:
    """Whether the spend of ``reservation_id`` is already in the ledger (a real row)."""
    found = await conn.fetch_val(
        sa.select(sa.func.count())
        .select_from(U)
        .where(U.c.reservation_id == reservation_id)
        .where(U.c.model != UNSETTLED_MODEL)
    )
    return bool(found)


async def record_expired_charges(conn: Connection, charges: Sequence[ExpiredCharge]) -> int:
    """Ledger rows for holds charged in full; a reservation with a row already keeps it."""
    written = 0
    for charge in charges:
        exists = await conn.fetch_val(
            sa.select(sa.func.count())
            .select_from(U)
            .where(U.c.reservation_id == charge.reservation_id)
        )
        if exists:
            continue
        await conn.execute(
            U.insert().values(
                tenant_id=charge.tenant_id,
                user_id=charge.user_id,
                conversation_id=None,
                message_id=None,
                model=UNSETTLED_MODEL,
                input_tokens=0,
                output_tokens=0,
                cost_micros=charge.amount_micros,
                created_at=datetime.now(UTC),
                reservation_id=charge.reservation_id,
            )
        )
        written += 1
    return written
