"""SQLite statements that run on the event loop must never make it wait for a lock.

store/database.py runs reads, statements inside this process's own ``BEGIN
IMMEDIATE`` and ``COMMIT`` on the loop's thread (decision record 0006). These
tests hold the database's write lock from *another* connection, as a second
worker process would, and check that the loop keeps serving meanwhile; and that
the WAL, whose automatic checkpoint is off, is still checkpointed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from supportai.store import database as database_module
from supportai.store import tables
from supportai.store.database import Database
from supportai.store.migrations import upgrade

C = tables.conversations
HOLD_S = 0.4


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    await database.connect()
    await upgrade(database.url)
    yield database
    await database.disconnect()


def insert(title: str) -> sa.Insert:
    moment = datetime.now(UTC)
    return C.insert().values(
        tenant_id="t",
        user_id="u",
        title=title,
        status="open",
        flagged=False,
        created_at=moment,
        updated_at=moment,
    )


@contextmanager
def another_process_writing(path: str) -> Iterator[threading.Event]:
    """Hold the write lock from a separate connection for HOLD_S seconds."""
    locked = threading.Event()

    def hold() -> None:
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(HOLD_S)
        raw.execute("COMMIT")
        raw.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        yield locked
    finally:
        thread.join()


async def longest_stall(work: asyncio.Task[None]) -> float:
    """The longest gap between ticks of a 5 ms ticker while ``work`` runs."""
    longest = 0.0
    last = time.perf_counter()
    while not work.done():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    await work
    return longest


def path_of(db: Database) -> str:
    return db.url.split("///", 1)[1]


async def test_a_transaction_waiting_for_another_writer_does_not_stall_the_loop(
    db: Database,
) -> None:
    async def write() -> None:
        async with db.connection() as conn, conn.transaction():
            await conn.execute(insert("after the other writer"))

    with another_process_writing(path_of(db)) as locked:
        await asyncio.to_thread(locked.wait)
        started = time.perf_counter()
        stall = await longest_stall(asyncio.create_task(write()))
        waited = time.perf_counter() - started
    assert waited >= HOLD_S / 2  # it did wait for the lock...
    assert stall < HOLD_S / 4  # ...on aiosqlite's thread, not on the event loop
    async with db.connection() as conn:
        assert await conn.fetch_val(sa.select(sa.func.count()).select_from(C)) == 1


async def test_a_write_outside_a_transaction_waits_on_the_thread(db: Database) -> None:
    async def write() -> None:
        async with db.connection() as conn:
            await conn.execute(insert("autocommit"))

    with another_process_writing(path_of(db)) as locked:
        await asyncio.to_thread(locked.wait)
        stall = await longest_stall(asyncio.create_task(write()))
    assert stall < HOLD_S / 4


async def test_reads_go_on_while_another_process_writes(db: Database) -> None:
    async with db.connection() as conn:
        await conn.execute(insert("seen"))
    with another_process_writing(path_of(db)) as locked:
        await asyncio.to_thread(locked.wait)
        started = time.perf_counter()
        async with db.connection() as conn:
            titles = [r["title"] for r in await conn.fetch_all(sa.select(C.c.title))]
        assert time.perf_counter() - started < HOLD_S / 4
    assert titles == ["seen"]


async def test_a_long_run_of_inline_statements_lets_other_tasks_in(db: Database) -> None:
    async def many_reads() -> None:
        async with db.connection() as conn:
            for _ in range(3000):  # tens of milliseconds of statements on the loop
                await conn.fetch_all(sa.select(C.c.id).limit(1))

    started = time.perf_counter()
    stall = await longest_stall(asyncio.create_task(many_reads()))
    assert time.perf_counter() - started > 0.03  # long enough to matter
    assert stall < 0.025  # other tasks ran every few milliseconds


async def test_this_processs_writers_queue_without_errors_and_in_order(db: Database) -> None:
    async def write(index: int) -> None:
        async with db.connection() as conn, conn.transaction():
            await conn.execute(insert(f"w{index}"))
            await asyncio.sleep(0)  # hold the lock across a suspension

    await asyncio.gather(*(write(i) for i in range(50)))
    async with db.connection() as conn:
        assert await conn.fetch_val(sa.select(sa.func.count()).select_from(C)) == 50


async def wal_bytes_after_commits(path: Path, commits: int) -> tuple[int, int]:
    """WAL file size and checkpoints done after ``commits`` small transactions."""
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.connect()
    await upgrade(database.url)
    pool = database._db._backend._pool
    async with database.connection() as conn:
        assert await conn.fetch_val("PRAGMA wal_autocheckpoint") == 0
        for index in range(commits):
            async with conn.transaction():
                await conn.execute(insert(f"c{index}"))
            await asyncio.sleep(0)
        await pool.checkpoint_settled()
        size = await asyncio.to_thread(lambda: Path(f"{path}-wal").stat().st_size)
    await database.disconnect()
    return size, pool.checkpoints


async def test_the_wal_is_checkpointed_without_sqlites_automatic_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY_COMMITS", 10**9)
    unchecked, none = await wal_bytes_after_commits(tmp_path / "never.db", 200)
    monkeypatch.setattr(database_module, "CHECKPOINT_EVERY_COMMITS", 20)
    checked, done = await wal_bytes_after_commits(tmp_path / "every20.db", 200)
    assert none == 0 and done >= 2
    # A checkpointed WAL is reused from its start: it stops growing with the commits.
    assert checked < unchecked / 2, (checked, unchecked)


async def test_statements_run_inline_only_in_wal_mode(db: Database) -> None:
    assert db._db._backend._pool.inline  # a file database: WAL
    memory = Database("sqlite+aiosqlite:///file:inline_memdb?mode=memory&cache=shared&uri=true")
    await memory.connect()
    try:
        # an in-memory database cannot use WAL: every statement keeps aiosqlite's thread
        assert not memory._db._backend._pool.inline
        async with memory.connection() as conn, conn.transaction():
            await conn.execute("CREATE TABLE t (x INTEGER)")
            await conn.execute("INSERT INTO t VALUES (1)")
        async with memory.connection() as conn:
            assert await conn.fetch_val("SELECT count(*) FROM t") == 1
    finally:
        await memory.disconnect()


async def test_transactions_of_different_connections_run_on_the_one_writer(db: Database) -> None:
    """Every transaction runs on the pool's writer, whose page cache stays warm."""
    async with db.connection() as first, db.connection() as second:
        for conn, title in ((first, "one"), (second, "two")):
            async with conn.transaction():
                await conn.execute(insert(title))
        owns = [conn.raw_connection._own._conn for conn in (first, second)]
    writer = (await db._db._backend._pool.writer())._conn
    assert writer not in owns
    assert writer.total_changes == 2 and [own.total_changes for own in owns] == [0, 0]
    async with db.connection() as conn:  # and the connections went back to the pool
        assert not conn.raw_connection._holds_lock
        assert await conn.fetch_val(sa.select(sa.func.count()).select_from(C)) == 2


async def test_a_read_never_sees_another_tasks_uncommitted_writes(db: Database) -> None:
    """While a transaction holds the writer, reads run elsewhere: its writes stay unseen."""
    written, read = asyncio.Event(), asyncio.Event()

    async def write() -> None:
        async with db.connection() as conn, conn.transaction():
            await conn.execute(insert("not yet"))
            written.set()
            await read.wait()  # stay open, holding the writer, while the other task reads

    writer = asyncio.create_task(write())
    await written.wait()
    async with db.connection() as conn:
        during = await conn.fetch_val(sa.select(sa.func.count()).select_from(C))
    read.set()
    await writer
    async with db.connection() as conn:
        after = await conn.fetch_val(sa.select(sa.func.count()).select_from(C))
    assert (during, after) == (0, 1)
