"""Analytics reports at scale: p50/p99 per report over 1M turns across 100 tenants.

Seeds a schema migrated to head (the revision 0005 indexes included) with a
year of traffic: per tenant 2,000 conversations of 5 turns (a user message and
its answer each), intent classifications, usage rows, feedback on a tenth of
the answers, escalations and cases; a tenth of the answers are the not-found
fallback. Then runs each report the way the API does (``supportai.analytics``
on a ``supportai.store.database.Database``), for random tenants, over a 30-day
and a 365-day range, and prints p50/p99 per report.

SQLite: a file in a temporary folder. PostgreSQL: a database it creates on
``BENCH_POSTGRES_URL`` (default the test server, 127.0.0.1:5432) and drops.
Rows are written with each driver's bulk path (``executemany`` / ``COPY``);
seeding is not what is measured.

Run: ``python bench/analytics_scale.py [--turns 1000000] [--tenants 100]
[--runs 40] [--engines sqlite,postgresql] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)
INTENTS = ("faq", "billing", "account", "bug", "legal", "sales", "other", "smalltalk")
REASONS = ("customer_request", "missing_knowledge", "unsupported_request", "other")
QUESTIONS = (
    "How do I export my invoices?",
    "Where is my refund?",
    "Can I change the billing address on an invoice?",
    "How do I reset two-factor authentication?",
    "Is there an API rate limit?",
    "Why was my card declined?",
)
TURNS_PER_CONVERSATION = 5

TABLES = {
    "support_ai_conversations": (
        "id", "tenant_id", "user_id", "status", "flagged", "escalation_reason",
        "escalated_at", "created_at", "updated_at",
    ),
    "support_ai_messages": (
        "id", "conversation_id", "tenant_id", "user_id", "role", "content", "status",
        "reply_to_id", "input_tokens", "output_tokens", "cost_micros", "first_delta_ms",
        "not_found", "created_at",
    ),
    "support_ai_intent_classifications": (
        "id", "message_id", "tenant_id", "intent", "confidence", "refused", "classifier",
        "created_at",
    ),
    "support_ai_usage": (
        "id", "tenant_id", "user_id", "conversation_id", "message_id", "model",
        "input_tokens", "output_tokens", "cost_micros", "created_at",
    ),
    "support_ai_feedback": (
        "id", "conversation_id", "message_id", "tenant_id", "user_id", "helpful", "rating",
        "created_at", "updated_at",
    ),
    "support_ai_cases": (
        "id", "tenant_id", "user_id", "conversation_id", "subject", "description", "priority",
        "status", "created_at", "updated_at",
    ),
}  # fmt: skip


class Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        value = self.next.get(table, 1)
        self.next[table] = value + 1
        return value


def tenant_rows(
    tenant: str, conversations: int, ids: Ids, rng: random.Random
) -> dict[str, list[tuple[Any, ...]]]:
    """One tenant's year: plain tuples in ``TABLES`` column order, datetimes aware UTC."""
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
    for _ in range(conversations):
        cid = ids("support_ai_conversations")
        created = YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))
        user = f"u{rng.randrange(500)}"
        moment = created
        for _turn in range(TURNS_PER_CONVERSATION):
            qid = ids("support_ai_messages")
            refused = rng.random() < 0.03
            rows["support_ai_messages"].append(
                (qid, cid, tenant, user, "user", rng.choice(QUESTIONS),
                 "refused" if refused else "complete", None, 0, 0, 0, None, False, moment)
            )  # fmt: skip
            rows["support_ai_intent_classifications"].append(
                (ids("support_ai_intent_classifications"), qid, tenant, rng.choice(INTENTS),
                 0.9, refused, "rules", moment)
            )  # fmt: skip
            if not refused:
                aid = ids("support_ai_messages")
                answered_at = moment + timedelta(seconds=2)
                cost = rng.randrange(100, 5000)
                rows["support_ai_messages"].append(
                    (aid, cid, tenant, user, "assistant", "An answer.", "complete", qid, 50, 80,
                     cost, rng.uniform(40, 2500), rng.random() < 0.1, answered_at)
                )  # fmt: skip
                rows["support_ai_usage"].append(
                    (ids("support_ai_usage"), tenant, user, cid, aid, "m", 50, 80, cost,
                     answered_at)
                )  # fmt: skip
                if rng.random() < 0.1:
                    rows["support_ai_feedback"].append(
                        (ids("support_ai_feedback"), cid, aid, tenant, user,
                         rng.random() < 0.7, rng.randint(1, 5), answered_at, answered_at)
                    )  # fmt: skip
            moment += timedelta(seconds=rng.randrange(20, 600))
        escalated = rng.random() < 0.05
        rows["support_ai_conversations"].append(
            (cid, tenant, user, "escalated" if escalated else "open", False,
             rng.choice(REASONS) if escalated else None, moment if escalated else None,
             created, moment)
        )  # fmt: skip
        if rng.random() < 0.02:
            rows["support_ai_cases"].append(
                (ids("support_ai_cases"), tenant, user, cid, "s", "d", "normal", "open",
                 moment, moment)
            )  # fmt: skip
    return rows


