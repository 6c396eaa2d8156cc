"""Lanes refused together share what one of them stops using (`worker.schedule.sharing`), on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from worker.schedule.sharing import SharedLimit, fill_up


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeLearner:
    freed: list[float] = field(default_factory=list)
    moved: list[float] = field(default_factory=list)

    def capacity_freed(self, extra: float) -> None:
        self.freed.append(extra)

    def share_moved(self, delta: float) -> None:
        self.moved.append(delta)


@dataclass
class FakeLane:
    rate: float | None
    learner: FakeLearner = field(default_factory=FakeLearner)
    paused: bool = False
    delivering: float = 1e9  # all of its pace, unless a test says otherwise


def _lanes(**rates: float) -> dict[str, FakeLane]:
    return {name: FakeLane(rate) for name, rate in rates.items()}


def test_a_quiet_lane_refused_with_others_hands_its_pace_to_the_slowest_first() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=170.0, b=100.0, c=50.0)
    for name in lanes:
        shared.refused(name)
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    clock.now += 2.0  # a stopped 2 s ago; b and c go on
    shared.check(lanes, {"a": 100.0, "b": clock.now, "c": clock.now})
    # c is raised to b's 100 first (50), then both evenly with the 120 left: 160 each
    assert lanes["b"].learner.freed == [60.0]
    assert lanes["c"].learner.freed == [110.0]


def test_filling_up_raises_the_slowest_to_one_level_and_gives_away_exactly_what_was_freed() -> None:
    assert fill_up({"a": 10.0, "b": 50.0, "c": 200.0}, 30.0) == {"a": 30.0, "b": 0.0, "c": 0.0}
    assert fill_up({"a": 10.0, "b": 50.0, "c": 200.0}, 100.0) == {"a": 70.0, "b": 30.0, "c": 0.0}
    shares = fill_up({"a": 10.0, "b": 50.0, "c": 200.0}, 400.0)
    assert {name: rate + shares[name] for name, rate in {"a": 10.0, "b": 50.0, "c": 200.0}.items()} == {
        "a": 220.0,
        "b": 220.0,
        "c": 220.0,
    }


def test_a_lane_held_back_by_its_input_hands_over_only_what_it_used() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=300.0, b=100.0)
    lanes["a"].delivering = 40.0  # paced at 300/s, but its lines came at 40/s
    for name in lanes:
        shared.refused(name)
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    clock.now += 2.0
    shared.check(lanes, {"a": 100.0, "b": clock.now})
    assert lanes["b"].learner.freed == [40.0]


def test_lanes_never_refused_together_share_nothing() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=170.0, b=100.0)
    shared.refused("a")
    clock.now += 5.0  # their own limits: refused at different times
    shared.refused("b")
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    clock.now += 2.0
    shared.check(lanes, {"a": 100.0, "b": clock.now})
    assert lanes["b"].learner.freed == []


def test_a_slow_lane_between_its_sends_is_not_taken_for_stopped() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(slow=0.5, fast=100.0)
    shared.refused("slow")
    shared.refused("fast")
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    clock.now += 1.5  # less than 3 intervals of 2 s since its last send
    shared.check(lanes, dict.fromkeys(lanes, clock.now - 1.5) | {"fast": clock.now})
    assert lanes["fast"].learner.freed == []


def test_lanes_refused_by_the_apps_limit_are_evened_out_towards_their_mean() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=300.0, b=100.0, c=200.0)
    for name in lanes:
        shared.refused(name, "Application")  # Graph said: the app's limit, across tenants
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    # a twentieth of each gap to the mean (200/s) per check of 0.1 s: half of it per second
    assert lanes["a"].learner.moved == [-5.0]
    assert lanes["b"].learner.moved == [5.0]
    assert lanes["c"].learner.moved == []  # at the mean already
    clock.now += 0.05
    shared.check(lanes, dict.fromkeys(lanes, clock.now))  # at most once per 0.1 s
    assert lanes["a"].learner.moved == [-5.0]


def test_a_lane_refused_by_its_own_tenants_limit_is_not_evened_out() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=300.0, b=100.0, c=150.0)
    for name in lanes:
        shared.refused(name, "Application")
    shared.refused("b", "Tenant_Application")  # b is at its own quota: it cannot take more
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    assert lanes["b"].learner.moved == []
    assert lanes["a"].learner.moved == [pytest.approx(-3.75)]  # a and c: mean 225/s
    assert lanes["c"].learner.moved == [pytest.approx(3.75)]


def test_paused_lanes_and_paces_not_in_use_are_not_evened_out() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=300.0, b=100.0, c=50.0)
    lanes["b"].paused = True  # waiting out a Retry-After
    lanes["c"].delivering = 10.0  # its input comes slower than its pace
    for name in lanes:
        shared.refused(name, "Application")
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    assert [lane.learner.moved for lane in lanes.values()] == [[], [], []]


def test_without_the_header_lanes_refused_together_are_not_evened_out() -> None:
    # a guess from timing alone is wrong under independent tenant quotas, refused at the same moment by
    # chance: evening them out would push the lane with the large quota down for the small one's sake
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=300.0, b=100.0)
    for name in lanes:
        shared.refused(name)
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    assert [lane.learner.moved for lane in lanes.values()] == [[], []]


def test_refusals_naming_each_tenants_own_limit_suggest_no_sharing() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=170.0, b=100.0)
    for name in lanes:  # the same moment, but Graph says: each its own tenant's limit
        shared.refused(name, "Tenant_Application")
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    clock.now += 2.0  # a stopped
    shared.check(lanes, {"a": 100.0, "b": clock.now})
    assert lanes["b"].learner.freed == []
