"""The lanes of a process: one per (tenant, throttling scope), made on first use, under the app-wide pacers,
with idle ones dropped by a long-lived process and their learned rates kept for next time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from worker.jobs import DEFAULT_SCOPE, LaneKey
from worker.schedule.lane import Lane, LaneLimits
from worker.schedule.learned_pace import LearnedPace
from worker.schedule.pacer import Pacer
from worker.schedule.sharing import SharedLimit


class LaneSet:
    """Lanes by (tenant, scope), made on first use; a long-lived process drops idle ones (`release_idle`).

    `app_rate` paces the app across every lane; `scope_app_rates` paces it across the tenants of one scope
    (Graph's per-app limits are per scope too: 122 per 10 s for the reports group, 35,000 per 5 min for
    directory writes).
    """

    def __init__(
        self,
        limits: Callable[[LaneKey], LaneLimits],
        app_rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        scope_app_rates: Mapping[str, float] | None = None,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._app_pacer = None if app_rate is None else Pacer(app_rate, burst=app_rate, clock=clock)
        self._scope_pacers = {
            scope: Pacer(rate, burst=rate, clock=clock) for scope, rate in (scope_app_rates or {}).items()
        }
        self.lanes: dict[LaneKey, Lane] = {}
        self._used: dict[LaneKey, float] = {}  # when each lane was last asked for
        self._remembered: dict[LaneKey, LearnedPace] = {}  # what released lanes learned
        # what a lane stops using under an app-wide limit, the others take: one per scope (its limits are its own)
        self._shared: dict[str, SharedLimit] = {}

    def lane(self, tenant: str, scope: str = DEFAULT_SCOPE) -> Lane:
        """The lane of a tenant in a scope."""
        key = (tenant, scope)
        lane = self.lanes.get(key)
        if lane is None:
            limits = self._limits(key)
            remembered = self._remembered.pop(key, None)
            if remembered is not None and limits.rate is None and limits.learned is None:
                limits = replace(limits, learned=remembered)  # a released lane starts where it ended
            lane = self.lanes[key] = Lane(
                tenant, limits, self._app_pacer, self._clock, scope=scope, scope_pacer=self._scope_pacers.get(scope)
            )
            lane.on_paused = self._sharing(scope).refused
        now = self._used[key] = self._clock()
        self._sharing(scope).check(self.lanes, self._used, now)
        return lane

    def _sharing(self, scope: str) -> SharedLimit:
        """The shared-limit bookkeeping of one scope's lanes."""
        shared = self._shared.get(scope)
        if shared is None:
            shared = self._shared[scope] = SharedLimit(self._clock, belongs=lambda key: key[1] == scope)
        return shared

    def release_idle(self, idle_s: float) -> int:
        """Forget lanes unused for `idle_s` with nothing in flight and no pause pending; how many.

        The service meets thousands of tenants over its life: without this each one's lane would be kept
        forever. A released lane's learned pace is kept (a few numbers), and its next lane starts from it.
        """
        cutoff = self._clock() - idle_s
        idle = [
            key
            for key, lane in self.lanes.items()
            if self._used.get(key, 0.0) < cutoff and not lane.limit.in_flight and lane.gate.is_open()
        ]
        for key in idle:
            lane = self.lanes.pop(key)
            self._used.pop(key, None)
            self._sharing(key[1]).forget(key)
            if (pace := lane.learned_pace()) is not None:
                self._remembered[key] = pace  # a few numbers a lane: what it learned is kept
        return len(idle)

    def stats(self) -> list[dict[str, Any]]:
        """Every lane's figures."""
        return [lane.stats() for lane in self.lanes.values()]

    def learned(self) -> dict[LaneKey, LearnedPace]:
        """The pace each learning lane ended with (and the quota it measured), to start from next time."""
        kept = dict(self._remembered)
        kept.update((key, pace) for key, lane in self.lanes.items() if (pace := lane.learned_pace()) is not None)
        return kept
