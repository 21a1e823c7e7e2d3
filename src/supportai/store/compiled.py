"""``databases`` backends that compile each statement shape once.

``databases`` turns every SQLAlchemy Core statement into SQL text on every call,
with no cache: 0.2-0.6 ms per statement, about a third of a turn's own time in
``bench/`` profiles (a turn runs 12 statements). SQLAlchemy's engine avoids that
with its statement cache keyed by ``_generate_cache_key()``: two statements of the
same shape share one compiled form, and the literal values of the new one are
read back out of its cache key (``extracted_parameters``). The connections below
do the same in front of ``databases``' drivers:

* a bounded LRU of compiled forms per backend (per dialect), keyed by the
  statement's cache key; statements that have no cache key, DDL, and statements
  whose text depends on their values (expanding ``IN``, literal-rendered
  parameters) are compiled every time, exactly as ``databases`` would;
* the per-shape pieces ``databases`` rebuilds for every row set (column maps,
  SQLite's cursor metadata) are kept with the compiled form;
* rows come back as the same ``Record`` type, so callers see no difference, and
  :func:`record_dict` turns one into a dict without a per-column type lookup;
* :class:`Prepared` statements skip even the statement's construction and its
  cache key: the hot path of a turn (about a dozen statements) uses them.

The PostgreSQL side is in :mod:`supportai.store.postgres`, imported only for a
PostgreSQL URL: asyncpg is an optional dependency (``supportai[postgresql]``).

This is a measured change (``docs/performance.md``); it has no behaviour of its
own. ``tests/test_compiled_cache.py`` holds it to that: the same values, the same
decoded types, on both engines, for every statement shape the store uses.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from databases.backends.common.records import Record, create_column_maps
from databases.backends.sqlite import CompilationContext, SQLiteBackend, SQLiteConnection
from sqlalchemy.engine.cursor import CursorResultMetaData
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.ddl import DDLElement

#: Distinct statement shapes kept per backend. The store has fewer than 200.
CACHE_SIZE = 512

_Processor = Callable[[Any], Any] | None


class _Entry:
    """One compiled statement shape and everything derived from it once."""

    __slots__ = (
        "bind_processors",
        "column_maps",
        "compiled",
        "context",
        "decoders",
        "keys",
        "metadata",
        "names",
        "plan",
        "read_only",
        "result_columns",
        "sql",
    )

    def __init__(self, compiled: Any, sql: str, keys: list[str], context: Any = None) -> None:
        self.compiled = compiled
        self.sql = sql
        self.keys = keys
        self.bind_processors: dict[str, Callable[[Any], Any]] = compiled._bind_processors
        self.result_columns = compiled._result_columns
        self.column_maps = create_column_maps(self.result_columns)
        self.context = context
        self.metadata: Any = None  # SQLite: the cursor metadata, set on first use
        self.decoders: list[tuple[str, int, _Processor]] | None = None
        # Result column names by position; a repeated name keeps its last value,
        # as ``databases``' own column map does.
        self.names: list[str] = [column[0] for column in self.result_columns or ()]
        # A plain SELECT (SQLite: a WITH clause may hide a write, so only SELECT counts).
        self.read_only = sql.lstrip()[:6].upper() == "SELECT"
        # Prepared statements: per positional argument, the name of the call's value
        # to read, or the constant (already processed) the statement was built with.
        self.plan: list[tuple[str | None, _Processor, Any]] | None = None

    def prepare(self) -> _Entry:
        """Plan the arguments of a :class:`Prepared` statement from its bind parameters."""
        binds = self.compiled.binds
        plan: list[tuple[str | None, _Processor, Any]] = []
        for key in self.keys:
            bind = binds[key]
            processor = self.bind_processors.get(key)
            if bind.required:  # sa.bindparam("name") with no value: given per call
                plan.append((bind.key, processor, None))
            else:  # a literal of the statement ("complete"): the same on every call
                value = bind.effective_value
                plan.append((None, None, processor(value) if processor else value))
        self.plan = plan
        return self

    def bound_args(self, values: dict[str, Any]) -> list[Any]:
        """This call's positional arguments for a prepared statement."""
        assert self.plan is not None
        return [
            constant if name is None else (processor(values[name]) if processor else values[name])
            for name, processor, constant in self.plan
        ]

    def key_args(self, cache_key: Any) -> list[Any]:
        """This call's positional arguments: the values carried by ``cache_key``."""
        params = self.compiled.construct_params(extracted_parameters=cache_key[1])
        processors = self.bind_processors
        return [
            processors[key](params[key]) if key in processors else params[key] for key in self.keys
        ]


