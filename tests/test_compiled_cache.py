"""The compiled-statement cache (store/compiled.py) changes speed, never results.

Each test runs on SQLite and PostgreSQL. Rows read through the cache must equal
what plain ``databases`` returns for the same statement: the same values, decoded
to the same Python types (datetimes, JSON), for statements of one shape with
different values, and for the shapes the cache refuses (expanding ``IN``); and
the same for prepared statements, which bind values by name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import databases
import pytest
import sqlalchemy as sa

from supportai.store import tables
from supportai.store.compiled import Prepared, _StatementCache
from supportai.store.database import Database, row_dict
from supportai.store.migrations import upgrade

C = tables.conversations
M = tables.messages
MOMENT = datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await db.connect()
    await upgrade(db.url)
    async with db.connection() as conn:
        for user in ("alice", "bob"):
            conversation = await conn.fetch_one(
                C.insert()
                .values(
                    tenant_id="t1",
                    user_id=user,
                    title=f"{user}'s",
                    status="open",
                    flagged=False,
                    created_at=MOMENT,
                    updated_at=MOMENT,
                )
                .returning(C.c.id)
            )
            assert conversation is not None
            await conn.execute(
                M.insert().values(
                    conversation_id=conversation[0],
                    tenant_id="t1",
                    user_id=user,
                    role="assistant",
                    content=f"hello {user}",
                    status="complete",
                    citations=[{"source_id": user, "title": "T", "url": None}],
                    created_at=MOMENT,
                )
            )
    yield db
    await db.disconnect()


async def plain_rows(url: str, query: Any) -> list[dict[str, Any]]:
    """The same query through ``databases`` as shipped: no cache."""
    plain = databases.Database(url)
    await plain.connect()
    try:
        return [row_dict(r) for r in await plain.fetch_all(query)]
    finally:
        await plain.disconnect()


def by_user(user: str) -> Any:
    return sa.select(M).where(M.c.user_id == user).where(M.c.tenant_id == "t1")


def cache_of(db: Database) -> _StatementCache:
    cache = db._db._backend.statements
    assert isinstance(cache, _StatementCache)
    return cache


async def test_one_shape_with_different_values_reads_each_its_own_rows(
    database: Database,
) -> None:
    cache = cache_of(database)
    async with database.connection() as conn:
        alice = [row_dict(r) for r in await conn.fetch_all(by_user("alice"))]
        hits = cache.hits
        bob = [row_dict(r) for r in await conn.fetch_all(by_user("bob"))]
        one = await conn.fetch_one(by_user("bob"))
    assert cache.hits >= hits + 2  # compiled once, reused with bob's values
    assert [r["content"] for r in alice] == ["hello alice"]
    assert [r["content"] for r in bob] == ["hello bob"]
    assert one is not None and row_dict(one) == bob[0]


async def test_cached_rows_decode_exactly_like_plain_databases(database: Database) -> None:
    query = by_user("alice")
    async with database.connection() as conn:
        await conn.fetch_all(query)  # warm the cache: the second read is a cache hit
        cached = [row_dict(r) for r in await conn.fetch_all(query)]
        record = await conn.fetch_one(query)
    plain = await plain_rows(database.url, query)
    assert cached == plain
    row = cached[0]
    assert row["created_at"] == MOMENT and row["created_at"].tzinfo is not None
    assert row["citations"] == [{"source_id": "alice", "title": "T", "url": None}]
    # Item access (by name, by position, by column) agrees with the dict.
    assert record is not None
    assert record["citations"] == row["citations"]
    assert record[M.c.created_at] == MOMENT
    assert record[0] == row["id"]


async def test_shapes_whose_text_depends_on_values_are_not_cached(database: Database) -> None:
    cache = cache_of(database)
    async with database.connection() as conn:
        one = await conn.fetch_all(sa.select(M.c.content).where(M.c.user_id.in_(["alice"])))
        two = await conn.fetch_all(
            sa.select(M.c.content).where(M.c.user_id.in_(["alice", "bob"])).order_by(M.c.id)
        )
        entries = list(cache._entries.values())
    assert [r["content"] for r in one] == ["hello alice"]
    assert [r["content"] for r in two] == ["hello alice", "hello bob"]
    assert None in entries  # remembered as "compile every time"


async def test_writes_and_text_queries_go_through_the_cache_too(database: Database) -> None:
    async with database.connection() as conn:
        for title in ("first", "second"):
            await conn.execute(C.update().where(C.c.user_id == "bob").values(title=title))
            value = await conn.fetch_val(
                "SELECT title FROM support_ai_conversations WHERE user_id = :user",
                {"user": "bob"},
            )
            assert value == title


def test_the_cache_is_bounded_and_keeps_the_recently_used() -> None:
    cache = _StatementCache(size=2)
    cache.put("a", None)
    cache.put("b", None)
    assert cache.get("a") is None  # "a" is now the most recent
    cache.put("c", None)
    assert cache.get("b") is False  # evicted
    assert cache.get("a") is None and cache.get("c") is None


# -- prepared statements -------------------------------------------------------------------

MESSAGES_OF = Prepared(
    sa.select(M.c.content, M.c.citations, M.c.created_at)
    .where(M.c.user_id == sa.bindparam("user"))
    .where(M.c.status == "complete")  # a literal: stays a constant of the statement
    .limit(sa.bindparam("limit"))
)
TOUCH_TITLE = Prepared(
    C.update().where(C.c.user_id == sa.bindparam("user")).values(title=sa.bindparam("title"))
)


async def test_prepared_statements_bind_each_calls_values(database: Database) -> None:
    async with database.connection() as conn:
        for user in ("alice", "bob", "alice"):
            rows = [row_dict(r) for r in await conn.fetch_all(MESSAGES_OF(user=user, limit=5))]
            assert rows == [
                {
                    "content": f"hello {user}",
                    "citations": [{"source_id": user, "title": "T", "url": None}],
                    "created_at": MOMENT,
                }
            ]
        await conn.execute(TOUCH_TITLE(user="bob", title="renamed"))
        titles = {r["user_id"]: r["title"] for r in await conn.fetch_all(sa.select(C))}
    assert titles == {"alice": "alice's", "bob": "renamed"}


async def test_prepared_statements_read_like_plain_databases(database: Database) -> None:
    async with database.connection() as conn:
        prepared = [row_dict(r) for r in await conn.fetch_all(MESSAGES_OF(user="alice", limit=1))]
    # A databases backend without the cache compiles the statement with its values.
    plain = await plain_rows(database.url, MESSAGES_OF(user="alice", limit=1))
    assert prepared == plain and len(plain) == 1


async def test_a_prepared_statement_must_not_depend_on_its_values(database: Database) -> None:
    expanding = Prepared(
        sa.select(M.c.id).where(M.c.user_id.in_(sa.bindparam("users", expanding=True)))
    )
    async with database.connection() as conn:
        with pytest.raises(ValueError, match="must not depend on its values"):
            await conn.fetch_all(expanding(users=["alice"]))
