"""The adaptive concurrency limit: halves on overload, grows slowly, slow start, waiters woken in order."""

from __future__ import annotations

import asyncio
import time

from worker.schedule.concurrency import AdaptiveLimit


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
    await asyncio.sleep(0.01)  # turns of the loop: it must stay blocked
    assert not third.done()
    limit.release()
    await asyncio.wait_for(third, 1)
    assert limit.in_flight == 2


async def test_cancelled_waiter_passes_its_slot_on() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=1)
    await limit.acquire()
    first = asyncio.create_task(limit.acquire())
    second = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0.01)  # turns of the loop: it must stay blocked
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
    await asyncio.sleep(0.01)  # turns of the loop: it must stay blocked
    assert not third.done()  # a round of 2 at first
    limit.release()
    await asyncio.sleep(0.01)  # turns of the loop: it must stay blocked
    assert not third.done()  # the next round waits until this one has completed
    limit.release()
    await asyncio.wait_for(third, 1)
    assert limit.limit == 4
    for _ in range(3):
        await asyncio.wait_for(limit.acquire(), 1)
    assert limit.in_flight == 4


async def _round(limit: AdaptiveLimit, latencies: list[float]) -> None:
    """One whole round of slow start: each request sent, answered after its latency, released."""
    for _ in latencies:
        await asyncio.wait_for(limit.acquire(), 1)
    for latency in latencies:
        limit.release()
        limit.on_success(latency)


async def test_slow_start_grows_fourfold_from_a_round_of_16_while_latency_stays_flat() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=256, slow_start=True)
    for size in (2, 4, 8):
        await _round(limit, [0.020] * size)
    assert limit.limit == 16  # small rounds double: a small quota is met by a handful of requests
    await _round(limit, [0.021] * 16)
    assert limit.limit == 64  # a round of 16 answered as fast as the first: four times as many
    await _round(limit, [0.080] + [0.020] * 63)  # an answer took four times the best: the server queues
    assert limit.limit == 128
    await _round(limit, [0.020] * 128)
    assert limit.limit == 256
    assert not limit.slow_start  # the ceiling reached: slow start is over


async def test_slow_start_ends_at_the_first_overload() -> None:
    limit = AdaptiveLimit(minimum=1, maximum=16, slow_start=True)
    await limit.acquire()
    limit.on_overload(time.monotonic())
    limit.release()
    assert not limit.slow_start
    assert limit.limit == 1
