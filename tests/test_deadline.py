"""IdleDeadline: the per-wait time limit of backend streams and SSE heartbeats.

It must behave like ``asyncio.timeout`` around each wait (the limit is per wait,
not for the whole stream; only its own expiry becomes ``TimeoutError``) while
keeping one timer per stream.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from supportai.pipeline.deadline import IdleDeadline


async def test_a_wait_longer_than_the_limit_raises_timeout_error() -> None:
    with IdleDeadline() as deadline:
        started = time.perf_counter()
        with pytest.raises(TimeoutError), deadline.waiting(0.05):
            await asyncio.sleep(5)
        assert time.perf_counter() - started < 1
        # The task is not left cancelled: it goes on awaiting normally.
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
        await asyncio.sleep(0.01)


async def test_the_limit_is_per_wait_not_for_the_whole_stream() -> None:
    with IdleDeadline() as deadline:
        for _ in range(15):  # 15 x 10 ms = 150 ms in all, each wait well under 50 ms
            with deadline.waiting(0.05):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.02)  # time between waits does not count


async def test_a_shorter_limit_after_a_long_one_fires_on_time() -> None:
    with IdleDeadline() as deadline:
        with deadline.waiting(30):  # the first-token limit
            await asyncio.sleep(0)
        started = time.perf_counter()
        with pytest.raises(TimeoutError), deadline.waiting(0.05):  # the idle limit
            await asyncio.sleep(5)
        assert time.perf_counter() - started < 1


async def test_someone_elses_cancellation_stays_a_cancellation() -> None:
    async def waiter() -> None:
        with IdleDeadline() as deadline, deadline.waiting(10):
            await asyncio.sleep(5)

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_no_limit_means_wait_as_long_as_it_takes() -> None:
    with IdleDeadline() as deadline, deadline.waiting(None):
        await asyncio.sleep(0.05)


async def test_closed_deadline_leaves_no_timer_behind() -> None:
    loop = asyncio.get_running_loop()
    before = len(loop._scheduled)  # type: ignore[attr-defined]
    with IdleDeadline() as deadline, deadline.waiting(60):
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    live = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    assert len(live) <= before
