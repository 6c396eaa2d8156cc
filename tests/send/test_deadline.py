"""An attempt's deadline: as asyncio.timeout (TimeoutError, movable, outer cancels pass), one check per tick."""

from __future__ import annotations

import asyncio
import time

import pytest

from worker.send.deadline import TICK_S, Deadline


async def test_a_deadline_that_passes_raises_timeout_error_about_on_time() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with Deadline(0.2):
            await asyncio.sleep(5)  # work that outlasts the deadline
    assert 0.2 <= time.monotonic() - started < 0.2 + TICK_S + 1.0  # a tick late at most, plus a loaded machine


async def test_work_within_the_deadline_is_left_alone() -> None:
    async with Deadline(5):
        await asyncio.sleep(0.01)  # work well within the deadline
    async with Deadline(None):  # no deadline at all
        await asyncio.sleep(0.01)  # work well within the deadline


async def test_reschedule_moves_or_removes_the_deadline() -> None:
    loop = asyncio.get_running_loop()
    async with Deadline(0.05) as deadline:
        deadline.reschedule(loop.time() + 5)  # later: the first one no longer applies
        await asyncio.sleep(0.3)  # work past the first deadline
    async with Deadline(0.05) as deadline:
        deadline.reschedule(None)
        await asyncio.sleep(0.3)  # work past the first deadline

    async def sooner() -> None:
        async with Deadline(None) as deadline:
            deadline.reschedule(loop.time() + 0.05)
            await asyncio.sleep(5)  # work that outlasts the deadline

    with pytest.raises(TimeoutError):
        await sooner()


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    inside = asyncio.Event()

    async def attempt() -> None:
        async with Deadline(5):
            inside.set()
            await asyncio.sleep(5)  # the work the deadline guards (cancelled long before)

    task = asyncio.create_task(attempt())
    await asyncio.wait_for(inside.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_outer_timeout_is_the_outer_ones() -> None:
    async def inside() -> None:
        async with Deadline(5):
            await asyncio.sleep(5)  # work that outlasts the deadline

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await inside()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_many_deadlines_each_fire_for_their_own_task() -> None:
    async def attempt(seconds: float) -> str:
        try:
            async with Deadline(seconds):
                await asyncio.sleep(0.5)  # work: past 0.1 s, within 5 s
        except TimeoutError:
            return "timed out"
        return "done"

    outcomes = await asyncio.gather(*(attempt(0.1 if index % 2 else 5.0) for index in range(50)))
    assert outcomes == ["done", "timed out"] * 25


def test_each_event_loop_gets_its_own_watch() -> None:
    async def times_out() -> bool:
        try:
            async with Deadline(0.05):
                await asyncio.sleep(5)  # work that outlasts the deadline
        except TimeoutError:
            return True
        return False

    assert asyncio.run(times_out())
    assert asyncio.run(times_out())  # a new loop in the same thread: a new watch, armed on it
