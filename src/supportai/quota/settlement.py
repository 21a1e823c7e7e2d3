"""Getting every turn's spend into the ledger and into its quota store, whatever fails.

The invariant (issue 13, docs/decisions/0010-leases-and-outbox.md): for every
bucket, at every moment, recorded spend + outstanding holds <= cap, and once
faults heal, recorded spend == the sum of the usage rows. The pieces:

* the answer's transaction writes its usage row and either settles a store that
  lives in the same database (``settle_in``) or queues an outbox row, applied to
  the store right after commit and by any worker's sweep until it is;
* spend that could not be saved with an answer (database down, conversation
  deleted) is recorded with no conversation, retried in the background until the
  database takes it;
* a running turn renews its hold's lease; a hold whose lease ran out is charged in
  full by the sweep (with a ledger row), and the turn's real cost, if it ever
  arrives, replaces the charge. Nothing is ever simply given back while it may
  have been spent, so the cap holds through every fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportai.quota import ledger
from supportai.quota.base import Reservation

if TYPE_CHECKING:
    from databases.core import Connection

    from supportai.caller import Caller
    from supportai.quota.base import QuotaStore
    from supportai.store.database import Database

log = logging.getLogger("supportai.quota")

#: Outbox rows younger than this are being applied by their own turn right now.
OUTBOX_GRACE_S = 10.0
#: Longest pause between two attempts to record spend the database refused.
RETRY_CAP_S = 5.0


@dataclass
class Spend:
    """What one turn cost, to be recorded without an answer row."""

    caller: Caller
    reservation: Reservation | None
    model: str
    input_tokens: int
    output_tokens: int
    cost_micros: int
    recorded: bool = False  # the ledger row (and settle_in / outbox row) committed


@dataclass(frozen=True, slots=True)
class HealReport:
    """What one sweep did: outbox settlements applied, holds charged in full."""

    applied: int
    charged: int


class Settlements:
    """One per runtime: the settlement paths and the sweep that heals what failed."""

    def __init__(self, database: Database, quota: QuotaStore) -> None:
        self.database = database
        self.quota = quota
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def in_database(self) -> bool:
        """Whether the store settles inside the app database's transactions."""
        return getattr(self.quota, "settle_in", None) is not None

    # -- a turn's settlement ------------------------------------------------------------

    def in_transaction(
        self, reservation: Reservation, cost_micros: int
    ) -> Callable[[Connection], Awaitable[None]]:
        """What the transaction saving the spend must also do: settle, or queue the settle."""
        settle_in = getattr(self.quota, "settle_in", None)

        async def also(conn: Connection) -> None:
            if settle_in is not None:
                await settle_in(conn, reservation, cost_micros)
            else:
                await ledger.add_outbox(conn, reservation, cost_micros)

        return also

    async def after_commit(self, reservation: Reservation, cost_micros: int) -> bool:
        """Apply a queued settlement now; on failure the sweep applies it later.

        Never raises: the spend is safe in the ledger and the outbox, and the hold
        keeps counting against the cap until then.
        """
        if self.in_database:
            return True
        try:
            await self.quota.settle(reservation, cost_micros)
        except Exception as exc:
            log.warning("settling reservation %s failed (%s); queued", reservation.id, exc)
            return False
        try:
            await self._settled(reservation)
        except Exception as exc:  # applied twice later is a no-op (idempotent per id)
            log.warning("could not clear outbox row %s: %s", reservation.id, exc)
        return True

    async def _settled(self, reservation: Reservation) -> None:
        """A store outside the database took the settlement: clear its outbox row.

        If the sweep had charged the hold in full meanwhile (and written a ledger
        row for it), that row goes too: the settle replaced the charge, and the
        turn's own row (if it cost anything) is the ledger's figure. Unconditional
        (an indexed no-op almost always): whether a sweep on another machine got
        there first cannot be told from this worker's clock.
        """
        async with self.database.connection() as conn, conn.transaction():
            await ledger.remove_outbox(conn, reservation.id)
            await conn.execute(ledger.DELETE_UNSETTLED(reservation_id=reservation.id))

    async def record_unsaved(self, spend: Spend) -> bool:
        """Record spend whose answer was not saved; retried in the background on failure.

        Returns whether it is recorded now (False: a background task keeps trying).
        """
        try:
            await self._record(spend)
        except Exception as exc:
            log.warning("recording the spend of a turn failed (%s); retrying", exc)
            self._defer(spend)
            return False
        return True

    async def _record(self, spend: Spend) -> None:
        from supportai.store import turns  # the store imports this package

        reservation = spend.reservation
        if not spend.recorded:
            async with self.database.connection() as conn, conn.transaction():
                done = reservation is not None and await ledger.has_row(conn, reservation.id)
                if not done:
                    if spend.input_tokens or spend.output_tokens or spend.cost_micros:
                        await turns.insert_usage(
                            conn,
                            spend.caller,
                            None,
                            None,
                            spend.model,
                            spend.input_tokens,
                            spend.output_tokens,
                            spend.cost_micros,
                            reservation.id if reservation is not None else None,
                        )
                    if reservation is not None:
                        await self.in_transaction(reservation, spend.cost_micros)(conn)
            spend.recorded = True
        if (
            reservation is not None
            and not self.in_database
            and not await self.after_commit(reservation, spend.cost_micros)
        ):
            raise ConnectionError("the quota store did not take the settlement yet")

    async def release_unspent(self, reservation: Reservation) -> None:
        """Give back the hold of a turn that ended before the model was asked; never raises.

        When the store cannot take the release now (the database or Redis is
        down, which is often why the turn ended), a background task retries it.
        By then the sweep may have charged the lapsed hold in full; the retry
        then settles it at zero, so a request that did no work costs nothing
        (issue 13: no charge for work not done).
        """
        try:
            await self.quota.release(reservation)
        except Exception as exc:
            log.warning("releasing reservation %s failed (%s); retrying", reservation.id, exc)
            self._keep_trying(lambda: self._release_late(reservation), "a hold's release")

    async def _release_late(self, reservation: Reservation) -> None:
        await self.quota.release(reservation)
        # A no-op after the release above took; corrects a charge the sweep made meanwhile.
        await self.quota.settle(reservation, 0)
        if not self.in_database:
            await self._settled(reservation)  # the sweep's ledger row for that charge

    def _defer(self, spend: Spend) -> None:
        self._keep_trying(lambda: self._record(spend), "spend of a turn")

    def _keep_trying(self, attempt: Callable[[], Awaitable[None]], what: str) -> None:
        """Run ``attempt`` in the background until it succeeds, backing off to RETRY_CAP_S."""
        task = asyncio.get_running_loop().create_task(self._retry(attempt, what))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @staticmethod
    async def _retry(attempt: Callable[[], Awaitable[None]], what: str) -> None:
        delay = 0.2
        while True:
            await asyncio.sleep(delay)
            try:
                await attempt()
            except Exception as exc:
                log.debug("recording %s still fails: %s", what, exc)
                delay = min(delay * 2, RETRY_CAP_S)
            else:
                log.info("%s recorded after a retry", what)
                return

    async def drain(self, timeout_s: float) -> None:
        """Wait (bounded) for background retries; cancel what is left at shutdown."""
        pending = [task for task in self._pending if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)

    async def close(self, timeout_s: float) -> None:
        await self.drain(timeout_s)
        for task in list(self._pending):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    # -- the sweep ---------------------------------------------------------------------------

    async def heal(self, now: float, outbox_grace_s: float = OUTBOX_GRACE_S) -> HealReport:
        """Apply queued settlements, then charge in full every hold whose lease ran out."""
        applied = 0 if self.in_database else await self._apply_outbox(outbox_grace_s)
        return HealReport(applied, await self._charge_expired(now))

    async def _apply_outbox(self, older_than_s: float) -> int:
        async with self.database.connection() as conn:
            queued = await ledger.pending_outbox(conn, older_than_s)
        applied = 0
        for reservation, cost in queued:
            try:
                await self.quota.settle(reservation, cost)
            except Exception as exc:
                log.warning("outbox: settling %s failed again: %s", reservation.id, exc)
                async with self.database.connection() as conn:
                    await ledger.count_outbox_attempt(conn, reservation.id)
                continue
            await self._settled(reservation)
            applied += 1
        return applied

    async def _charge_expired(self, now: float) -> int:
        charge: Any = getattr(self.quota, "charge_expired", None)
        if charge is None:  # a third-party store without leases: its own semantics
            return int(await self.quota.release_expired(now))
        if not self.in_database:
            # The ledger rows of the charges go to the database: charge nothing
            # while it is unreachable, or the store would count spend it cannot show.
            async with self.database.connection() as conn:
                await conn.fetch_val("SELECT 1")
        charges = list(await charge(now))
        if charges and not self.in_database:
            async with self.database.connection() as conn, conn.transaction():
                await ledger.record_expired_charges(conn, charges)
        return len(charges)


async def keep_lease(quota: QuotaStore, reservation: Reservation, ttl_s: float) -> None:
    """Renew ``reservation``'s lease every third of its TTL until cancelled or no longer held.

    A renewal that fails (store unreachable) is only logged: the turn stops
    generating before the lease it holds could lapse (``Turn._deadline_s``), and a
    hold charged meanwhile is corrected by the turn's settle.
    """
    renew = getattr(quota, "renew", None)
    if renew is None:
        return
    while True:
        await asyncio.sleep(max(ttl_s / 3, 0.2))
        try:
            if not await renew(reservation, time.time()):
                return
        except Exception as exc:
            log.info("renewing the lease of reservation %s failed: %s", reservation.id, exc)
