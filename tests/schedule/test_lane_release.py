"""LaneSet.release_idle: idle lanes are forgotten, busy or paused ones are kept."""

from __future__ import annotations

import asyncio

from worker.schedule.lane import LaneLimits
from worker.schedule.lane_set import LaneSet


def lanes() -> LaneSet:
    return LaneSet(lambda _tenant: LaneLimits())


async def test_idle_lanes_are_released_and_made_afresh() -> None:
    made = lanes()
    first = made.lane("a")
    made.lane("b")
    await asyncio.sleep(0.05)
    assert made.release_idle(0.01) == 2
    assert made.lanes == {}
    assert made.lane("a") is not first  # a released tenant starts afresh


async def test_recently_used_busy_or_paused_lanes_are_kept() -> None:
    made = lanes()
    busy, paused = made.lane("busy"), made.lane("paused")
    await busy.limit.acquire()
    paused.gate.close_for(60)
    await asyncio.sleep(0.05)
    made.lane("recent")
    assert made.release_idle(0.03) == 0
    assert {tenant for tenant, _ in made.lanes} == {"busy", "paused", "recent"}
    busy.limit.release()
    assert made.release_idle(0.03) == 1
    assert {tenant for tenant, _ in made.lanes} == {"paused", "recent"}
