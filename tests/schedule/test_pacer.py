"""The pacer on a fake clock where timing is the behaviour, real sleeps where the event loop is."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.schedule.virtual_time import run_virtual
from worker.schedule.pacer import Pacer


def _grant_times(
    pacer_rate: float | None,
    count: int,
    *,
    burst: float = 1.0,
    idle_s: float = 0.0,
    change: tuple[int, float] | None = None,
    hold_s: float | None = None,
) -> list[float]:
    """Seconds after start at which `count` callers queued at once get their slots (virtual time)."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        pacer = Pacer(pacer_rate, burst=burst, clock=loop.time)
        await asyncio.sleep(idle_s)  # an idle pacer, in virtual time: the behaviour under test
        start = loop.time()
        if hold_s is not None:
            pacer.hold_until(start + hold_s)
        times: list[float] = []

        async def caller() -> None:
            await pacer.acquire()
            times.append(round(loop.time() - start, 6))
            if change is not None and len(times) == change[0]:
                pacer.rate = change[1]

        await asyncio.gather(*(caller() for _ in range(count)))
        return times

    return run_virtual(main())


def test_pacer_spaces_slots_at_its_rate() -> None:
    assert _grant_times(4.0, 4) == pytest.approx([0.0, 0.25, 0.5, 0.75])


def test_pacer_banks_at_most_burst_slots() -> None:
    # a long idle time banks only `burst` slots
    assert _grant_times(2.0, 5, burst=3, idle_s=60) == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0])


def test_a_rate_change_applies_to_callers_already_waiting() -> None:
    # 0.5/s at first (the provisioning quota); after the second grant the lane learns 10/s
    assert _grant_times(0.5, 4, change=(2, 10.0)) == pytest.approx([0.0, 2.0, 2.1, 2.2])


def test_unpaced_pacer_never_waits() -> None:
    assert _grant_times(None, 1000) == [0.0] * 1000


def test_pacer_hold_until_moves_slots_after_a_pause() -> None:
    assert _grant_times(10.0, 2, hold_s=2.5) == pytest.approx([2.5, 2.6])


async def test_pacer_real_time_rate() -> None:
    pacer = Pacer(50.0)
    started = time.monotonic()
    await asyncio.gather(*(pacer.acquire() for _ in range(26)))
    assert 0.45 <= time.monotonic() - started < 1.0  # 25 intervals of 20 ms


async def _real_rate(rate: float, seconds: float) -> float:
    """The rate of slots granted to 32 callers on the real clock and event loop."""
    pacer = Pacer(rate)
    count = int(rate * seconds)
    grants: list[float] = []

    async def caller() -> None:
        while len(grants) < count:
            await pacer.acquire()
            grants.append(time.monotonic())

    await asyncio.gather(*(caller() for _ in range(32)))
    return (len(grants) - 1) / (grants[-1] - grants[0])


@pytest.mark.parametrize("rate", [3000.0, 200.0])
async def test_the_pacer_keeps_its_rate_past_the_event_loops_millisecond(rate: float) -> None:
    # asyncio's timers wake in whole milliseconds: 3000/s gave 884/s and 194/s gave 163/s before the pacer
    # granted several slots per wake-up (fast rates) and used a sub-millisecond timer (a few ms apart)
    assert await _real_rate(rate, 1.5) >= 0.85 * rate  # a loaded machine loses a few %


def _rate_with_late_wake_ups(burst: float) -> float:
    """Slots a second, in the pacer's own time, when every wake-up of its timer comes late (a loaded event
    loop): virtual time, with the pacer's clock running 10 % ahead of the loop's timers."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        pacer = Pacer(100.0, burst=burst, clock=lambda: loop.time() * 1.1)
        grants: list[float] = []
        for _ in range(200):
            await pacer.acquire()
            grants.append(loop.time() * 1.1)
        steady = grants[10:]  # past a burst banked at the start
        return (len(steady) - 1) / (steady[-1] - steady[0])

    return run_virtual(main())


def test_a_pacer_allowed_a_burst_makes_up_for_late_wake_ups() -> None:
    # without a burst, each wake-up's lateness is carried forward: two sends are never closer than the
    # interval (a bucket of one request refuses the one that is), and the rate falls short of the pace
    assert _rate_with_late_wake_ups(burst=1.0) < 0.95 * 100.0
    # with one (a quota that let many through at once), late slots keep their time: the pace is met
    assert _rate_with_late_wake_ups(burst=4.0) == pytest.approx(100.0, rel=0.01)


def _window_grant_times(count: int, seconds: float, callers: int, *, rate_after: int | None = None) -> list[float]:
    """Seconds after start at which `callers` queued at once get their slots, pacing a window (virtual time)."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        pacer = Pacer(None, clock=loop.time)
        pacer.pace_window(count, seconds)
        start = loop.time()
        times: list[float] = []

        async def caller() -> None:
            await pacer.acquire()
            times.append(round(loop.time() - start, 6))
            if len(times) == rate_after:
                pacer.rate = 1.0

        await asyncio.gather(*(caller() for _ in range(callers)))
        return times

    return run_virtual(main())


def test_a_window_goes_at_its_start_a_few_times_faster_than_its_average_then_waits_for_the_next() -> None:
    # 5 per 10 s (the seed's quota): each window's 5 within its first 2 s, never 6 in any 10 s
    first, second, third = [0.0, 0.5, 1.0, 1.5, 2.0], [10.0, 10.5, 11.0, 11.5, 12.0], [20.0, 20.5]
    assert _window_grant_times(5, 10.0, 12) == pytest.approx(first + second + third)


def test_a_rate_set_ends_the_window() -> None:
    assert _window_grant_times(5, 10.0, 4, rate_after=2) == pytest.approx([0.0, 0.5, 1.5, 2.5])
