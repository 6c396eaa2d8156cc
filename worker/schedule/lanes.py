"""Lanes: one per tenant, because Graph throttles per app and tenant. One throttled lane never slows another.

Each attempt of a job passes, in order: the lane's concurrency limit, its throttle gate, its pacer, and
the app-wide pacer (Graph also limits an app across all tenants); then it is sent. The outcome of the
attempt feeds back: 429 closes the gate and lowers the rate; 429/503/timeouts halve the concurrency;
successes grow both slowly.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from worker.errors import SendError, ServerError, ThrottledError, TransportError
from worker.jobs import Job
from worker.schedule.concurrency import AdaptiveLimit
from worker.schedule.gate import ThrottleGate
from worker.schedule.pacer import Pacer
from worker.schedule.ratecontrol import RateLearner
from worker.send.http import Answer

log = structlog.get_logger("worker.schedule")

T = TypeVar("T")
ItemResult = Answer | SendError  # one $batch item: answered 2xx, or why not

# A lane-wide pause when Graph throttles without saying for how long.
DEFAULT_PAUSE_S = 1.0


@dataclass(frozen=True, slots=True)
class LaneLimits:
    """How one lane may send: a rate ceiling (None = learn it), a burst, and a concurrency range."""

    rate: float | None = None
    burst: float = 1.0
    min_concurrency: int = 1
    max_concurrency: int = 32
    max_pause_s: float = 300.0  # retry.max_retry_after_s: a longer Retry-After fails its job, the lane goes on


class Lane:
    """The schedule of one tenant."""

    def __init__(self, name: str, limits: LaneLimits, app_pacer: Pacer | None = None) -> None:
        self.name = name
        self.pacer = Pacer(limits.rate, burst=limits.burst)
        self.gate = ThrottleGate()
        self.limit = AdaptiveLimit(minimum=limits.min_concurrency, maximum=limits.max_concurrency)
        self.learner = RateLearner(self.pacer, ceiling=limits.rate)
        self._app_pacer = app_pacer
        self._max_pause_s = limits.max_pause_s
        self.started = time.monotonic()
        self.sent = 0
        self.succeeded = 0
        self.throttled = 0

    async def send(self, attempt: Callable[[], Awaitable[Answer]]) -> Answer:
        """Make one attempt when the lane allows it, and learn from how it went."""
        started, answer = await self._guarded(1, attempt)
        self._learn(answer, time.monotonic() - started)
        return answer

    async def send_batch(self, count: int, post: Callable[[], Awaitable[list[ItemResult]]]) -> list[ItemResult]:
        """Send one $batch of `count` items (each takes a pacer slot) and learn from every item."""
        started, results = await self._guarded(count, post)
        latency = time.monotonic() - started
        throttled = next((r for r in results if isinstance(r, ThrottledError)), None)
        if throttled is not None:
            self._on_throttled(throttled, started)
        for result in results:
            if isinstance(result, Answer):
                self._learn(result, latency)
        return results

    async def _guarded(self, slots: int, call: Callable[[], Awaitable[T]]) -> tuple[float, T]:
        """Wait for a concurrency slot, the gate and the pacer; send; feed whole-request failures back."""
        await self.limit.acquire()
        try:
            await self._admit(slots)
            self.sent += slots
            started = time.monotonic()
            try:
                return started, await call()
            except ThrottledError as error:
                self._on_throttled(error, started)
                raise
            except (ServerError, TransportError):
                self.limit.on_overload(started)
                raise
        finally:
            self.limit.release()

    def _learn(self, answer: Answer, latency: float) -> None:
        self.succeeded += 1
        self.limit.on_success(latency)
        self.learner.on_success(answer.throttle_percent)

    async def _admit(self, slots: int) -> None:
        if self.pacer.rate is None and self._app_pacer is None and self.gate.is_open():
            return  # unpaced and not throttled: nothing to wait for (the common case, kept cheap)
        while True:
            await self.gate.wait()
            await self.pacer.acquire(slots)
            if self._app_pacer is not None:
                await self._app_pacer.acquire(slots)
            if self.gate.is_open():
                return

    def _on_throttled(self, error: ThrottledError, sent_at: float) -> None:
        self.throttled += 1
        pause = error.retry_after if error.retry_after is not None else DEFAULT_PAUSE_S
        if pause > self._max_pause_s:  # its job fails as throttled now; the lane goes on, never stalled for it
            pause = 0.0
        closures = self.gate.closures
        reopen = self.gate.close_for(pause)
        self.pacer.hold_until(reopen)
        self.limit.on_overload(sent_at)
        self.learner.on_throttled()
        if self.gate.closures != closures:  # one line per pause, not one per 429 it covers
            log.info(
                "lane.paused", lane=self.name, pauseS=round(pause, 3), rate=self.pacer.rate, limit=self.limit.limit
            )

    def stats(self) -> dict[str, Any]:
        """Per-lane figures for the run summary."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.pacer.rate
        return {
            "lane": self.name,
            "sent": self.sent,
            "succeeded": self.succeeded,
            "throttled": self.throttled,
            "effectiveRate": round(self.succeeded / elapsed, 2),
            "pacedRate": None if rate is None else round(rate, 2),
            "pausedS": round(self.gate.paused_s, 3),
            "concurrency": self.limit.limit,
        }


class LaneSet:
    """Lanes by tenant, made on first use; a long-lived process drops idle ones (`release_idle`)."""

    def __init__(self, limits: Callable[[str], LaneLimits], app_rate: float | None = None) -> None:
        self._limits = limits
        self._app_pacer = None if app_rate is None else Pacer(app_rate, burst=app_rate)
        self.lanes: dict[str, Lane] = {}
        self._used: dict[str, float] = {}  # when each lane was last asked for

    def lane(self, tenant: str) -> Lane:
        """The lane of a tenant."""
        lane = self.lanes.get(tenant)
        if lane is None:
            lane = self.lanes[tenant] = Lane(tenant, self._limits(tenant), self._app_pacer)
        self._used[tenant] = time.monotonic()
        return lane

    def release_idle(self, idle_s: float) -> int:
        """Forget lanes unused for `idle_s` with nothing in flight and no pause pending; how many.

        The service meets thousands of tenants over its life: without this each one's lane (and what it
        learned) would be kept forever. A released tenant starts afresh, as on its first job.
        """
        cutoff = time.monotonic() - idle_s
        idle = [
            name
            for name, lane in self.lanes.items()
            if self._used.get(name, 0.0) < cutoff and not lane.limit.in_flight and lane.gate.is_open()
        ]
        for name in idle:
            del self.lanes[name]
            self._used.pop(name, None)
        return len(idle)

    def stats(self) -> list[dict[str, Any]]:
        """Every lane's figures."""
        return [lane.stats() for lane in self.lanes.values()]


class LaneSender:
    """The Sender for plain PATCH: each attempt goes through its tenant's lane."""

    def __init__(self, lanes: LaneSet, send: Callable[[Job], Awaitable[Answer]]) -> None:
        self._lanes = lanes
        self._send = send

    async def patch(self, job: Job) -> Answer:
        """One attempt at a job, when its lane allows."""
        send = self._send
        return await self._lanes.lane(job.tenant).send(lambda: send(job))
