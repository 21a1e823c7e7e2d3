"""The shared turn event log: where a resume on another worker finds a turn's events.

Two implementations of one small interface: :class:`SqlEventLog` (the app's
database, the default) and the Redis quota store's stream log
(``supportai_redis.events``), used when that store is configured because every
worker already shares it. A log is written in batches by the worker producing
the turn (:class:`~supportai.resume.recorder.TurnRecorder`), never per event.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from databases.core import Connection

from supportai.pipeline.events import TurnEvent
from supportai.store import tables
from supportai.store.database import Database

T = tables.turn_events
#: The most events one read returns; a reader asks again for the rest.
READ_LIMIT = 1000


class EventLog(Protocol):
    """What the turn pipeline and the resume reader need from a log."""

    #: True when :meth:`write_in` can join the transaction that saves the answer.
    shares_database: bool

    async def write(self, events: Sequence[TurnEvent]) -> None:
        """Append a batch of one turn's events (in ``id`` order), on its own."""

    async def write_in(self, conn: Connection, events: Sequence[TurnEvent]) -> None:
        """Append a batch inside the caller's open transaction (``shares_database`` only)."""

    async def read_after(self, turn: int, seq: int) -> list[TurnEvent]:
        """The turn's logged events with ``id > seq``, in order (at most :data:`READ_LIMIT`)."""

    async def purge(self, now: float) -> int:
        """Delete what is older than the log's lifetime; returns how many events went."""

    async def forget(self, turns: Sequence[int]) -> None:
        """Delete every event of these turns now (GDPR deletes)."""


class SqlEventLog:
    """The log as rows of ``support_ai_turn_events`` in the app's database.

    One multi-row ``INSERT`` per batch; the last batch of a turn rides in the
    transaction that saves its answer, so a turn with a short answer adds no
    write transaction at all. Rows cascade with their user message.
    """

    shares_database = True

    def __init__(self, database: Database, ttl_s: int) -> None:
        self.database = database
        self.ttl_s = ttl_s

    async def write(self, events: Sequence[TurnEvent]) -> None:
        if not events:
            return
        async with self.database.connection() as conn, conn.transaction():
            await self.write_in(conn, events)

    async def write_in(self, conn: Connection, events: Sequence[TurnEvent]) -> None:
        if not events:
            return
        moment = time.time()
        rows = [
            {
                "message_id": e.turn,
                "seq": e.id,
                "event": e.event,
                "data": e.payload(),
                "created_at": moment,
            }
            for e in events
        ]
        await conn.execute(sa.insert(T).values(rows))

    async def read_after(self, turn: int, seq: int) -> list[TurnEvent]:
        async with self.database.connection() as conn:
            rows = await conn.fetch_all(
                sa.select(T.c.seq, T.c.event, T.c.data)
                .where(T.c.message_id == turn, T.c.seq > seq)
                .order_by(T.c.seq)
                .limit(READ_LIMIT)
            )
        return [logged_event(turn, int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def purge(self, now: float) -> int:
        async with self.database.connection() as conn:
            gone = await conn.fetch_all(
                T.delete().where(T.c.created_at < now - self.ttl_s).returning(T.c.seq)
            )
        return len(gone)

    async def forget(self, turns: Sequence[int]) -> None:
        """Nothing to do: the rows cascade with their user message."""


def logged_event(turn: int, seq: int, name: str, payload: str) -> TurnEvent:
    """An event read back from a log; its JSON is kept as stored (never encoded again)."""
    import json

    return TurnEvent(name, json.loads(payload), seq, turn, payload)


async def turns_of(conn: Connection, conversation_id: int) -> list[int]:
    """The user message ids (turns) of a conversation: what a GDPR delete must forget."""
    M = tables.messages
    rows = await conn.fetch_all(
        sa.select(M.c.id).where(M.c.conversation_id == conversation_id, M.c.role == "user")
    )
    return [int(r[0]) for r in rows]
