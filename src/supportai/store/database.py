"""The database handle: ``databases`` with SQLite pragmas and explicit connections.

Two measured pitfalls shape this module (DESIGN.md):

* ``databases``' SQLite backend opens a new aiosqlite connection (a thread) on
  every acquire, ~1.7 ms. So a request holds **one** connection
  (:meth:`Database.connection`) for all its queries instead of letting each
  query acquire its own.
* SQLite does not enforce foreign keys unless told so per connection, and
  concurrent writers need a busy timeout. The pool below sets both on every
  connection it opens; WAL is set once (it is persistent).
* ``databases`` compiles every statement again on every call. The backends in
  :mod:`supportai.store.compiled` put a compiled-statement cache in front of the
  same drivers.

Connections are explicit objects passed down, never a context variable, so a
streaming response (which runs in another task) keeps using the connection it
was given.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import aiosqlite
import databases
import sqlalchemy as sa
from databases.backends.sqlite import SQLitePool
from databases.core import Connection
from sqlalchemy.engine import Dialect

from supportai.store.compiled import CachedSQLiteBackend, record_dict, run_on_sqlite_thread
from supportai.store.outage import StorageUnavailable, is_outage

log = logging.getLogger("supportai.database")

#: How long shutdown waits for connections to close before terminating them.
DISCONNECT_TIMEOUT_S = 10.0

#: How long a statement on aiosqlite's thread waits for another process's lock.
BUSY_TIMEOUT_MS = 10_000
#: Commits between two WAL checkpoints (SQLite's own automatic one is off, see below).
CHECKPOINT_EVERY_COMMITS = 256

SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    # COMMIT runs on the event loop (see _ImmediateTransactions.runs_inline), so it
    # must never do the checkpoint's file copy and fsync: the pool checkpoints in
    # a worker thread instead, every CHECKPOINT_EVERY_COMMITS commits.
    "PRAGMA wal_autocheckpoint=0",
)


class _PragmaSQLitePool(SQLitePool):
    """SQLitePool that sets :data:`SQLITE_PRAGMAS` and keeps idle connections for reuse.

    ``databases`` opens (and closes) one aiosqlite connection, with its own thread, per
    acquire: ~1.7 ms each, several times per turn. Keeping up to ``max_idle`` open
    connections and handing them out again removes that cost. A connection is only
    returned to the pool outside a transaction; otherwise it is rolled back first.
    """

    def __init__(self, url: Any, max_idle: int = 16, **options: Any) -> None:
        super().__init__(url, **options)
        self._idle: list[Any] = []
        self._max_idle = max_idle
        self._write_lock = asyncio.Lock()
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None
        self.checkpoints = 0  # completed, for tests and diagnostics
        # Statements run on the event loop only once the database is known to be in
        # WAL mode (Database.connect): without WAL, readers and COMMIT can wait.
        self.inline = False
        #: The connection every inline transaction of this process runs on (see
        #: :meth:`writer`), opened by the first one.
        self._writer: Any = None

    async def acquire(self) -> Any:
        if self._idle:
            return self._idle.pop()
        return _ImmediateTransactions(await self._open(), self)

    async def _open(self) -> Any:
        # check_same_thread=False: statements that cannot wait run on the event
        # loop's thread (see _ImmediateTransactions.runs_inline); the connection is
        # still used by one task at a time.
        connection = aiosqlite.connect(
            database=self._database,
            isolation_level=None,
            check_same_thread=False,
            **self._options,
        )
        # Pooled connections outlive requests; a host that never runs our shutdown
        # must still be able to exit, so the worker thread must not block it.
        connection._thread.daemon = True
        await connection.__aenter__()
        for pragma in SQLITE_PRAGMAS:
            await connection.execute(pragma)
        return connection

    async def writer(self) -> Any:
        """The one connection this process's inline transactions run on.

        Called with the write lock held, so it serves one transaction at a time.
        SQLite drops a connection's page cache whenever another connection wrote
        since that connection's last statement: with every turn writing on
        whichever pooled connection it holds, at concurrency 16 almost every
        transaction started with a cold cache and re-read the pages it needed
        (about 60% more time per statement). Writers take turns anyway (the lock);
        on one connection, each finds the pages the last one left.
        """
        if self._writer is None:
            self._writer = await self._open()
        return self._writer

    def has_idle(self) -> bool:
        """Whether :meth:`acquire` hands out a kept connection, without waiting at all."""
        return bool(self._idle)

    async def release(self, connection: Any) -> None:
        try:
            if connection.in_transaction:
                await connection.rollback()
        except Exception:
            connection._unlock()  # never keep the write lock (or the writer) idle
            await super().release(connection)
            return
        connection._unlock()  # held without a transaction: only a failed begin or end
        if len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            await super().release(connection)

    async def checkpoint_settled(self) -> None:
        """Wait (bounded) for a WAL checkpoint still running."""
        if self._checkpoint is not None:
            await asyncio.wait([self._checkpoint], timeout=DISCONNECT_TIMEOUT_S)

    async def close(self) -> None:
        await self.checkpoint_settled()
        idle, self._idle = self._idle, []
        for connection in idle:
            await super().release(connection)
        writer, self._writer = self._writer, None
        if writer is not None:
            await super().release(writer)

    def committed(self) -> None:
        """Count a commit; every CHECKPOINT_EVERY_COMMITS start a checkpoint in a thread."""
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY_COMMITS and self._checkpoint is None:
            self._commits = 0
            self._checkpoint = asyncio.get_running_loop().create_task(self._run_checkpoint())

    async def _run_checkpoint(self) -> None:
        try:
            # Twice: first while writers go on (it copies almost everything), then
            # holding the writers' lock to copy the few pages written meanwhile. With
            # writes going on, a checkpoint never copies the whole WAL, and the WAL
            # only starts over (stops growing) after one that did; SQLite's own
            # checkpoint holds the writers off for all of it.
            await asyncio.to_thread(self._checkpoint_now)
            async with self._write_lock:
                await asyncio.to_thread(self._checkpoint_now)
            self.checkpoints += 1
        except Exception:  # the next round tries again; the WAL only grows meanwhile
            log.warning("SQLite WAL checkpoint failed", exc_info=True)
        finally:
            self._checkpoint = None

    def _checkpoint_now(self) -> None:
        """A PASSIVE checkpoint on a connection of its own: it waits for no reader or writer."""
        options = {k: v for k, v in self._options.items() if k != "check_same_thread"}
        raw = sqlite3.connect(self._database, **options)
        try:
            raw.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        finally:
            raw.close()


class _ImmediateTransactions:
    """An aiosqlite connection whose transactions are serialised in the process.

    SQLite has one writer at a time. Left to itself, a deferred transaction that
    reads before it writes fails at once with "database is locked" when another
    connection wrote meanwhile, and under heavy concurrency writers queue inside
    SQLite's busy handler, which polls and gives up after ``busy_timeout``. So a
    root transaction here first takes the pool's asyncio lock (writers queue in
    the event loop, in order, without timing out), then runs ``BEGIN IMMEDIATE``;
    ``busy_timeout`` is left for other processes. ``databases`` issues plain
    ``BEGIN``/``COMMIT``/``ROLLBACK`` strings; this is the one place to change that.
    """

    def __init__(self, connection: Any, pool: _PragmaSQLitePool) -> None:
        self._own = connection
        #: Where statements run: its own connection, or the pool's writer while this
        #: connection's transaction holds the write lock (inline mode).
        self._connection = connection
        self._pool = pool
        self._lock = pool._write_lock
        self._holds_lock = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def runs_inline(self, read_only: bool) -> bool:
        """Whether a statement may run on the event loop's thread instead of aiosqlite's.

        A hand-off to aiosqlite's thread costs about 90 us (queue, GIL switch,
        self-pipe wake-up); plain sqlite3 runs one of our statements in 10-30 us.
        Running on the loop is only safe for a statement that can never wait for
        a lock, which would stall every request of the process:

        * inside our own transaction: ``BEGIN IMMEDIATE`` already holds the
          database's write lock, so its reads and writes cannot be kept waiting;
        * a read: in WAL mode readers never wait for writers.

        Writes outside a transaction keep the thread (each takes the write lock,
        which a transaction of this very process may hold). ``BEGIN IMMEDIATE``
        runs on the loop only when the lock is free (:func:`_begin_immediate`),
        and ``COMMIT`` cannot wait in WAL mode once the automatic checkpoint is
        off (:data:`SQLITE_PRAGMAS`). Decision record 0006 has the measurements.
        """
        return self._pool.inline and (self._holds_lock or read_only)

    def inline_connection(self, read_only: bool) -> sqlite3.Connection | None:
        """The sqlite3 connection to run a statement on in the loop, or None: the thread.

        As :meth:`runs_inline` decides. A read outside a transaction runs on the
        pool's writer (see :meth:`_PragmaSQLitePool.writer`) while no transaction
        holds it, for the same warm page cache: it runs to its end before any other
        task does (nothing between its execute and its close awaits), so no
        transaction can begin on the writer meanwhile.
        """
        if not self.runs_inline(read_only):
            return None
        if not self._holds_lock:
            pool = self._pool
            writer = pool._writer
            if writer is not None and not pool._write_lock.locked():
                return cast(sqlite3.Connection, writer._conn)
        return cast(sqlite3.Connection, self._connection._conn)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql == "BEGIN":
            return _Statement(self, "BEGIN IMMEDIATE", args, begin=True)
        if sql in ("COMMIT", "ROLLBACK"):
            return _Statement(self, sql, args, end=True)
        return self._connection.execute(sql, *args, **kwargs)

    async def rollback(self) -> None:
        try:
            await self._connection.rollback()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._holds_lock:
            self._holds_lock = False
            self._connection = self._own
            self._lock.release()


class _Statement:
    """``await``-able and ``async with``-able like aiosqlite's, plus the write lock."""

    def __init__(
        self,
        owner: _ImmediateTransactions,
        sql: str,
        args: tuple[Any, ...],
        *,
        begin: bool = False,
        end: bool = False,
    ) -> None:
        self._owner, self._sql, self._args = owner, sql, args
        self._begin, self._end = begin, end

    async def _enter(self) -> Any:
        owner = self._owner
        if self._begin and not owner._holds_lock:
            await owner._lock.acquire()
            owner._holds_lock = True
        try:
            if self._begin and owner._pool.inline:
                owner._connection = await owner._pool.writer()
            raw = owner._connection._conn
            if not owner._pool.inline:  # not in WAL mode: every statement may wait
                await run_on_sqlite_thread(owner._connection, _run_and_close, self._sql, self._args)
            elif self._begin:
                await _begin_immediate(owner._connection, raw, self._sql)
            else:  # COMMIT/ROLLBACK: on the loop (WAL, no automatic checkpoint: no wait)
                _run_and_close(raw, self._sql, self._args)
                if self._sql == "COMMIT":
                    owner._pool.committed()
        except BaseException:
            if self._begin or self._end:
                owner._unlock()
            raise
        return _FinishedCursor()

    async def __aenter__(self) -> Any:
        return await self._enter()

    async def __aexit__(self, *exc: Any) -> None:
        if self._end:
            self._owner._unlock()

    def __await__(self) -> Any:
        async def run() -> Any:
            cursor = await self._enter()
            await self.__aexit__(None, None, None)
            return cursor

        return run().__await__()