def tenant_batches(turns: int, tenants: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    rng = random.Random(18)
    ids = Ids()
    conversations = max(1, turns // tenants // TURNS_PER_CONVERSATION)
    for number in range(tenants):
        yield tenant_rows(f"tenant-{number:03d}", conversations, ids, rng)


# -- seeding ---------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


def seed_sqlite(path: Path, turns: int, tenants: int) -> None:
    connection = sqlite3.connect(path)
    for batch in tenant_batches(turns, tenants):
        for table, rows in batch.items():
            columns = TABLES[table]
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                [tuple(_sqlite_value(v) for v in row) for row in rows],
            )
        connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()


async def seed_postgres(url: str, turns: int, tenants: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        for batch in tenant_batches(turns, tenants):
            for table, rows in batch.items():
                await connection.copy_records_to_table(table, records=rows, columns=TABLES[table])
        # What autovacuum does to an insert-only table (autovacuum_vacuum_insert_threshold):
        # statistics, and the visibility map that lets index-only scans skip the heap.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


# -- measuring ---------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(share * len(ordered) + 0.5) - 1))]


Report = Callable[[Any, Any, Any], Awaitable[Any]]


def reports() -> dict[str, Report]:
    from supportai.analytics import report
    from supportai.store import analytics as sql

    now = datetime(2026, 12, 3, tzinfo=UTC)

    async def summary(conn: Any, period: Any, window: Any) -> Any:
        return await report.summary(conn, period, window, now=now, resolution_window_s=86400)

    async def conversations(conn: Any, period: Any, window: Any) -> Any:
        return await sql.conversations(conn, window, now=now, resolution_window_s=86400)

    async def unanswered(conn: Any, period: Any, window: Any) -> Any:
        return await sql.unanswered_questions(conn, window, 2000)

    return {
        "summary (all figures)": summary,
        "resolution": conversations,
        "turns, answers, not found per day": lambda c, p, w: sql.messages_by_day(c, w),
        "cost per day": lambda c, p, w: sql.cost_by_day(c, w),
        "refusals by intent": lambda c, p, w: sql.refusals_by_intent(c, w),
        "ttfd percentiles": lambda c, p, w: sql.first_delta_percentiles(c, w),
        "unanswered questions (SQL)": unanswered,
    }


async def measure(url: str, tenants: int, runs: int) -> dict[str, dict[str, float]]:
    from supportai.analytics import report
    from supportai.store.database import Database

    database = Database(url, statement_timeout_s=120)
    await database.connect()
    rng = random.Random(7)
    results: dict[str, dict[str, float]] = {}
    try:
        for days in (30, 365):
            for name, run in reports().items():
                timings = []
                for _ in range(runs):
                    tenant = f"tenant-{rng.randrange(tenants):03d}"
                    end = date(2026, 11, 30) - timedelta(days=rng.randrange(0, 365 - days + 1))
                    period = report.period_of(
                        end - timedelta(days=days - 1), end, today=end, max_days=366
                    )
                    window = report.window_of(period, tenant, database.is_sqlite)
                    async with database.connection() as conn:
                        started = time.perf_counter()
                        await run(conn, period, window)
                        timings.append((time.perf_counter() - started) * 1000)
                results[f"{name}, {days} days"] = {
                    "p50_ms": round(statistics.median(timings), 2),
                    "p99_ms": round(percentile(timings, 0.99), 2),
                }
    finally:
        await database.disconnect()
    return results


async def _pg_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def run_engine(engine: str, turns: int, tenants: int, runs: int) -> dict[str, Any]:
    from supportai.store import migrations

    started = time.perf_counter()
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "analytics.db"
            url = f"sqlite+aiosqlite:///{path}"
            await migrations.upgrade(url)
            await asyncio.to_thread(seed_sqlite, path, turns, tenants)
            seeded = time.perf_counter() - started
            return {"seed_s": round(seeded, 1), "reports": await measure(url, tenants, runs)}
    name = f"supportai_bench_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    try:
        await migrations.upgrade(f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}")
        await seed_postgres(f"{base}/{name}", turns, tenants)
        seeded = time.perf_counter() - started
        url = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        return {"seed_s": round(seeded, 1), "reports": await measure(url, tenants, runs)}
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"turns": args.turns, "tenants": args.tenants, "runs": args.runs}
    for engine in args.engines.split(","):
        results[engine] = asyncio.run(run_engine(engine, args.turns, args.tenants, args.runs))
        if not args.json:
            print(f"{engine}: seeded in {results[engine]['seed_s']} s", file=sys.stderr)
            for name, figures in results[engine]["reports"].items():
                p50, p99 = figures["p50_ms"], figures["p99_ms"]
                print(f"  {name:40s} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
