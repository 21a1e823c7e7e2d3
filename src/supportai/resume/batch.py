"""A batch of a turn's events as one log entry: one row (or one stream entry) per batch.

A turn's events are mostly ``delta`` events whose texts, joined, are the answer.
A batch stores that text once, plus one small item per event: ``[seq, length]``
for a delta (its text is the next ``length`` characters), ``[seq, name, data]``
for any other event. One row per batch instead of one per event, and one JSON
encoding per batch instead of one per event, is what keeps the log's cost within
a few percent of a turn (``bench/turn_events.py``); the events read back encode to
exactly the bytes the live stream sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from supportai.pipeline.events import TurnEvent


@dataclass(frozen=True, slots=True)
class Batch:
    """Events ``first`` to ``last`` (sequence numbers) of the turn ``turn``, encoded."""

    turn: int
    first: int
    last: int
    data: str


def encode_batch(turn: int, text: str, items: list[list[Any]]) -> Batch | None:
    """A batch from its deltas' joined ``text`` and its items in order: ``[seq, length]``
    for a delta, ``[seq, name, data]`` for any other event."""
    if not items:
        return None
    data = json.dumps(
        {"t": text, "e": items}, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return Batch(turn, items[0][0], items[-1][0], data)


def item(event: TurnEvent) -> list[Any]:
    """The batch item of an event that is not a delta."""
    return [event.id, event.event, event.data]


def decode_batch(turn: int, data: str, after: int) -> list[TurnEvent]:
    """The batch's events with a sequence number above ``after``."""
    batch = json.loads(data)
    text: str = batch["t"]
    position = 0
    events = []
    for item in batch["e"]:
        if len(item) == 2:
            seq, length = item
            chunk = text[position : position + length]
            position += length
            if seq > after:
                events.append(TurnEvent("delta", {"text": chunk}, seq, turn))
        elif item[0] > after:
            events.append(TurnEvent(item[1], item[2], item[0], turn))
    return events
