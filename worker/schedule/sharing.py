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

Where Graph says whom a refusal's limit counts (`x-ms-throttle-scope`, sent by identity and access), no
guess is needed. A lane refused by the app's limit ("Application") shares it with every other lane so
refused, and those lanes are also *evened out*: each `check` moves `EVEN_PER_S` of the gap between a lane's
pace and their mean, from the faster to the slower (`share_moved`; the app's total is unchanged). Otherwise
they keep the unequal shares they settled on (growth and cuts are both in proportion to a lane's pace), and
the slowest, finishing last and alone, is held to its own tenant's quota: 1.06-1.24x of the ideal, measured.
A lane whose last refusal was its own tenant's limit ("Tenant_Application", "Tenant") takes no part: it
cannot use more, and a refusal that names its limit says nothing about sharing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol

import structlog

log = structlog.get_logger("worker.schedule")

TOGETHER_S = 1.0  # refusals of two lanes this close are one limit's doing
EVEN_PER_S = 0.5  # lanes under the app's limit (Graph said so): this share of each gap to the mean per second
EVEN_FROM = 0.02  # ... a gap under this share of the mean is left alone
APP_SCOPE = "Application"  # x-ms-throttle-scope: the limit counts the app across tenants
QUIET_S = 0.3  # a lane that asked for nothing this long (or 3 of its intervals) has stopped
CHECK_S = 0.1  # how often quiet lanes are looked for
BUSY = 0.9  # a lane delivering this share of its pace uses it (evening out moves only paces in use)
PEAK_FADE_PER_S = 0.8  # a lane's peak use fades by this much per second
_PEAK_FADE_PER_CHECK = PEAK_FADE_PER_S**CHECK_S


class Learner(Protocol):
    """The part of a lane's controller that takes a freed share."""

    def capacity_freed(self, extra: float) -> None:
        """Another lane under the same limit stopped: `extra` requests/s are free for this one."""
        ...

    def share_moved(self, delta: float) -> None:
        """Lanes under the app's limit are evened out: `delta` requests/s moved to this lane (or away)."""
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
        self._app_wide: set[Hashable] = set()  # lanes whose last refusal Graph said was the app's limit
        self._next_check = 0.0

    def refused(self, name: Hashable, limit_scope: str | None = None) -> None:
        """A lane was refused (once per pause). `limit_scope`: whom the limit counts, if Graph said
        (x-ms-throttle-scope); else the lane shares a limit with any lane refused just before."""
        if limit_scope is not None:
            if limit_scope == APP_SCOPE:
                self._app_wide.add(name)
                self._together |= self._app_wide
            else:  # its own tenant's limit: it takes no part in evening out, and suggests no sharing
                self._app_wide.discard(name)
            return
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
        if self._app_wide:
            self._even_out(lanes)
        if not freed or not learners:
            return
        log.info("lanes.share_handed_over", freedRate=round(freed, 1), lanes=len(learners))
        shares = fill_up({name: self._sending[name] for name in learners}, freed)
        for name, learner in learners.items():
            if shares[name] > 0.0:
                learner.capacity_freed(shares[name])

    def _even_out(self, lanes: Mapping[Any, SharingLane]) -> None:
        """Move part of each gap between the paces of the lanes under the app's limit and their mean, from
        the faster to the slower: only lanes sending at their pace (a pace not used is no share of it)."""
        paces: dict[Hashable, tuple[float, Learner]] = {}
        for name in self._app_wide & self._sending.keys():
            lane = lanes[name]
            rate, learner = lane.rate, lane.learner
            if rate is not None and learner is not None and not lane.paused and lane.delivering >= BUSY * rate:
                paces[name] = (rate, learner)
        if len(paces) < 2:
            return
        mean = sum(rate for rate, _ in paces.values()) / len(paces)
        step = min(1.0, EVEN_PER_S * CHECK_S)
        for rate, learner in paces.values():
            if abs(rate - mean) >= EVEN_FROM * mean:
                learner.share_moved((mean - rate) * step)

    def forget(self, name: Hashable) -> None:
        """A lane stopped or was released: it shares nothing any more."""
        self._refused_at.pop(name, None)
        self._together.discard(name)
        self._app_wide.discard(name)


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
