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
from collections.abc import Sequence
from dataclasses import dataclass

from supportai.pipeline.events import TurnEvent


@dataclass(frozen=True, slots=True)
class Batch:
    """Events ``first`` to ``last`` (sequence numbers) of the turn ``turn``, encoded."""

    turn: int
    first: int
    last: int
    data: str


def encode_batch(
    turn: int, first: int, text: str, lengths: Sequence[int | None], others: Sequence[str]
) -> Batch | None:
    """A batch of the events ``first``, ``first + 1``... : ``lengths`` has, per event,
    the length of a delta's text (its next characters of ``text``), or ``None`` for an
    event that is not a delta, whose ``[name, data]`` JSON (:func:`other_json`) is the
    next item of ``others``.

    The JSON is put together here rather than by ``json.dumps`` of the whole batch:
    the other events' data is already encoded (the live stream encoded it), and the
    encoder's list of one string per length (about 9 KiB for an 80-delta batch of
    0.8 KiB) was the largest allocation of a turn's end, when a round of concurrent
    turns peaks. The text is the same as ``json.dumps`` with compact separators
    makes (``tests/test_turn_resume.py`` holds it to that).
    """
    if not lengths:
        return None
    # One format string with a placeholder per delta: the numbers are written
    # straight into the result, not made into a string each first.
    numbers = tuple(length for length in lengths if length is not None)
    listed = ",".join("%d" if length is not None else "null" for length in lengths) % numbers
    quoted = json.dumps(text, ensure_ascii=False)
    data = f'{{"f":{first},"t":{quoted},"n":[{listed}],"o":[{",".join(others)}]}}'
    return Batch(turn, first, first + len(lengths) - 1, data)


def other_json(name: str, payload: str) -> str:
    """``[name, data]`` of an event that is not a delta, from its encoded ``data``."""
    return f"[{json.dumps(name, ensure_ascii=False)},{payload}]"


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
