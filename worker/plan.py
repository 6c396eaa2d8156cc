"""A dry run's plan: which lanes get how many jobs, at what rate, and about how long that takes.

Rates come from where the run would take them: `--rate` ("given"), else a rate persisted by an earlier
run with the same `--state` ("persisted"), else the lane learns it from Graph's answers ("learned", no
estimate; `tenants.<name>.rate` is then its ceiling). Lanes run side by side, so the run takes as long as its
slowest lane, or as `run.app_rate` allows for all of them together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from worker.settings import Settings

#: A lane's rate and where it comes from: "given" (`--rate`), "persisted" (learned by an earlier run with the
#: same `--state`, see `worker.record.learned`) or "learned" (None: learned from Graph's answers as it goes).
LaneRate = Callable[[str], tuple[float | None, str]]


def build_plan(settings: Settings, jobs_by_lane: Counter[str], lane_rate: LaneRate) -> dict[str, Any]:
    """The plan of a run of these jobs, JSON-ready (the dry run's summary carries it as `plan`).

    `lane_rate` gives each lane's rate as the run's lanes would start with it (`compose.lane_limits`).
    """
    lanes: list[dict[str, Any]] = []
    estimates: list[float | None] = []
    for tenant, jobs in sorted(jobs_by_lane.items()):
        rate, source = lane_rate(tenant)
        estimate = None if rate is None else round(jobs / rate, 1)
        estimates.append(estimate)
        lanes.append({"lane": tenant, "jobs": jobs, "rate": rate, "rateSource": source, "estimatedS": estimate})
    known = [estimate for estimate in estimates if estimate is not None]
    overall: float | None = None
    if len(known) == len(estimates):  # lanes run side by side: the slowest one, or the app-wide rate, decides
        overall = max(known, default=0.0)
        if settings.run.app_rate:
            overall = max(overall, round(sum(jobs_by_lane.values()) / settings.run.app_rate, 1))
    return {
        "lanes": lanes,
        "batchSize": settings.run.batch_size,
        "concurrency": settings.run.concurrency,
        "appRate": settings.run.app_rate or None,
        "estimatedS": overall,
    }
