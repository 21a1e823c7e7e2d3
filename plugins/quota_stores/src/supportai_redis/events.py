"""The turn event log on Redis Streams, for resumable streams (core decision 0011).

Used instead of the app database's log when the Redis quota store is configured:
every worker already shares this Redis. One stream per turn,
``<prefix>ev:<user message id>``, one entry per batch of events
(:mod:`supportai.resume.batch`) whose id is ``0-<last sequence number>``, so a resume
reads ``XRANGE (0-<seq> +`` and nothing else. A batch is one pipeline of ``XADD``
(with ``MAXLEN``) and ``EXPIRE``: the stream disappears
``SUPPORTAI_TURN_EVENTS_TTL_S`` after its last batch, with no sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from supportai.pipeline.events import TurnEvent
from supportai.resume.batch import Batch, decode_batch
from supportai.resume.log import READ_LIMIT

if TYPE_CHECKING:
    from databases.core import Connection

    from supportai_redis.store import RedisQuotaStore

#: The most batches one turn's stream keeps (a turn writes a few per second).
MAX_BATCHES = 10_000


class RedisEventLog:
    """:class:`supportai.resume.log.EventLog` on the quota store's Redis client."""

    shares_database = False

    def __init__(self, store: RedisQuotaStore, ttl_s: int) -> None:
        self.store = store
        self.ttl_s = ttl_s

    def key(self, turn: int) -> str:
        return f"{self.store.keys.prefix}ev:{turn}"

    async def write(self, batch: Batch) -> None:
        key = self.key(batch.turn)
        async with self.store._slot(), self.store.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(
                key,
                {"d": batch.data},
                id=f"0-{batch.last}",
                maxlen=MAX_BATCHES,
                approximate=True,
            )
            pipe.expire(key, self.ttl_s)
            added, _ = await pipe.execute(raise_on_error=False)
        # A batch written again after a reply was lost: it is there already.
        if isinstance(added, Exception) and "equal or smaller" not in str(added):
            raise added

    async def write_in(self, conn: Connection, batch: Batch) -> None:
        raise TypeError("the Redis event log does not write in a database transaction")

    async def read_after(self, turn: int, seq: int) -> list[TurnEvent]:
        async with self.store._slot():
            entries = await self.store.redis.xrange(
                self.key(turn), min=f"(0-{seq}", max="+", count=READ_LIMIT
            )
        # decode_responses=True: every field is a str
        return [
            event
            for _, fields in entries or []
            if fields is not None
            for event in decode_batch(turn, str(fields["d"]), seq)
        ]

    async def purge(self, now: float) -> int:
        """Nothing to do: every stream expires by itself."""
        return 0

    async def forget(self, turns: Sequence[int]) -> None:
        if not turns:
            return
        async with self.store._slot(), self.store.redis.pipeline(transaction=False) as pipe:
            for turn in turns:
                pipe.delete(self.key(turn))
            await pipe.execute()
