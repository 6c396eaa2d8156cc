"""Lanes under one app-wide limit: what a lane stops using, the lanes it was refused with take at once.

Graph limits an app across tenants as well as per tenant, and never says which limit a 429 came from.
Each lane learns its own rate, so under an app-wide limit the lanes settle on shares of it (unequal ones:
the first to grow keeps more). When a lane finishes, its share is free, but the others only see that by
probing upwards, slowly (measured: the last of 4 lanes under a 400/s app limit took 13 s to regrow from
48/s, 1.65x the ideal). Lanes refused within `TOGETHER_S` of each other are taken to share a limit;
when one of them goes quiet, the rate it was paced at is handed to the others still sending, the slowest
first (`fill_up`). If they did not share a limit after all, each is refused once and learns its own rate back.

Graph's app-wide limits are per throttling scope: `LaneSet` keeps one `SharedLimit` per scope, and
`belongs` keeps each to its own scope's lanes (lanes are named by any hashable key: (tenant, scope)).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol

import structlog

log = structlog.get_logger("worker.schedule")

TOGETHER_S = 1.0  # refusals of two lanes this close are one limit's doing
QUIET_S = 0.3  # a lane that asked for nothing this long (or 3 of its intervals) has stopped
CHECK_S = 0.1  # how often quiet lanes are looked for
PEAK_FADE_PER_S = 0.8  # a lane's peak use fades by this much per second
_PEAK_FADE_PER_CHECK = PEAK_FADE_PER_S**CHECK_S


class Learner(Protocol):
    """The part of a lane's controller that takes a freed share."""

    def capacity_freed(self, extra: float) -> None:
        """Another lane under the same limit stopped: `extra` requests/s are free for this one."""
        ...


class SharingLane(Protocol):
    """What sharing needs of a lane: its pace and its controller."""

    @property
    def rate(self) -> float | None:
        """The lane's pace now (None: unpaced)."""
        ...

    @property
    def learner(self) -> Learner | None:
        """The lane's controller (None for an exact rate)."""
        ...

    @property
    def paused(self) -> bool:
        """The lane waits out a Retry-After (quiet, not stopped)."""
        ...

    @property
    def delivering(self) -> float:
        """What got through per second lately: what the lane used of its pace."""
        ...


class SharedLimit:
    """Which lanes are refused together, and the hand-over of a stopped lane's share."""

    def __init__(self, clock: Callable[[], float], belongs: Callable[[Any], bool] | None = None) -> None:
        self._clock = clock
        self._belongs = belongs  # which lanes this limit may concern (None: every lane)
        self._refused_at: dict[Hashable, float] = {}
        self._together: set[Hashable] = set()
        self._sending: dict[Hashable, float] = {}  # lanes seen sending at the last check, and their pace then
        self._next_check = 0.0

    def refused(self, name: Hashable) -> None:
        """A lane was refused (once per pause): it shares a limit with any lane refused just before."""
        now = self._clock()
        others = {other for other, at in self._refused_at.items() if other != name and now - at <= TOGETHER_S}
        self._refused_at[name] = now
        if others:  # for as long as the lane sends: a lone refusal later is its own limit, or the app's again
            self._together |= others | {name}

    def check(self, lanes: Mapping[Any, SharingLane], used: Mapping[Any, float], now: float | None = None) -> None:
        """At most every `CHECK_S`: hand the pace of lanes gone quiet to the ones they were refused with
        (`now`: the caller's clock reading, if it has one: this runs for every job)."""
        now = self._clock() if now is None else now
        if now < self._next_check:
            return
        self._next_check = now + CHECK_S
        belongs = self._belongs
        sending = {  # what each lane used of its pace: a lane held back by its input frees only what it used
            name: min(lane.rate, lane.delivering) if lane.rate is not None else None
            for name, lane in lanes.items()
            if (belongs is None or belongs(name)) and _sending(lane, used.get(name, 0.0), now)
        }
        freed = sum(rate for name, rate in self._sending.items() if name not in sending and name in self._together)
        for name in self._sending.keys() - sending.keys():
            self.forget(name)
        # a lane's use tails off as its last lines go: what it frees is its recent peak, fading slowly
        self._sending = {
            name: max(rate, self._sending.get(name, 0.0) * _PEAK_FADE_PER_CHECK)
            for name, rate in sending.items()
            if rate is not None
        }
        takers = {name: lanes[name].learner for name in self._sending if name in self._together}
        learners = {name: learner for name, learner in takers.items() if learner is not None}
        if not freed or not learners:
            return
        log.info("lanes.share_handed_over", freedRate=round(freed, 1), lanes=len(learners))
        shares = fill_up({name: self._sending[name] for name in learners}, freed)
        for name, learner in learners.items():
            if shares[name] > 0.0:
                learner.capacity_freed(shares[name])

    def forget(self, name: Hashable) -> None:
        """A lane stopped or was released: it shares nothing any more."""
        self._refused_at.pop(name, None)
        self._together.discard(name)


def fill_up(rates: Mapping[Hashable, float], freed: float) -> dict[Hashable, float]:
    """Share `freed` so the slowest lanes gain first, up to one level (water filling): lanes under one
    limit settle on unequal shares, and the one left alone at the end is held to its own tenant's quota,
    so a stopped lane's share evens them out instead of keeping their gaps."""
    shares = dict.fromkeys(rates, 0.0)
    slowest_first = sorted(rates, key=lambda name: rates[name])
    left = freed
    for count, name in enumerate(slowest_first, start=1):
        following = slowest_first[count] if count < len(slowest_first) else None
        step = left / count if following is None else min(left / count, rates[following] - rates[name])
        level = rates[name] + step  # every lane so far is raised to this level
        for lower in slowest_first[:count]:
            shares[lower] = level - rates[lower]
        left = freed - sum(shares.values())
        if left <= 1e-9:
            break
    return shares


def _sending(lane: SharingLane, used: float, now: float) -> bool:
    rate = lane.rate
    return lane.paused or now - used <= max(QUIET_S, 3.0 / rate if rate else 0.0)
