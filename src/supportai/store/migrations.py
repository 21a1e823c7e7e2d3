"""Versioned schema migrations that run on SQLite and PostgreSQL.

Why not Alembic (``docs/decisions/0003-migrations.md``): Alembic needs a
synchronous driver and an ``env.py`` in the host's tree; supportai talks to its
database only through async drivers and ships inside someone else's product.
A migration here is a numbered function returning DDL built with SQLAlchemy
Core, compiled for the connected dialect, applied in one transaction and
recorded in ``support_ai_schema_migrations``. ``supportai db upgrade`` runs
them; the embedded SQLite default runs them at start-up.

Rules for new migrations: append, never edit a released one; build DDL from
explicit ``sa.Column`` objects rather than from ``tables.py`` (which describes
the latest schema, not the one a migration starts from).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from supportai.store import tables
from supportai.store.database import Database


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: Callable[[Dialect], list[str]]


def _initial_schema(dialect: Dialect) -> list[str]:
    """0001: every table of the first release.

    Released as one step, so it may be built from ``tables.metadata``; the
    tables are listed explicitly so that a table added later to tables.py is
    never silently created by this migration.
    """
    names = [
        "support_ai_conversations",
        "support_ai_messages",
        "support_ai_intent_classifications",
        "support_ai_tool_calls",
        "support_ai_feedback",
        "support_ai_training_candidates",
        "support_ai_disclosure_acceptances",
        "support_ai_cases",
        "support_ai_case_comments",
        "support_ai_audit_events",
        "support_ai_usage",
        "support_ai_quota_buckets",
        "support_ai_quota_reservations",
    ]
    statements: list[str] = []
    for name in names:
        table = tables.metadata.tables[name]
        statements.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            statements.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return statements


MIGRATIONS: tuple[Migration, ...] = (Migration(1, "initial schema", _initial_schema),)

HEAD = MIGRATIONS[-1].version


async def current_version(database: Database) -> int:
    async with database.connection() as conn:
        await conn.execute(
            str(
                CreateTable(tables.schema_migrations, if_not_exists=True).compile(
                    dialect=database.dialect
                )
            )
        )
        value = await conn.fetch_val(sa.select(sa.func.max(tables.schema_migrations.c.version)))
    return int(value or 0)


async def upgrade(database: Database, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target`` (default: all). Returns applied versions.

    On PostgreSQL an advisory lock serialises concurrent upgraders (several
    workers starting at once); each migration is one transaction.
    """
    target = HEAD if target is None else target
    applied: list[int] = []
    await current_version(database)
    async with database.connection() as conn:
        for migration in MIGRATIONS:
            if migration.version > target:
                break
            async with conn.transaction():
                if not database.is_sqlite:
                    await conn.execute("SELECT pg_advisory_xact_lock(2026112801)")
                done = await conn.fetch_val(
                    sa.select(tables.schema_migrations.c.version).where(
                        tables.schema_migrations.c.version == migration.version
                    )
                )
                if done is not None:
                    continue
                for statement in migration.statements(database.dialect):
                    await conn.execute(statement)
                await conn.execute(
                    tables.schema_migrations.insert().values(
                        version=migration.version,
                        name=migration.name,
                        applied_at=datetime.now(UTC),
                    )
                )
                applied.append(migration.version)
    return applied
