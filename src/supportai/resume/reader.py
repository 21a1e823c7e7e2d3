"""Reading a turn's events after a given one, wherever the turn runs or ran.

* The turn runs on this worker: follow its recorder's in-memory list, woken on
  every event (no polling).
* Elsewhere, or finished: read the shared log every ``turn_events_poll_s``; the
  end is the logged ``turn.completed``, or, when the log has nothing more, the
  turn's saved state: a saved answer ends the stream with one ``turn.completed``
  carrying the final state, as does a turn whose worker died (no answer, lease
  over). Never a fixed grace wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from supportai.caller import Caller
from supportai.pipeline.events import TurnEvent
from supportai.resume.final_state import final_completed, stored_turn
from supportai.resume.recorder import TERMINAL
from supportai.runtime import Runtime
from supportai.store import turns as turn_store


async def turn_state(
    runtime: Runtime, caller: Caller, conversation_id: int, message_id: int
) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The caller's turn (user message, answer or None), or None if not theirs."""
    async with runtime.database.connection() as conn:
        return await turn_store.find_turn(conn, caller, conversation_id, message_id)


def is_over(runtime: Runtime, user: dict[str, Any], answer: dict[str, Any] | None) -> bool:
    """Whether the turn can send nothing more: answered, refused, or its worker gone.

    No turn outlives its reservation's lease (``turn_max_duration_s`` stops it a
    margin before), so a user message with no answer that old has lost its worker.
    """
    if answer is not None or user["status"] in ("refused", "interrupted"):
        return True
    return bool(user["created_at"].timestamp() + runtime.settings.reservation_ttl_s < time.time())


async def events_after(
    runtime: Runtime,
    caller: Caller,
    conversation_id: int,
    turn: int,
    after: int,
    heartbeat_s: float | None = None,
) -> AsyncIterator[TurnEvent | None]:
    """The turn's events with ``id > after`` until its end; ``None`` is a heartbeat tick."""
    last = after
    poll_s = runtime.settings.turn_events_poll_s
    idle_since = time.monotonic()
    while True:
        recorder = runtime.live_turns.get(turn)
        if recorder is not None:
            async for event in recorder.follow(last, heartbeat_s):
                yield event
            return
        batch, ended = await _read_log(runtime, turn, last)
        for event in batch:
            yield event
            last = event.id
        if ended:
            return
        if batch:
            idle_since = time.monotonic()
            continue
        state = await turn_state(runtime, caller, conversation_id, turn)
        if state is None:  # deleted meanwhile: nothing more to say
            return
        user, answer = state
        if is_over(runtime, user, answer):
            # Events the final transaction logged after the read above.
            batch, ended = await _read_log(runtime, turn, last)
            for event in batch:
                yield event
                last = event.id
            if not ended:
                yield await _ending(runtime, conversation_id, user, answer, last)
            return
        if heartbeat_s is not None and time.monotonic() - idle_since >= heartbeat_s:
            idle_since = time.monotonic()
            yield None
        await asyncio.sleep(poll_s)


async def _read_log(runtime: Runtime, turn: int, after: int) -> tuple[list[TurnEvent], bool]:
    """Logged events after ``after`` (up to and with ``turn.completed``), and whether
    the turn's end is among them or was the event ``after`` itself."""
    if runtime.event_log is None:
        return [], False
    # From the event the client had: if that was the end, there is nothing to add.
    logged = await runtime.event_log.read_after(turn, max(after - 1, 0))
    batch = []
    for event in logged:
        if event.id > after:
            batch.append(event)
        if event.event == TERMINAL:
            return batch, True
    return batch, False


async def _ending(
    runtime: Runtime,
    conversation_id: int,
    user: dict[str, Any],
    answer: dict[str, Any] | None,
    last: int,
) -> TurnEvent:
    body, _ = await stored_turn(runtime, conversation_id, user, answer, replayed=False)
    return final_completed(body, last + 1)
