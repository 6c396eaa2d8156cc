"""Lanes refused together share what one of them stops using (`worker.schedule.sharing`), on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.schedule.sharing import SharedLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeLearner:
    freed: list[float] = field(default_factory=list)

    def capacity_freed(self, extra: float) -> None:
        self.freed.append(extra)


@dataclass
class FakeLane:
    rate: float | None
    learner: FakeLearner = field(default_factory=FakeLearner)


def _lanes(**rates: float) -> dict[str, FakeLane]:
    return {name: FakeLane(rate) for name, rate in rates.items()}


def test_a_quiet_lane_refused_with_others_hands_them_its_pace_in_equal_parts() -> None:
    clock = FakeClock()
    shared = SharedLimit(clock)
    lanes = _lanes(a=170.0, b=100.0, c=50.0)
    for name in lanes:
        shared.refused(name)
    shared.check(lanes, dict.fromkeys(lanes, clock.now))
    clock.now += 2.0  # a stopped 2 s ago; b and c go on
    shared.check(lanes, {"a": 100.0, "b": clock.now, "c": clock.now})
    assert lanes["b"].learner.freed == [85.0]
    assert lanes["c"].learner.freed == [85.0]


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
