"""``supportai quota reconcile``: compare recorded spend with the ledger, and fix drift.

After every fault has healed, a cost bucket's ``used`` equals the sum of the usage
rows it covers (docs/operations.md, "Reconciling the ledger"). The sweep keeps it
so by itself; this command is for an operator who wants to check, or to repair
what no sweep can (a Redis that lost its data, a counter edited by hand, a sweep
killed between charging a hold in Redis and writing its ledger row).

It first heals (applies queued settlements, charges lapsed holds), then compares,
for the current UTC day and month, every user's and tenant's cost bucket with the
ledger. ``--fix`` sets ``used`` to the ledger's figure. The ledger is the truth: it
is what was billed, row by row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from supportai.caller import Caller
from supportai.quota.base import buckets_for
from supportai.store import tables

if TYPE_CHECKING:
    from supportai.runtime import Runtime

U = tables.usage


@dataclass(frozen=True, slots=True)
class Drift:
    """One cost bucket whose recorded spend differs from its ledger."""

    bucket: str  # user_cost | tenant_cost
    tenant_id: str
    user_id: str | None
    store_used: int
    ledger: int


async def _ledger(runtime: Runtime, since: datetime, by_user: bool) -> dict[tuple[str, str], int]:
    """Spend since ``since`` per (tenant, user), or per (tenant, "") with ``by_user`` off."""
    who = [U.c.tenant_id, U.c.user_id] if by_user else [U.c.tenant_id]
    query = (
        sa.select(*who, sa.func.sum(U.c.cost_micros).label("spent"))
        .where(U.c.created_at >= since)
        .group_by(*who)
    )
    async with runtime.database.connection() as conn:
        rows = await conn.fetch_all(query)
    return {
        (row["tenant_id"], row["user_id"] if by_user else ""): int(row["spent"] or 0)
        for row in rows
    }


async def find_drift(runtime: Runtime, now: float) -> list[Drift]:
    """Cost buckets of the current day (users) and month (tenants) that differ from the ledger."""
    moment = datetime.fromtimestamp(now, UTC)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    month = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    drift: list[Drift] = []
    for (tenant, user), spent in sorted((await _ledger(runtime, day, True)).items()):
        status = await runtime.quota.status(Caller(tenant, user), now)
        used = next(b.used for b in status.buckets if b.kind == "user_cost")
        if used != spent:
            drift.append(Drift("user_cost", tenant, user, used, spent))
    for (tenant, _), spent in sorted((await _ledger(runtime, month, False)).items()):
        status = await runtime.quota.status(Caller(tenant, ""), now)
        used = next(b.used for b in status.buckets if b.kind == "tenant_cost")
        if used != spent:
            drift.append(Drift("tenant_cost", tenant, None, used, spent))
    return drift


async def fix_drift(runtime: Runtime, drift: list[Drift], now: float) -> None:
    """Set each drifted bucket's ``used`` to its ledger figure."""
    correct: Any = getattr(runtime.quota, "correct_used", None)
    if correct is None:
        raise SystemExit(f"the {runtime.quota.name!r} quota store cannot correct its counters")
    policy = runtime.quota.policy  # type: ignore[attr-defined]
    for item in drift:
        caller = Caller(item.tenant_id, item.user_id or "")
        bucket = next(b for b in buckets_for(caller, policy, now) if b.kind == item.bucket)
        await correct(bucket, item.ledger)


async def reconcile(runtime: Runtime, fix: bool, now: float | None = None) -> dict[str, Any]:
    """Heal, compare, optionally fix; the report the command prints."""
    now = time.time() if now is None else now
    healed = await runtime.heal_quota(now)
    drift = await find_drift(runtime, now)
    if fix and drift:
        await fix_drift(runtime, drift, now)
    return {
        "applied_settlements": healed.applied,
        "charged_expired_holds": healed.charged,
        "drift": [asdict(d) for d in drift],
        "fixed": bool(fix and drift),
    }


def cmd_reconcile(args: argparse.Namespace) -> int:
    from supportai.app import create_app
    from supportai.settings import Settings

    overrides = {"database_url": args.database_url} if args.database_url else {}
    app = create_app(Settings(**overrides))
    runtime: Runtime = app.state.supportai

    async def run() -> dict[str, Any]:
        await runtime.start()
        try:
            return await reconcile(runtime, args.fix)
        finally:
            await runtime.stop()

    report = asyncio.run(run())
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"applied {report['applied_settlements']} queued settlement(s), "
            f"charged {report['charged_expired_holds']} expired hold(s)"
        )
        for d in report["drift"]:
            who = d["tenant_id"] + (f"/{d['user_id']}" if d["user_id"] else "")
            print(f"drift {d['bucket']} {who}: store {d['store_used']} ledger {d['ledger']}")
        if not report["drift"]:
            print("no drift: recorded spend equals the ledger")
        elif report["fixed"]:
            print("fixed: recorded spend set to the ledger")
    return 1 if report["drift"] and not report["fixed"] else 0


def register(sub: Any) -> None:
    quota = sub.add_parser("quota", help="quota store maintenance")
    quota_sub = quota.add_subparsers(dest="quota_command", required=True)
    command = quota_sub.add_parser(
        "reconcile",
        help="heal, then compare recorded spend with the usage ledger (exit 1 on drift)",
    )
    command.add_argument("--database-url", help="default: SUPPORTAI_DATABASE_URL")
    command.add_argument("--fix", action="store_true", help="set recorded spend to the ledger")
    command.add_argument("--json", action="store_true")
    command.set_defaults(func=cmd_reconcile)
