"""A dry run's plan: which lanes get how many jobs, at what rate, and about how long that takes.

Rates come from where the run would take them: `--rate` ("given"), else a rate persisted by an earlier
run with the same `--state` ("persisted"), else the lane learns it from Graph's answers ("learned", no
estimate; `tenants.<name>.rate` and `scopes.<name>.rate` are then its ceilings). Lanes (a tenant in a
throttling scope) run side by side, so the run takes as long as its slowest lane, or as `run.app_rate`
allows for all of them together, or `scopes.<name>.app_rate` for those of one scope.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from worker.jobs import LaneKey
from worker.settings import Settings

#: A lane's rate and where it comes from: "given" (`--rate`), "persisted" (learned by an earlier run with the
#: same `--state`, see `worker.record.learned`) or "learned" (None: learned from Graph's answers as it goes);
#: and the window (count, seconds) a persisted lane paces, when it paced a quota of "N per W".
LaneRate = Callable[[LaneKey], tuple[float | None, str, tuple[int, float] | None]]


def build_plan(settings: Settings, jobs_by_lane: Counter[LaneKey], lane_rate: LaneRate) -> dict[str, Any]:
    """The plan of a run of these jobs, JSON-ready (the dry run's summary carries it as `plan`).

    `lane_rate` gives each lane's rate as the run's lanes would start with it (`compose.lane_limits`).
    """
    lanes: list[dict[str, Any]] = []
    estimates: list[float | None] = []
    for (tenant, scope), jobs in sorted(jobs_by_lane.items()):
        rate, source, window = lane_rate((tenant, scope))
        estimate = None if rate is None else _estimate(jobs, rate, window)
        estimates.append(estimate)
        lane = {
            "lane": tenant,
            "scope": scope,
            "jobs": jobs,
            "rate": rate,
            "rateSource": source,
            "estimatedS": estimate,
        }
        if window is not None:
            lane["window"] = {"count": window[0], "seconds": window[1]}
        lanes.append(lane)
    known = [estimate for estimate in estimates if estimate is not None]
    overall: float | None = None
    if len(known) == len(estimates):  # lanes run side by side: the slowest one, or an app-wide rate, decides
        overall = max([*known, *_app_bounds(settings, jobs_by_lane)], default=0.0)
    return {
        "lanes": lanes,
        "batchSize": settings.run.batch_size,
        "concurrency": settings.run.concurrency,
        "appRate": settings.run.app_rate or None,
        "estimatedS": overall,
    }


def _estimate(jobs: int, rate: float, window: tuple[int, float] | None) -> float:
    """How long a lane's jobs take: at its rate, or N at each window's start (its last window is not waited
    out: 60 jobs at 5 per 10.2 s take 11 windows, 112 s, not 60 / 0.49 = 122 s)."""
    if window is None:
        return round(jobs / rate, 1)
    count, seconds = window
    return round((math.ceil(jobs / count) - 1) * seconds, 1)


def _app_bounds(settings: Settings, jobs_by_lane: Counter[LaneKey]) -> list[float]:
    """How long the app-wide rates take: all jobs at `run.app_rate`, each scope's at its `app_rate`."""
    bounds = []
    if settings.run.app_rate:
        bounds.append(round(sum(jobs_by_lane.values()) / settings.run.app_rate, 1))
    for name, scope in settings.scopes.items():
        jobs = sum(count for (_, lane_scope), count in jobs_by_lane.items() if lane_scope == name)
        if scope.app_rate and jobs:
            bounds.append(round(jobs / scope.app_rate, 1))
    return bounds