class _StatementCache:
    """A small thread-safe LRU of :class:`_Entry`, one per backend."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._entries: OrderedDict[Any, _Entry | None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Any) -> _Entry | bool | None:
        """The entry, ``None`` for a shape known to be uncacheable, ``False`` if unseen."""
        with self._lock:
            try:
                entry = self._entries[key]
            except KeyError:
                self.misses += 1
                return False
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: Any, entry: _Entry | None) -> None:
        with self._lock:
            self._entries[key] = entry
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)


def _lookup(
    cache: _StatementCache,
    query: ClauseElement | Bound,
    build: Callable[[Any, Any], _Entry | None],
) -> tuple[_Entry, list[Any]] | None:
    """The compiled entry for ``query`` and this call's arguments, or None to compile as usual."""
    if isinstance(query, Bound):
        entry = query.prepared.entry(build)
        return entry, entry.bound_args(query.values)
    if isinstance(query, DDLElement):
        return None
    cache_key = query._generate_cache_key()
    if cache_key is None:
        return None
    found = cache.get(cache_key.key)
    if found is False:
        found = build(query, cache_key)
        cache.put(cache_key.key, found)
    assert found is not True
    if found is None:
        return None
    return found, found.key_args(cache_key)


class Prepared:
    """A statement built once with ``sa.bindparam`` placeholders; call it with their values.

    For the dozen statements every turn runs, building the Core statement and
    computing its cache key cost more than SQLite takes to run it. A prepared
    statement is compiled once per dialect and bound by name::

        GET = Prepared(sa.select(T).where(T.c.id == sa.bindparam("id")))
        row = await conn.fetch_one(GET(id=7))

    Literals written into the statement stay constants. Use it for hot paths;
    everything else reads better as a plain statement and is cached anyway.
    """

    __slots__ = ("_entries", "statement")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._entries: dict[Any, _Entry] = {}

    def __call__(self, **values: Any) -> ClauseElement:
        # Typed as what databases' Connection methods accept: they pass it through
        # untouched to the backends below, which recognise a Bound.
        return cast(ClauseElement, Bound(self, values))

    def entry(self, build: Callable[[Any, Any], _Entry | None]) -> _Entry:
        """The compiled entry for the connection class that ``build`` belongs to."""
        key = getattr(build, "__func__", build)
        entry = self._entries.get(key)
        if entry is None:
            built = build(self.statement, None)
            if built is None:
                raise ValueError("a prepared statement's SQL must not depend on its values")
            entry = self._entries[key] = built.prepare()
        return entry


def prepared_insert(table: Any, *columns: str, returning: Any = None) -> Prepared:
    """``INSERT INTO table (columns) VALUES (...)``, prepared; bind it with :func:`column_values`.

    The bind names are the column names prefixed ``v_``: SQLAlchemy reserves a
    column's own name for the VALUES clause it generates itself.
    """
    statement = table.insert().values({c: sa.bindparam(f"v_{c}") for c in columns})
    return Prepared(statement.returning(returning) if returning is not None else statement)


def column_values(**columns: Any) -> dict[str, Any]:
    """The bind values of a :func:`prepared_insert` statement, given by column name."""
    return {f"v_{name}": value for name, value in columns.items()}


class Bound:
    """A :class:`Prepared` statement with one call's values, as connections accept it."""

    __slots__ = ("prepared", "values")

    def __init__(self, prepared: Prepared, values: dict[str, Any]) -> None:
        self.prepared, self.values = prepared, values

    def __str__(self) -> str:
        return str(self.prepared.statement)

    def compile(self, *args: Any, **kwargs: Any) -> Any:
        """For a ``databases`` backend without the cache: the plain statement."""
        return self.prepared.statement.params(**self.values).compile(*args, **kwargs)


def _compile_once(query: ClauseElement, dialect: Any, cache_key: Any) -> Any | None:
    """The compiled form to keep, or None when its SQL text changes with the values."""
    compiled: Any = query.compile(dialect=dialect, cache_key=cache_key)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    return compiled


class CachedSQLiteConnection(SQLiteConnection):
    """``databases``' SQLite connection with the statement cache in front."""

    def __init__(self, pool: Any, dialect: Any, cache: _StatementCache) -> None:
        super().__init__(pool, dialect)
        self._cache = cache

    def _build(self, query: ClauseElement, cache_key: Any) -> _Entry | None:
        compiled = _compile_once(query, self._dialect, cache_key)
        if compiled is None:
            return None
        context: Any = self._dialect.execution_ctx_cls()
        context.dialect = self._dialect
        context.result_column_struct = (
            compiled._result_columns,
            compiled._ordered_columns,
            compiled._textual_ordered_columns,
            compiled._ad_hoc_textual,
            compiled._loose_column_name_matching,
        )
        return _Entry(compiled, compiled.string, list(compiled.positiontup), context)

    def _compile(self, query: ClauseElement) -> Any:
        found = _lookup(self._cache, query, self._build)
        if found is None:
            return super()._compile(query)
        entry, args = found
        return entry.sql, args, entry.result_columns, CompilationContext(entry.context)

    async def _rows(self, query: ClauseElement, one: bool) -> list[Record]:
        found = _lookup(self._cache, query, self._build)
        assert self._connection is not None, "Connection is not acquired"
        if found is None:
            if one:
                record = await super().fetch_one(query)
                return [] if record is None else [record]
            return await super().fetch_all(query)
        entry, args = found
        description, rows = await run_sqlite(
            self._connection, entry.read_only, _fetch, entry.sql, args, one
        )
        if not rows:
            return []
        if entry.metadata is None:
            context: Any = CompilationContext(entry.context)
            entry.metadata = CursorResultMetaData(context, description)
        metadata = entry.metadata
        return [_SQLiteRecord(_make_row(metadata, row), entry, self._dialect) for row in rows]

    # The same (narrower) return type as databases' own SQLiteConnection declares.
    async def fetch_all(self, query: ClauseElement) -> list[Record]:  # type: ignore[override]
        return await self._rows(query, one=False)

    async def fetch_one(self, query: ClauseElement) -> Record | None:
        rows = await self._rows(query, one=True)
        return rows[0] if rows else None

    async def execute(self, query: ClauseElement) -> Any:
        found = _lookup(self._cache, query, self._build)
        if found is None:
            return await super().execute(query)
        assert self._connection is not None, "Connection is not acquired"
        entry, args = found
        lastrowid, rowcount = await run_sqlite(
            self._connection, entry.read_only, _execute, entry.sql, args
        )
        return rowcount if lastrowid == 0 else lastrowid  # as databases returns it


