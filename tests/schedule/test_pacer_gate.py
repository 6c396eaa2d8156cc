"""Pacer, gate and adaptive limit on a fake clock where timing is the behaviour, real sleeps elsewhere."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.schedule.virtual_time import run_virtual
from worker.schedule.concurrency import AdaptiveLimit
from worker.schedule.gate import ThrottleGate
from worker.schedule.pacer import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


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
        await asyncio.sleep(idle_s)
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


def test_gate_closes_for_retry_after_and_never_shortens() -> None:
    clock = FakeClock()
    gate = ThrottleGate(clock=clock)
    assert gate.is_open()
    gate.close_for(2.128)
    gate.close_for(0.5)  # a shorter Retry-After from a later 429 does not reopen early
    assert not gate.is_open()
    clock.now += 2.1
    assert not gate.is_open()
    clock.now += 0.03
    assert gate.is_open()
    assert gate.paused_s == pytest.approx(2.128)


async def test_gate_wait_returns_after_the_pause() -> None:
    gate = ThrottleGate()
    gate.close_for(0.2)
    started = time.monotonic()
    await gate.wait()
    assert 0.19 <= time.monotonic() - started < 0.5


async def test_adaptive_limit_halves_and_grows() -> None:
    limit = AdaptiveLimit(minimum=2, maximum=16)
    limit.on_overload(time.monotonic())
    limit.on_overload(time.monotonic() + 1)  # sent after the first cut
    assert limit.limit == 4
    for _ in range(4):
        limit.on_success(0.01)
    assert limit.limit == 5
    for _ in range(3):
        limit.on_overload(time.monotonic())
    assert limit.limit == 2  # never below the floor


async def test_requests_in_flight_before_a_cut_do_not_cut_again() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=32)
    sent = time.monotonic()
    for _ in range(31):  # a burst of 429s for requests that were all in flight together
        limit.on_overload(sent)
    assert limit.limit == 16


async def test_adaptive_limit_does_not_grow_while_latency_rises() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=16)
    for _ in range(2):
        limit.on_overload(time.monotonic() + 1)  # from 16 to 4
    limit.on_success(0.010)
    for _ in range(20):
        limit.on_success(0.100)
    assert limit.limit == 4


async def test_adaptive_limit_blocks_at_limit_and_wakes_on_release() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=2)
    await limit.acquire()
    await limit.acquire()
    third = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0.01)
    assert not third.done()
    limit.release()
    await asyncio.wait_for(third, 1)
    assert limit.in_flight == 2


async def test_cancelled_waiter_passes_its_slot_on() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=1)
    await limit.acquire()
    first = asyncio.create_task(limit.acquire())
    second = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0.01)
    limit.release()  # hands the slot to `first`...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.wait_for(second, 1)
    assert limit.in_flight == 1


async def test_slow_start_sends_rounds_that_double_once_each_completes() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=16, slow_start=True)
    assert limit.limit == 2
    await limit.acquire()
    await limit.acquire()
    third = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0.01)
    assert not third.done()  # a round of 2 at first
    limit.release()
    await asyncio.sleep(0.01)
    assert not third.done()  # the next round waits until this one has completed
    limit.release()
    await asyncio.wait_for(third, 1)
    assert limit.limit == 4
    for _ in range(3):
        await asyncio.wait_for(limit.acquire(), 1)
    assert limit.in_flight == 4


async def test_slow_start_ends_at_the_first_overload() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=16, slow_start=True)
    await limit.acquire()
    limit.on_overload(time.monotonic())
    limit.release()
    assert not limit.slow_start
    assert limit.limit == 1
