"""Prometheus metrics of the service (`GET /metrics`), in a registry of their own.

A dedicated `CollectorRegistry` per service (not prometheus-client's global one) keeps two services in one
process, as tests start them, from sharing counters. What is counted where:

- jobs by final status and the job latency histogram: from every recorded outcome (`observe_outcome`);
- attempts and 429s per lane (labels `lane`: the tenant, `scope`: the throttling scope): from every attempt,
  by wrapping the sender (`MeteredSender`);
- jobs in flight: around each job's execution (`metered`);
- per-lane paced and effective rate: read from the lanes when scraped (`LaneCollector`);
- batches by state: set from the store just before each scrape (`set_batches`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from worker.answers import Answer, Execute, Sender
from worker.errors import ThrottledError
from worker.jobs import Job, Outcome
from worker.schedule.lane_set import LaneSet

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Job latency buckets (seconds): from a fast PATCH to a job that waited out several Retry-Afters.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
BATCH_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")


class ServiceMetrics:
    """Every metric of one service."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs = Counter(
            "patch_worker_jobs", "Jobs that reached a final status.", ["status"], registry=self.registry
        )
        self.attempts = Counter(
            "patch_worker_attempts",
            "Requests sent to Graph (every attempt of every job).",
            ["lane", "scope"],
            registry=self.registry,
        )
        self.throttled = Counter(
            "patch_worker_throttled",
            "Attempts Graph answered with 429 (or 503 with Retry-After).",
            ["lane", "scope"],
            registry=self.registry,
        )
        self.in_flight = Gauge("patch_worker_jobs_in_flight", "Jobs being sent now.", registry=self.registry)
        self.latency = Histogram(
            "patch_worker_job_duration_seconds",
            "Time from a job's first attempt to its final result.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batches = Gauge(
            "patch_worker_batches", "Batches known to the store, by state.", ["state"], registry=self.registry
        )
        for status in ("succeeded", "failed", "rejected"):
            self.jobs.labels(status)  # present (at 0) before the first job
        self._lanes = LaneCollector()
        self.registry.register(self._lanes)

    def watch_lanes(self, lanes: LaneSet) -> None:
        """Report these lanes' rates when scraped."""
        self._lanes.lanes = lanes

    def observe_outcome(self, outcome: Outcome) -> None:
        """Count one final outcome (rejected lines have no latency worth measuring)."""
        self.jobs.labels(outcome.status).inc()
        if outcome.status != "rejected":
            self.latency.observe(outcome.elapsed_ms / 1000)

    def set_batches(self, counts: Mapping[str, int]) -> None:
        """Batches by state, as the store has them now."""
        for state in BATCH_STATES:
            self.batches.labels(state).set(counts.get(state, 0))

    def metered(self, execute: Execute) -> Execute:
        """`execute`, counting the jobs in flight."""

        async def run(job: Job) -> Outcome:
            self.in_flight.inc()
            try:
                return await execute(job)
            finally:
                self.in_flight.dec()

        return run

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class MeteredSender:
    """A Sender that counts every attempt and every 429 by lane."""

    def __init__(self, sender: Sender, metrics: ServiceMetrics) -> None:
        self._sender = sender
        self._metrics = metrics

    async def patch(self, job: Job) -> Answer:
        """One attempt, counted."""
        self._metrics.attempts.labels(job.tenant, job.scope).inc()
        try:
            return await self._sender.patch(job)
        except ThrottledError:
            self._metrics.throttled.labels(job.tenant, job.scope).inc()
            raise


def metered_sender(metrics: ServiceMetrics) -> Callable[[Sender], Sender]:
    """A `wrap` for `sending_stack` that counts attempts and 429s."""
    return lambda sender: MeteredSender(sender, metrics)


class LaneCollector(Collector):
    """Each lane's paced rate (its current ceiling; absent while unpaced) and effective rate."""

    def __init__(self) -> None:
        self.lanes: LaneSet | None = None

    def collect(self) -> Iterable[Metric]:
        """Read the lanes now."""
        return list(self._families())

    def describe(self) -> Iterable[Metric]:
        """No fixed description: lanes appear as tenants do."""
        return []

    def _families(self) -> Iterator[Metric]:
        paced = GaugeMetricFamily(
            "patch_worker_lane_paced_rate",
            "Requests per second a lane is paced at (learned or configured).",
            labels=["lane", "scope"],
        )
        effective = GaugeMetricFamily(
            "patch_worker_lane_effective_rate",
            "Requests per second a lane got answered 2xx since it started.",
            labels=["lane", "scope"],
        )
        for stats in [] if self.lanes is None else self.lanes.stats():
            if stats["pacedRate"] is not None:
                paced.add_metric([stats["lane"], stats["scope"]], float(stats["pacedRate"]))
            effective.add_metric([stats["lane"], stats["scope"]], float(stats["effectiveRate"]))
        yield paced
        yield effective