async def run_on_sqlite_thread(connection: Any, function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function(sqlite3_connection, *args)`` on an aiosqlite connection's own thread.

    aiosqlite hands each step to its thread separately: execute, fetch and close
    are three round trips between the event loop and the thread, each a queue
    hand-off, a GIL switch and a self-pipe wake-up. A statement here is one.
    ``_execute`` is aiosqlite's own way to run a call on its thread.
    """
    return await connection._execute(function, connection._conn, *args)


async def run_sqlite(
    connection: Any, read_only: bool, function: Callable[..., Any], *args: Any
) -> Any:
    """Run one statement on the event loop when it cannot wait for a lock, else on the thread.

    The connection decides, and on which sqlite3 connection
    (``_ImmediateTransactions.inline_connection`` in database.py); a connection
    without that policy always uses its thread.
    """
    inline_connection = getattr(connection, "inline_connection", None)
    raw = inline_connection(read_only) if inline_connection is not None else None
    if raw is None:
        return await run_on_sqlite_thread(connection, function, *args)
    result = function(raw, *args)
    await _share_the_loop()
    return result


#: The longest run of statements on the loop before other tasks get a turn.
INLINE_SLICE_S = 0.002
_slice_started = 0.0


async def _share_the_loop() -> None:
    """After an inline statement, yield to the event loop if INLINE_SLICE_S passed since the last.

    An inline statement does not suspend, so a loop of them (a bulk export, a
    batch of writes) would otherwise keep every other request waiting until it
    ends. Yielding after every statement would cost a loop iteration each;
    yielding at most once per slice bounds the wait for almost nothing.
    """
    global _slice_started
    now = time.perf_counter()
    if now - _slice_started >= INLINE_SLICE_S:
        _slice_started = now
        await asyncio.sleep(0)


def _fetch(raw: sqlite3.Connection, sql: str, args: list[Any], one: bool) -> tuple[Any, list[Any]]:
    cursor = raw.execute(sql, args)
    try:
        if one:
            row = cursor.fetchone()
            return cursor.description, [] if row is None else [row]
        return cursor.description, cursor.fetchall()
    finally:
        cursor.close()


def _execute(raw: sqlite3.Connection, sql: str, args: list[Any]) -> tuple[int | None, int]:
    cursor = raw.execute(sql, args)
    try:
        return cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _make_row(metadata: Any, raw: Any) -> Any:
    from databases.backends.common.records import Row

    return Row(metadata, metadata._processors, metadata._keymap, raw)


class _SQLiteRecord(Record):
    """A ``Record`` whose values SQLAlchemy's ``Row`` already decoded.

    ``databases``' ``Record`` looks a result processor up for every value it
    returns, and on SQLite then does not use it (the row applied it already).
    """

    __slots__ = ("_entry",)

    def __init__(self, row: Any, entry: _Entry, dialect: Any) -> None:
        super().__init__(row, entry.result_columns, dialect, entry.column_maps)
        self._entry = entry

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return self._row[key]
        if isinstance(key, str) and self._column_map:
            return self._row[self._column_map[key][0]]
        return super().__getitem__(key)

    def as_dict(self) -> dict[str, Any] | None:
        names = self._entry.names
        return dict(zip(names, self._row, strict=True)) if names else None


class CachedSQLiteBackend(SQLiteBackend):
    """``SQLiteBackend`` whose connections share one statement cache."""

    def __init__(self, database_url: Any, **options: Any) -> None:
        super().__init__(database_url, **options)
        self.statements = _StatementCache()

    def connection(self) -> CachedSQLiteConnection:
        return CachedSQLiteConnection(self._pool, self._dialect, self.statements)


def record_dict(row: Any) -> dict[str, Any] | None:
    """``row`` as a dict of decoded values when it came through the cache, else None."""
    as_dict = getattr(row, "as_dict", None)
    return as_dict() if as_dict is not None else None