def _run_and_close(raw: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> None:
    raw.execute(sql, *args).close()


async def _begin_immediate(connection: Any, raw: sqlite3.Connection, sql: str) -> None:
    """``BEGIN IMMEDIATE`` on the loop if the write lock is free, else wait on the thread.

    Writers of this process queue on the pool's asyncio lock before they get
    here, so the database's write lock can only be held by another process (a
    second worker, the CLI). Trying with a zero busy timeout never waits; only
    when another process is writing does the wait move to the connection's
    thread, where ``busy_timeout`` applies without stalling the event loop.
    """
    raw.execute("PRAGMA busy_timeout=0").close()
    try:
        _run_and_close(raw, sql)
        return
    except sqlite3.OperationalError as exc:
        # the primary code: extended ones (SQLITE_BUSY_RECOVERY...) are waits too
        if getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF != sqlite3.SQLITE_BUSY:
            raise
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}").close()
    await run_on_sqlite_thread(connection, _run_and_close, sql)


class _FinishedCursor:
    """What ``databases`` gets back for BEGIN/COMMIT/ROLLBACK: it only closes it."""

    async def close(self) -> None:
        return None


class Database:
    """An app's database. ``url`` is SQLAlchemy style (``sqlite+aiosqlite:///...``)."""

    def __init__(
        self, url: str, *, timeout_s: float = 5.0, statement_timeout_s: float = 30.0
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        #: How long getting a connection may take before it counts as an outage.
        self.timeout_s = timeout_s
        options: dict[str, Any] = {}
        if url.startswith("postgresql"):
            # asyncpg's own bounds: connecting (default 60 s) and any one statement
            # (default: none). A stalled server must become a 503 in bounded time.
            options = {"timeout": timeout_s, "command_timeout": statement_timeout_s}
        self._db = databases.Database(url, **options)
        #: The SQLite pool installed below, kept here so the per-connection check
        #: (:meth:`_acquired_at_once`) does not reach through ``databases``' backend.
        self._sqlite_pool: _PragmaSQLitePool | None = None
        # Same drivers, plus a compiled-statement cache (see compiled.py).
        if self.is_sqlite:
            backend: Any = CachedSQLiteBackend(self._db.url, **self._db.options)
            self._sqlite_pool = _PragmaSQLitePool(backend._database_url, **backend._options)
            backend._pool = self._sqlite_pool
        elif type(self._db._backend).__name__ == "PostgresBackend":
            from supportai.store.postgres import CachedPostgresBackend  # needs asyncpg

            backend = CachedPostgresBackend(self._db.url, **self._db.options)
        else:  # another engine databases supports: left as it is
            backend = self._db._backend
        self._db._backend = backend
        self.connected = False

    @property
    def dialect(self) -> Dialect:
        dialect: Dialect = self._db._backend._dialect
        return dialect

    async def connect(self) -> None:
        """Open the pool; an unreachable database is :class:`StorageUnavailable`."""
        if self.connected:
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._db.connect()
        except Exception as exc:
            if is_outage(exc):
                log.warning("database unreachable at connect: %s", exc)
                await self._forget_pool()
                raise StorageUnavailable() from exc
            raise
        self.connected = True
        if self._sqlite_pool is not None:
            async with self.connection() as conn:
                mode = await conn.fetch_val("PRAGMA journal_mode=WAL")
            # An in-memory database, or a file system without shared memory, stays in
            # another journal mode, where statements can wait: then none runs inline.
            self._sqlite_pool.inline = str(mode).lower() == "wal"

    async def disconnect(self, timeout_s: float = DISCONNECT_TIMEOUT_S) -> None:
        """Close every connection; never wait more than ``timeout_s`` for that.

        A PostgreSQL connection the server killed in the middle of a query
        (``pg_terminate_backend``, a failover) can stay checked out of asyncpg's
        pool, and ``Pool.close()`` waits for it forever: a worker could never shut
        down. After the timeout the pool is terminated instead (found by
        ``tests/test_faults.py``).
        """
        if self.connected:
            if self._sqlite_pool is not None:
                await self._sqlite_pool.close()
            try:
                await asyncio.wait_for(self._db.disconnect(), timeout_s)
            except TimeoutError:
                log.warning("database connections did not close in %.0fs; terminating", timeout_s)
                backend = self._db._backend
                pool = getattr(backend, "_pool", None)
                if pool is not None and hasattr(pool, "terminate"):
                    pool.terminate()
                backend._pool = None
                self._db.is_connected = False
            self.connected = False

    async def _forget_pool(self) -> None:
        """After a failed connect: drop a half-made pool so the next request tries again."""
        backend = self._db._backend
        pool = getattr(backend, "_pool", None)
        if not self.is_sqlite and pool is not None:
            if hasattr(pool, "terminate"):
                pool.terminate()
            backend._pool = None
        self._db.is_connected = False

    async def _expire_pooled_connections(self, failed: Connection) -> None:
        """After one connection failed as in an outage, replace the pool's others too.

        When the server drops its connections (a restart, a failover,
        ``pg_terminate_backend``) the idle ones in asyncpg's pool look open until
        they are used, and one that received the server's last error is stuck mid
        protocol: handed out again it fails the next request too (found by
        ``tests/test_faults.py``). Expiring the pool's generation makes every
        later acquire open a fresh connection. The failed one is closed at once:
        closing it politely would wait for a reply that never comes.
        """
        pool = getattr(self._db._backend, "_pool", None)
        if self.is_sqlite or pool is None:
            return
        await pool.expire_connections()
        try:
            failed.raw_connection.terminate()  # asyncpg's pooled connection
        except Exception:  # already back in the pool, whose reset then closes it
            log.debug("the failed connection was already released", exc_info=True)

    def _acquired_at_once(self) -> bool:
        """Whether the next connection is an idle one of the SQLite pool.

        Then acquiring it does not suspend (the new ``Connection``'s lock is free and
        the pool pops the idle connection), so the time limit on acquiring, a timer
        on the event loop's heap set and cancelled five times a turn, is skipped.
        """
        return self._sqlite_pool is not None and self._sqlite_pool.has_idle()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """One held connection, not bound to the current task.

        Getting it takes at most ``timeout_s``; an outage, then or while it is
        used, surfaces as :class:`StorageUnavailable` (a typed 503), its driver
        text in the log only.
        """
        conn = Connection(self._db, self._db._backend)
        try:
            if self._acquired_at_once():
                await conn.__aenter__()  # never suspends: a timer would never fire
            else:
                async with asyncio.timeout(self.timeout_s):
                    await conn.__aenter__()
        except Exception as exc:
            if is_outage(exc):
                log.warning("database unreachable: %s", exc)
                raise StorageUnavailable() from exc
            raise
        failure: BaseException | None = None
        try:
            yield conn
        except BaseException as exc:
            failure = exc
            if isinstance(exc, Exception) and is_outage(exc):
                log.warning("database connection failed: %s", exc)
                if not isinstance(exc, TimeoutError):  # slow is not broken: keep the pool
                    await self._expire_pooled_connections(conn)
                raise StorageUnavailable() from exc
            raise
        finally:
            try:
                if failure is None:
                    await conn.__aexit__(None, None, None)
                else:
                    await conn.__aexit__(type(failure), failure, failure.__traceback__)
            except Exception as exc:
                if failure is not None:  # the first failure is the one to report
                    log.debug("releasing a failed database connection failed", exc_info=True)
                elif is_outage(exc):
                    raise StorageUnavailable() from exc
                else:
                    raise

    def compile(self, clause: sa.sql.ClauseElement) -> str:
        return str(clause.compile(dialect=self.dialect))


def row_dict(row: Any) -> dict[str, Any]:
    """A result row as a dict of *decoded* values, on every engine.

    On PostgreSQL ``databases`` hands back ``Record._mapping`` as the raw asyncpg
    record, which skips the columns' result processors: a ``JSONText`` column
    (citations, tool arguments...) comes back as a JSON string. Indexing the record
    by name applies them; on SQLite the values are already decoded either way.
    """
    decoded = record_dict(row)  # rows of cached statements decode a whole row at once
    if decoded is not None:
        return decoded
    # .keys(): iterating an asyncpg record yields its values, not its names.
    return {key: row[key] for key in row._mapping.keys()}  # noqa: SIM118


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique-constraint failure on SQLite or PostgreSQL."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    return type(exc).__name__ == "UniqueViolationError"
