"""Pacer, gate and adaptive limit on a fake clock where timing is the behaviour, real sleeps elsewhere."""

from __future__ import annotations

import asyncio
import time

import pytest

from worker.schedule.concurrency import AdaptiveLimit
from worker.schedule.gate import ThrottleGate
from worker.schedule.pacer import Pacer
from worker.schedule.ratecontrol import RateLearner


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_spaces_slots_at_its_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(4.0, clock=clock)
    assert [pacer.reserve() for _ in range(4)] == pytest.approx([0.0, 0.25, 0.5, 0.75])


def test_pacer_banks_at_most_burst_slots() -> None:
    clock = FakeClock()
    pacer = Pacer(2.0, burst=3, clock=clock)
    clock.now += 60  # a long idle time banks only `burst` slots
    waits = [pacer.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0])


def test_pacer_rate_change_applies_to_next_reservations() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    pacer.reserve()
    pacer.rate = 0.5  # the provisioning quota: 5 per 10 s
    assert pacer.reserve() == pytest.approx(0.1)
    assert pacer.reserve() == pytest.approx(0.1 + 2.0)


def test_unpaced_pacer_never_waits() -> None:
    pacer = Pacer(None)
    assert all(pacer.reserve() == 0.0 for _ in range(1000))


def test_pacer_hold_until_moves_slots_after_a_pause() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    pacer.hold_until(clock.now + 2.5)
    assert pacer.reserve() == pytest.approx(2.5)


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
    limit = AdaptiveLimit(minimum=2, maximum=16, initial=16)
    limit.on_overload(time.monotonic())
    limit.on_overload(time.monotonic())
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
    limit = AdaptiveLimit(minimum=1, maximum=16, initial=4)
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


def test_learner_paces_at_the_delivered_rate_on_429() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock)
    learner = RateLearner(pacer, ceiling=None, clock=clock)
    for _ in range(400):
        clock.now += 0.004  # 250/s delivered over the last second
        learner.on_success(None)
    learner.on_throttled()
    assert pacer.rate == pytest.approx(250 * 0.9, rel=0.02)
    learner.on_throttled()  # the same overload reported by another in-flight request
    assert pacer.rate == pytest.approx(250 * 0.9, rel=0.02)


def test_learner_grows_slowly_and_holds_on_throttle_hint() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock)
    learner = RateLearner(pacer, ceiling=None, clock=clock)
    clock.now += 1.5
    learner.on_success(None)
    assert pacer.rate == pytest.approx(10.5)
    clock.now += 1.5
    learner.on_success(0.85)  # past 80 % of quota: stop growing, and slow down while it rises
    assert pacer.rate == pytest.approx(10.5 * 0.97)
    clock.now += 1.5
    learner.on_success(0.85)  # steady: hold
    assert pacer.rate == pytest.approx(10.5 * 0.97)


def test_learner_respects_ceiling() -> None:
    clock = FakeClock()
    pacer = Pacer(0.5, clock=clock)
    learner = RateLearner(pacer, ceiling=0.5, clock=clock)
    for _ in range(10):
        clock.now += 2
        learner.on_success(None)
    assert pacer.rate == 0.5


def test_a_429_right_after_growth_still_cuts_the_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock)
    learner = RateLearner(pacer, ceiling=None, clock=clock)
    for _ in range(150):
        clock.now += 0.01  # 100/s delivered; one growth step happens on the way
        learner.on_success(None)
    grown = pacer.rate
    assert grown is not None
    assert grown > 100.0
    clock.now += 0.01
    learner.on_throttled()
    assert pacer.rate == pytest.approx(grown * 0.9)
    clock.now += 0.5
    learner.on_success(None)  # no growth within hold_s of a cut
    assert pacer.rate == pytest.approx(grown * 0.9)


def test_an_early_first_429_ramps_up_until_the_next_one() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock)
    learner = RateLearner(pacer, ceiling=None, clock=clock)
    for _ in range(10):  # a server with a burst of 10 answers 429 after 50 ms: 10/s is far below its quota
        clock.now += 0.005
        learner.on_success(None)
    learner.on_throttled()
    assert pacer.rate == pytest.approx(9.0)
    for _ in range(8):  # ramping: +25 % a second (TCP's slow start), not +1 %
        clock.now += 1.0
        learner.on_success(None)
    assert pacer.rate == pytest.approx(9.0 * 1.25**8)
    learner.on_throttled()  # found the quota: back to AIMD
    cut = pacer.rate
    assert cut is not None
    assert cut == pytest.approx(9.0 * 1.25**8 * 0.9)
    clock.now += 1.5
    learner.on_success(None)
    assert pacer.rate == pytest.approx(cut * 1.01)


def test_a_first_429_after_a_full_window_does_not_ramp() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock)
    learner = RateLearner(pacer, ceiling=None, clock=clock)
    for _ in range(1500):  # 250/s for 6 s: the estimate is the server's refill rate
        clock.now += 0.004
        learner.on_success(None)
    learner.on_throttled()
    assert pacer.rate == pytest.approx(250 * 0.9, rel=0.02)
    clock.now += 1.5
    learner.on_success(None)
    assert pacer.rate == pytest.approx(250 * 0.9 * 1.01, rel=0.02)
