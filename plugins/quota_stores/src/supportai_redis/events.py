"""The turn event log on Redis Streams, for resumable streams (core decision 0011).

Used instead of the app database's log when the Redis quota store is configured:
every worker already shares this Redis. One stream per turn,
``<prefix>ev:<user message id>``, whose entry ids are ``0-<seq>``, so a resume
reads ``XRANGE (0-<seq> +`` without parsing anything. A batch is one pipeline of
``XADD`` (with ``MAXLEN``) and one ``EXPIRE``: the stream disappears
``SUPPORTAI_TURN_EVENTS_TTL_S`` after its last batch, with no sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from supportai.pipeline.events import TurnEvent
from supportai.resume.log import READ_LIMIT, logged_event

if TYPE_CHECKING:
    from databases.core import Connection

    from supportai_redis.store import RedisQuotaStore

#: The most events one turn's stream keeps (a turn sends far fewer).
MAX_EVENTS = 100_000


class RedisEventLog:
    """:class:`supportai.resume.log.EventLog` on the quota store's Redis client."""

    shares_database = False

    def __init__(self, store: RedisQuotaStore, ttl_s: int) -> None:
        self.store = store
        self.ttl_s = ttl_s

    def key(self, turn: int) -> str:
        return f"{self.store.keys.prefix}ev:{turn}"

    async def write(self, events: Sequence[TurnEvent]) -> None:
        if not events:
            return
        key = self.key(events[0].turn)
        async with self.store._slot(), self.store.redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(
                    key,
                    {"e": event.event, "d": event.payload()},
                    id=f"0-{event.id}",
                    maxlen=MAX_EVENTS,
                    approximate=True,
                )
            pipe.expire(key, self.ttl_s)
            results = await pipe.execute(raise_on_error=False)
        for result in results:
            # A batch retried after a partial failure: its first entries are there.
            if isinstance(result, Exception) and "equal or smaller" not in str(result):
                raise result

    async def write_in(self, conn: Connection, events: Sequence[TurnEvent]) -> None:
        raise TypeError("the Redis event log does not write in a database transaction")

    async def read_after(self, turn: int, seq: int) -> list[TurnEvent]:
        async with self.store._slot():
            entries = await self.store.redis.xrange(
                self.key(turn), min=f"(0-{seq}", max="+", count=READ_LIMIT
            )
        return [
            logged_event(turn, int(entry_id.partition("-")[2]), fields["e"], fields["d"])
            for entry_id, fields in entries
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
