"""Turn events: what the pipeline tells the client, as SSE events or one JSON object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: One encoder for every event: ``json.dumps`` with options builds a new encoder per
#: call, and a turn encodes a few hundred events.
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


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
            data = self.data
            text = data.get("text") if self.event == "delta" and len(data) == 1 else None
            # A delta (most events of a turn) is one string: encoded on its own, the
            # same bytes as the whole object, without the encoder's walk over a dict.
            encoded = (
                '{"text":' + COMPACT_JSON.encode(text) + "}"
                if type(text) is str
                else COMPACT_JSON.encode(data)
            )
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
