"""A dry run's plan: which lanes get how many jobs, at what rate, and about how long that takes.

Rates come from where the run would take them: `--rate` / `tenants.<name>.rate` ("given"), else a rate
persisted by an earlier run when there is one ("persisted", see `persisted_rate`), else it is learned
from Graph's answers ("learned", no estimate). Lanes run side by side, so the run takes as long as its
slowest lane, or as `run.app_rate` allows for all of them together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from worker.settings import Settings


def persisted_rate(settings: Settings, tenant: str) -> float | None:
    """The rate an earlier run learned for this tenant's lane, when one was kept; None otherwise.

    Hook for persisted learned rates: nothing is persisted yet, so this is None until the rate controller
    keeps them (then read them here, and the plan shows them as "persisted").
    """
    del settings, tenant
    return None


def lane_rate(settings: Settings, tenant: str, given: float | None) -> tuple[float | None, str]:
    """The lane's rate and where it comes from: "given", "persisted" or "learned" (None: unknown yet)."""
    if given is not None:
        return given, "given"
    kept = persisted_rate(settings, tenant)
    if kept is not None:
        return kept, "persisted"
    return None, "learned"


def build_plan(
    settings: Settings, jobs_by_lane: Counter[str], given_rate: Callable[[str], float | None]
) -> dict[str, Any]:
    """The plan of a run of these jobs, JSON-ready (the dry run's summary carries it as `plan`).

    `given_rate` is the lane's configured rate, as the run's lanes would get it (`app.lane_limits`).
    """
    lanes: list[dict[str, Any]] = []
    estimates: list[float | None] = []
    for tenant, jobs in sorted(jobs_by_lane.items()):
        rate, source = lane_rate(settings, tenant, given_rate(tenant))
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
