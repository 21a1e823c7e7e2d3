"""The producer tasks of this process's turns, which ``Runtime.stop`` waits for.

A module of its own so the runtime can ask about running turns without
importing the turn pipeline, which imports the runtime (no import circle).
"""

from __future__ import annotations

import asyncio

_running: set[asyncio.Task[None]] = set()
"""Strong references to producer tasks, so a disconnected turn is not garbage-collected."""


def track(task: asyncio.Task[None]) -> None:
    """Keep ``task`` referenced until it is done."""
    _running.add(task)
    task.add_done_callback(_running.discard)


def running_turns() -> set[asyncio.Task[None]]:
    """Producer tasks still running (``Runtime.stop`` waits for them)."""
    return set(_running)
