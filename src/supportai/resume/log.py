"""The shared turn event log: where a resume on another worker finds a turn's events.

Two implementations of one small interface: :class:`SqlEventLog` (the app's
database, the default) and the Redis quota store's stream log
(``supportai_redis.events``), used when that store is configured because every
worker already shares it. A log is written in batches (:mod:`supportai.resume.batch`)
by the worker producing the turn (:class:`~supportai.resume.recorder.TurnRecorder`),
never per event.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from databases.core import Connection

from supportai.pipeline.events import TurnEvent
from supportai.resume.batch import Batch, decode_batch
from supportai.store import tables
from supportai.store.compiled import column_values, prepared_insert
from supportai.store.database import Database

T = tables.turn_events
#: The most batches one read returns; a reader asks again for the rest.
READ_LIMIT = 100


class EventLog(Protocol):
    """What the turn pipeline and the resume reader need from a log."""

    #: True when :meth:`write_in` can join the transaction that saves the answer.
    shares_database: bool

    async def write(self, batch: Batch) -> None:
        """Append a batch of one turn's events, on its own."""

    async def write_in(self, conn: Connection, batch: Batch) -> None:
        """Append a batch inside the caller's open transaction (``shares_database`` only)."""

    async def read_after(self, turn: int, seq: int) -> list[TurnEvent]:
        """The turn's logged events with ``id > seq``, in order (a reader asks again
        for more until it has ``turn.completed``)."""

    async def purge(self, now: float) -> int:
        """Delete what is older than the log's lifetime; returns how many batches went."""

    async def forget(self, turns: Sequence[int]) -> None:
        """Delete every event of these turns now (GDPR deletes)."""


class SqlEventLog:
    """The log as rows of ``support_ai_turn_events`` in the app's database.

    One row per batch; the last batch of a turn rides in the transaction that saves
    its answer, so a turn with a short answer adds no write transaction at all.
    Rows cascade with their user message.
    """

    shares_database = True

    def __init__(self, database: Database, ttl_s: int) -> None:
        self.database = database
        self.ttl_s = ttl_s

    async def write(self, batch: Batch) -> None:
        async with self.database.connection() as conn, conn.transaction():
            await self.write_in(conn, batch)

    async def write_in(self, conn: Connection, batch: Batch) -> None:
        await conn.execute(
            INSERT_BATCH(
                **column_values(
                    message_id=batch.turn,
                    last_seq=batch.last,
                    first_seq=batch.first,
                    data=batch.data,
                    created_at=time.time(),
                )
            )
        )

    async def read_after(self, turn: int, seq: int) -> list[TurnEvent]:
        async with self.database.connection() as conn:
            rows = await conn.fetch_all(
                sa.select(T.c.data)
                .where(T.c.message_id == turn, T.c.last_seq > seq)
                .order_by(T.c.last_seq)
                .limit(READ_LIMIT)
            )
        return [event for row in rows for event in decode_batch(turn, str(row[0]), seq)]

    async def purge(self, now: float) -> int:
        async with self.database.connection() as conn:
            gone = await conn.fetch_all(
                T.delete().where(T.c.created_at < now - self.ttl_s).returning(T.c.last_seq)
            )
        return len(gone)

    async def forget(self, turns: Sequence[int]) -> None:
        """Nothing to do: the rows cascade with their user message."""


INSERT_BATCH = prepared_insert(T, "message_id", "last_seq", "first_seq", "data", "created_at")


async def turns_of(conn: Connection, conversation_id: int) -> list[int]:
    """The user message ids (turns) of a conversation: what a GDPR delete must forget."""
    M = tables.messages
    rows = await conn.fetch_all(
        sa.select(M.c.id).where(M.c.conversation_id == conversation_id, M.c.role == "user")
    )
    return [int(r[0]) for r in rows]
