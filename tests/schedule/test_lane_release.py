"""LaneSet.release_idle: idle lanes are forgotten, busy or paused ones are kept."""

from __future__ import annotations

from tests.fake_clock import FakeClock
from worker.schedule.lane import LaneLimits
from worker.schedule.lane_set import LaneSet


def lanes(clock: FakeClock) -> LaneSet:
    return LaneSet(lambda _tenant: LaneLimits(), clock=clock)


async def test_idle_lanes_are_released_and_made_afresh() -> None:
    clock = FakeClock()
    made = lanes(clock)
    first = made.lane("a")
    made.lane("b")
    clock.advance(0.05)
    assert made.release_idle(0.01) == 2
    assert made.lanes == {}
    assert made.lane("a") is not first  # a released tenant starts afresh


async def test_recently_used_busy_or_paused_lanes_are_kept() -> None:
    clock = FakeClock()
    made = lanes(clock)
    busy, paused = made.lane("busy"), made.lane("paused")
    await busy.limit.acquire()
    paused.gate.close_for(60)
    clock.advance(0.05)
    made.lane("recent")
    assert made.release_idle(0.03) == 0
    assert {tenant for tenant, _ in made.lanes} == {"busy", "paused", "recent"}
    busy.limit.release()
    assert made.release_idle(0.03) == 1
    assert {tenant for tenant, _ in made.lanes} == {"paused", "recent"}
