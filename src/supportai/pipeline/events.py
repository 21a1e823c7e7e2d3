"""Turn events: what the pipeline tells the client, as SSE events or one JSON object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """One protocol event (``docs/sse.md``).

    ``id`` is the event's sequence number within its turn and ``turn`` the turn's
    user message id: the SSE ``id:`` line is ``<turn>:<id>``, so a ``Last-Event-ID``
    alone names the turn and the place in it to resume from (decision 0011).
    """

    event: str
    data: dict[str, Any]
    id: int = 0
    turn: int = 0
    #: The compact JSON of ``data``, made once: the live stream and the event log
    #: both need it, and encoding twice would double the log's CPU cost.
    _json: str | None = field(default=None, compare=False, repr=False)

    @property
    def event_id(self) -> str:
        return f"{self.turn}:{self.id}" if self.turn else str(self.id)

    def payload(self) -> str:
        if self._json is None:
            encoded = json.dumps(self.data, separators=(",", ":"), ensure_ascii=False, default=str)
            object.__setattr__(self, "_json", encoded)  # frozen: set once, here only
            return encoded
        return self._json

    def encode(self) -> bytes:
        return f"event: {self.event}\nid: {self.event_id}\ndata: {self.payload()}\n\n".encode()


PING = b": ping\n\n"


def parse_event_id(value: str | None) -> tuple[int, int] | None:
    """``<user_message_id>:<seq>`` as two integers; ``None`` if it is not one."""
    if value is None:
        return None
    turn, sep, seq = value.strip().partition(":")
    if not sep or not turn.isdigit() or not seq.isdigit() or len(value) > 40:
        return None
    return int(turn), int(seq)
