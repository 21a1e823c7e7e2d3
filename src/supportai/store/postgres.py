"""The compiled-statement cache of :mod:`supportai.store.compiled` for asyncpg.

Its own module because ``databases``' PostgreSQL backend imports asyncpg, an
optional dependency (``supportai[postgresql]``): an SQLite deployment never
imports this.
"""

from __future__ import annotations

from typing import Any

from databases.backends.common.records import Record
from databases.backends.postgres import PostgresBackend, PostgresConnection
from databases.interfaces import Record as RecordInterface
from sqlalchemy.sql import ClauseElement

from supportai.store.compiled import _compile_once, _Entry, _lookup, _StatementCache


class CachedPostgresConnection(PostgresConnection):
    """``databases``' asyncpg connection with the statement cache in front."""

    def __init__(self, database: Any, dialect: Any, cache: _StatementCache) -> None:
        super().__init__(database, dialect)
        self._cache = cache

    def _build(self, query: ClauseElement, cache_key: Any) -> _Entry | None:
        compiled = _compile_once(query, self._dialect, cache_key)
        if compiled is None:
            return None
        keys = sorted(compiled.params)
        mapping = {key: f"${position}" for position, key in enumerate(keys, start=1)}
        return _Entry(compiled, compiled.string % mapping, keys)

    def _compile(self, query: ClauseElement) -> Any:
        found = _lookup(self._cache, query, self._build)
        if found is None:
            return super()._compile(query)
        entry, args = found
        return entry.sql, args, entry.result_columns

    async def fetch_all(self, query: ClauseElement) -> list[RecordInterface]:
        found = _lookup(self._cache, query, self._build)
        if found is None:
            return await super().fetch_all(query)
        assert self._connection is not None, "Connection is not acquired"
        entry, args = found
        rows = await self._connection.fetch(entry.sql, *args)
        return [_PostgresRecord(row, entry, self._dialect) for row in rows]

    async def fetch_one(self, query: ClauseElement) -> RecordInterface | None:
        found = _lookup(self._cache, query, self._build)
        if found is None:
            return await super().fetch_one(query)
        assert self._connection is not None, "Connection is not acquired"
        entry, args = found
        row = await self._connection.fetchrow(entry.sql, *args)
        return None if row is None else _PostgresRecord(row, entry, self._dialect)


class _PostgresRecord(Record):
    """A ``Record`` over an asyncpg row that decodes a whole row with cached processors."""

    __slots__ = ("_entry",)

    def __init__(self, row: Any, entry: _Entry, dialect: Any) -> None:
        super().__init__(row, entry.result_columns, dialect, entry.column_maps)
        self._entry = entry

    def as_dict(self) -> dict[str, Any] | None:
        entry = self._entry
        if not entry.names:
            return None
        if entry.decoders is None:
            # The same rule as Record.__getitem__ on PostgreSQL, looked up once per shape.
            entry.decoders = [
                (name, index, column[3]._cached_result_processor(self._dialect, None))
                for index, (name, column) in enumerate(
                    zip(entry.names, entry.result_columns, strict=True)
                )
            ]
        raw = self._row
        decoded: dict[str, Any] = {}
        for name, index, processor in entry.decoders:
            value = raw[index]
            if processor is not None and isinstance(value, int | str | float):
                value = processor(value)
            decoded[name] = value
        return decoded


class CachedPostgresBackend(PostgresBackend):
    """``PostgresBackend`` whose connections share one statement cache."""

    def __init__(self, database_url: Any, **options: Any) -> None:
        super().__init__(database_url, **options)
        self.statements = _StatementCache()

    def connection(self) -> CachedPostgresConnection:
        return CachedPostgresConnection(self, self._dialect, self.statements)
