"""Schema migrations: Alembic revisions shipped inside the package, run on our own terms.

The revisions live in ``supportai/store/alembic/versions`` (decision 0007). This
module is the only way supportai runs them, from ``supportai db ...`` and from
the embedded SQLite default's start-up:

* Alembic is synchronous; supportai's drivers are not. A migration opens a
  SQLAlchemy *async* engine on the same driver as the app (``aiosqlite`` or
  ``asyncpg``) and runs Alembic inside ``AsyncConnection.run_sync``, so no
  second driver is installed and start-up never blocks the event loop.
* Everything one command does is **one transaction**: concurrent upgraders are
  serialised (``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
  SQLite) and a failed revision leaves the schema as it was. Both engines have
  transactional DDL; on SQLite the driver's own transaction handling is turned
  off so that it does not commit behind Alembic's back.
* The version table is ``support_ai_alembic_version``, not ``alembic_version``:
  the host's own Alembic history may share the database.
* A database made by the runner this replaced (``support_ai_schema_migrations``
  at version 1, the schema of revision 0001) is adopted in place: stamped at
  0001 and its old bookkeeping table dropped, then upgraded as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from supportai.errors import ConfigurationError

SCRIPT_LOCATION = Path(__file__).with_name("alembic")
VERSION_TABLE = "support_ai_alembic_version"
#: The bookkeeping table of the hand-written runner that Alembic replaced.
LEGACY_TABLE = "support_ai_schema_migrations"
#: Held for the whole migration transaction on PostgreSQL (same key as the old runner).
ADVISORY_LOCK_KEY = 2026112801
#: How long SQLite waits for another process's write lock (another worker migrating).
SQLITE_LOCK_TIMEOUT_S = 60.0
#: ``databases`` options in a URL that are not the driver's (its pool size).
_POOL_OPTIONS = ("min_size", "max_size")

T = TypeVar("T")


@dataclass
class Progress:
    """What one command did: revisions applied (upgrade) or undone (downgrade), in order."""

    steps: list[str] = field(default_factory=list)
    adopted: bool = False


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged revisions (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config


@cache
def script_directory() -> ScriptDirectory:
    """The packaged revisions, read once per process (start-up migrates every app)."""
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision. There is exactly one (tests/test_migrations.py checks it)."""
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise ConfigurationError(f"the migrations have {len(heads)} heads: merge them")
    return heads[0]


def migration_url(database_url: str) -> sa.URL:
    """The app's ``databases`` URL as a SQLAlchemy async URL on the same driver."""
    url = sa.make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        drivername = "sqlite+aiosqlite"
    elif backend in ("postgresql", "postgres"):
        drivername = "postgresql+asyncpg"
    else:
        raise ConfigurationError(
            f"migrations support SQLite and PostgreSQL, not {backend!r} (SUPPORTAI_DATABASE_URL)"
        )
    return url.set(drivername=drivername).difference_update_query(_POOL_OPTIONS)


def create_engine(database_url: str, *, exclusive: bool = True) -> AsyncEngine:
    """An engine for one migration command: no pool, one transaction per connection.

    On SQLite the driver's implicit transactions are switched off and, when
    ``exclusive``, the engine's transaction starts with ``BEGIN IMMEDIATE``
    (SQLAlchemy's recipe for transactional DDL on SQLite): the write lock is
    taken before the version is read, so two processes never both decide to
    apply the same revision. Read-only callers pass ``exclusive=False``.
    """
    url = migration_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, poolclass=NullPool)
    engine = create_async_engine(
        url, poolclass=NullPool, connect_args={"timeout": SQLITE_LOCK_TIMEOUT_S}
    )

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    if exclusive:

        @sa.event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def run_in_transaction(database_url: str, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a synchronous connection, inside one locked transaction, and commit."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.run_sync(_locked(work))
            await connection.commit()
        return result
    finally:
        await engine.dispose()


def _locked(work: Callable[[Connection], T]) -> Callable[[Connection], T]:
    def run(connection: Connection) -> T:
        # The first statement begins the transaction (BEGIN IMMEDIATE on SQLite).
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})"))
        else:
            connection.execute(sa.text("SELECT 1"))
        return work(connection)

    return run


def _command_config(connection: Connection, progress: Progress) -> Config:
    """Configuration for one Alembic command on our connection (read by ``env.py``)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes["progress"] = progress
    return config


def current_heads(connection: Connection) -> tuple[str, ...]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return tuple(context.get_current_heads())


def _adopt_legacy(connection: Connection, progress: Progress) -> None:
    """Stamp a database of the old runner at 0001 (its schema) and drop its bookkeeping."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(LEGACY_TABLE) or inspector.has_table(VERSION_TABLE):
        return
    version = connection.execute(sa.text(f"SELECT max(version) FROM {LEGACY_TABLE}")).scalar()
    if version != 1:
        raise ConfigurationError(
            f"{LEGACY_TABLE} is at version {version}, which no release had: not migrating"
        )
    command.stamp(_command_config(connection, progress), "0001")
    connection.execute(sa.text(f"DROP TABLE {LEGACY_TABLE}"))
    progress.adopted = True


async def upgrade(database_url: str, target: str = "head") -> Progress:
    """Apply pending revisions up to ``target``; returns what was applied."""

    def work(connection: Connection) -> Progress:
        progress = Progress()
        _adopt_legacy(connection, progress)
        command.upgrade(_command_config(connection, progress), target)
        return progress

    return await run_in_transaction(database_url, work)


async def downgrade(database_url: str, target: str) -> Progress:
    """Undo revisions down to ``target`` (a revision, ``-1``, or ``base``)."""

    def work(connection: Connection) -> Progress:
        progress = Progress()
        _adopt_legacy(connection, progress)
        command.downgrade(_command_config(connection, progress), target)
        return progress

    return await run_in_transaction(database_url, work)


async def current(database_url: str) -> tuple[str, ...]:
    """The revisions the database is at (empty: not migrated). Changes nothing."""
    engine = create_engine(database_url, exclusive=False)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(current_heads)
    finally:
        await engine.dispose()


async def is_up_to_date(database_url: str) -> bool:
    return await current(database_url) == (head(),)
