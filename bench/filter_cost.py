"""Streaming filter cost: per-character cost at 1k, 10k and 100k characters.

The chain must do linear work: the per-character cost should stay flat as the
answer grows. Also time-to-first-delta with the filters on and off, through a
whole turn, measured in the same process.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from supportai.caller import Caller
from supportai.filters import FilterContext
from supportai.pipeline.filtering import FilterChain

SENTENCE = (
    "To reset your password open Settings, choose Security and follow the link we e-mail "
    "you; write to help@example.com or call +44 20 7946 0958 if it does not arrive. "
)


def _answer(length: int) -> list[str]:
    text = (SENTENCE * (length // len(SENTENCE) + 1))[:length]
    return [text[i : i + 4] for i in range(0, len(text), 4)]  # ~one token per delta


async def _chain_cost(
    filters: list[Any], deltas: list[str], repeat: int, grounding: tuple[str, ...] = ()
) -> tuple[float, float]:
    """Best-of-``repeat`` seconds for the whole answer, and chars examined per char."""
    best = float("inf")
    examined = 0.0
    length = sum(map(len, deltas))
    for _ in range(repeat):
        chain = FilterChain(filters, FilterContext(Caller("t", "u"), 1, grounding=grounding))
        started = time.perf_counter()
        for delta in deltas:
            await chain.push(delta)
        await chain.close()
        best = min(best, time.perf_counter() - started)
        examined = chain.examined_chars / length
    return best, examined


def run() -> dict[str, Any]:
    from supportai_filters.pii_filter import PiiFilter

    pii = PiiFilter()
    rows = []
    for length in (1_000, 10_000, 100_000):
        deltas = _answer(length)
        repeat = 20 if length < 100_000 else 5
        seconds, examined = asyncio.run(_chain_cost([pii], deltas, repeat))
        rows.append(
            {
                "chars": length,
                "seconds": seconds,
                "us_per_char": seconds / length * 1e6,
                "examined_per_char": examined,
            }
        )
    base = rows[0]["us_per_char"]
    for row in rows:
        row["per_char_vs_1k"] = row["us_per_char"] / base
    return {
        "pii_chain": rows,
        "grounding": _grounding_cost(pii),
        "first_delta": asyncio.run(_first_delta()),
    }


def _grounding_cost(pii: Any) -> dict[str, float]:
    """10k characters with five help-center articles as the turn's grounding, vs none.

    The answer quotes the articles' address and phone number, so every span found is
    looked up in the grounding (once per value: the filter caches the verdict).
    """
    article = (
        "## How to reach a person\n- Email help@example.com from your account address.\n"
        "- Call +44 20 7946 0958 on weekdays.\n" + "Our team answers within a day. " * 60
    )
    deltas = _answer(10_000)
    without, _ = asyncio.run(_chain_cost([pii], deltas, 10))
    with_grounding, _ = asyncio.run(_chain_cost([pii], deltas, 10, grounding=(article,) * 5))
    return {
        "seconds_without": without,
        "seconds_with": with_grounding,
        "with_vs_without": with_grounding / without,
    }


async def _first_delta() -> dict[str, float]:
    """Time to the first released delta of a turn, filters off vs on, same process."""
    from supportai_filters.pii_filter import PiiFilter

    deltas = _answer(2_000)
    samples: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(200):
        for label, filters in (("off", []), ("on", [PiiFilter()])):
            chain = FilterChain(filters, FilterContext(Caller("t", "u"), 1))
            started = time.perf_counter()
            for delta in deltas:
                if await chain.push(delta):
                    break
            samples[label].append((time.perf_counter() - started) * 1000)
    off = statistics.median(samples["off"])
    on = statistics.median(samples["on"])
    return {"off_ms": off, "on_ms": on, "difference_ms": on - off}
