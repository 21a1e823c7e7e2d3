"""A batch of a turn's events as one log entry: one row (or one stream entry) per batch.

A turn's events are mostly ``delta`` events whose texts, joined, are the answer.
A batch stores that text once, the length of each delta's piece of it (a flat
list of integers), and ``[name, data]`` of the few other events. One row per batch
instead of one per event, and one JSON encoding per batch instead of one per event,
is what keeps the log's cost within a few percent of a turn
(``bench/turn_events.py``). The events read back encode to exactly the bytes the
live stream sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from supportai.pipeline.events import COMPACT_JSON, TurnEvent


@dataclass(frozen=True, slots=True)
class Batch:
    """Events ``first`` to ``last`` (sequence numbers) of the turn ``turn``, encoded."""

    turn: int
    first: int
    last: int
    data: str


def encode_batch(
    turn: int, first: int, text: str, lengths: list[int | None], others: list[list[Any]]
) -> Batch | None:
    """A batch of the events ``first``, ``first + 1``... : ``lengths`` has, per event,
    the length of a delta's text (its next characters of ``text``), or ``None`` for an
    event that is not a delta, whose ``[name, data]`` is the next item of ``others``."""
    if not lengths:
        return None
    data = COMPACT_JSON.encode({"f": first, "t": text, "n": lengths, "o": others})
    return Batch(turn, first, first + len(lengths) - 1, data)


def decode_batch(turn: int, data: str, after: int) -> list[TurnEvent]:
    """The batch's events with a sequence number above ``after``."""
    batch = json.loads(data)
    text: str = batch["t"]
    others = iter(batch["o"])
    position = 0
    events = []
    for seq, length in enumerate(batch["n"], batch["f"]):
        if length is None:
            name, payload = next(others)
            if seq > after:
                events.append(TurnEvent(name, payload, seq, turn))
            continue
        if seq > after:
            events.append(
                TurnEvent("delta", {"text": text[position : position + length]}, seq, turn)
            )
        position += length
    return events
