"""Turn events: what the pipeline tells the client, as SSE events or one JSON object."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """One protocol event (``docs/sse.md``). ``id`` is the event's sequence number."""

    event: str
    data: dict[str, Any]
    id: int = 0

    def encode(self) -> bytes:
        payload = json.dumps(self.data, separators=(",", ":"), ensure_ascii=False, default=str)
        return f"event: {self.event}\nid: {self.id}\ndata: {payload}\n\n".encode()


PING = b": ping\n\n"
