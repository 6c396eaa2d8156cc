"""One lane: the schedule of one tenant in one throttling scope, because Graph throttles per app and tenant
within each scope (directory writes and the reports group have limits of their own). One throttled lane never
slows another; the set of them is `lane_set`.

Each attempt of a job passes, in order: the lane's concurrency limit, its throttle gate, its pacer, its
scope's app-wide pacer and the app-wide pacer (Graph also limits an app across all tenants); then it is
sent. The outcome of the attempt feeds back: 429 closes the gate and moves the rate (`ratecontrol`); 5xx
and timeouts halve the concurrency; successes grow both slowly.

Rates count resource units: a request costs what Graph last said in `x-ms-resource-unit` for that lane
(1 until it says), so a lane whose requests cost 2 units each goes at half its paced rate in requests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from worker.answers import Answer, ItemResult
from worker.errors import ServerError, ThrottledError, TransportError
from worker.jobs import DEFAULT_SCOPE, LaneKey
from worker.schedule.concurrency import AdaptiveLimit
from worker.schedule.gate import ThrottleGate
from worker.schedule.learned_pace import LearnedPace
from worker.schedule.pacer import Pacer
from worker.schedule.ratecontrol import LaneController

log = structlog.get_logger("worker.schedule")

T = TypeVar("T")

LATENCY_SAMPLES = 256  # round trips kept per lane for its latency percentiles (the summary, the web page)
# A lane-wide pause when Graph throttles without saying for how long.
DEFAULT_PAUSE_S = 1.0
# A probe through a coarse pause: never sooner than this; for an unpaced lane, this long after the refusal.
PROBE_MIN_S = 0.01
PROBE_UNPACED_S = 0.05
MAX_UNITS = 1000  # a stated cost beyond this is not believed (Graph's costs are a few units)


def _percentiles(latencies: deque[float]) -> dict[str, float] | None:
    """p50, p95 and p99 of the latest round trips, in milliseconds (None before the first success)."""
    if not latencies:
        return None
    ordered = sorted(latencies)
    last = len(ordered) - 1
    return {f"p{q}": round(ordered[min(last, q * len(ordered) // 100)] * 1000, 1) for q in (50, 95, 99)}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _coarse(retry_after: float | None) -> bool:
    """A Retry-After that is a whole number of seconds (often a rounded-up wait), or none at all."""
    return retry_after is None or (retry_after >= 1.0 and retry_after.is_integer())


def _refused(result: object) -> bool:
    """A $batch answer whose items were all refused (the envelope went through, the quota did not)."""
    return isinstance(result, list) and bool(result) and all(isinstance(item, ThrottledError) for item in result)


@dataclass(frozen=True, slots=True)
class LaneLimits:
    """How one lane may send.

    `rate`: an exact rate (`--rate`), never learned. Otherwise the rate is learned, under `ceiling`
    (the lower of `tenants.<t>.rate` and `scopes.<s>.rate`) when given, starting from `learned` (the pace a
    previous run ended with) when known. Rates are in resource units per second (`Lane.cost`).
    """

    rate: float | None = None
    burst: float = 1.0
    min_concurrency: int = 1
    max_concurrency: int = 32
    max_pause_s: float = 300.0  # retry.max_retry_after_s: a longer Retry-After fails its job, the lane goes on
    ceiling: float | None = None
    learned: LearnedPace | None = None


class Lane:
    """The schedule of one tenant in one throttling scope (`name` is the tenant)."""

    def __init__(
        self,
        name: str,
        limits: LaneLimits,
        app_pacer: Pacer | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        scope: str = DEFAULT_SCOPE,
        scope_pacer: Pacer | None = None,
    ) -> None:
        self.name = name
        self.scope = scope
        self.cost = 1  # resource units per request, as Graph last stated them (x-ms-resource-unit)
        self._clock = clock
        # a ceiling paces from the start (learning may only lower it); an exact rate is the pace
        self.pacer = Pacer(limits.rate or limits.ceiling, burst=limits.burst, clock=clock)
        self.gate = ThrottleGate(clock)
        known = limits.rate is not None or limits.learned is not None
        self.limit = AdaptiveLimit(
            minimum=limits.min_concurrency, maximum=limits.max_concurrency, slow_start=not known, clock=clock
        )
        # an exact rate is never learned; otherwise learn under the ceiling, from a previous run's rate if known
        self.learner = (
            None if limits.rate is not None else LaneController(self.pacer, ceiling=limits.ceiling, clock=clock)
        )
        if self.learner is not None and limits.learned is not None:
            self.learner.start_from(limits.learned.rate, limits.learned.window)
        self._app_pacers = tuple(pacer for pacer in (scope_pacer, app_pacer) if pacer is not None)
        self._max_pause_s = limits.max_pause_s
        self.started = clock()
        self.sent = 0
        self.succeeded = 0
        self.throttled = 0
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)  # the latest successes' round trips
        # told of each pause, and whom the refusing limit counts if Graph said (lanes refused together)
        self.on_paused: Callable[[LaneKey, str | None], None] | None = None

    @property
    def rate(self) -> float | None:
        """The lane's pace now (None: unpaced)."""
        return self.pacer.rate

    def learned_pace(self) -> LearnedPace | None:
        """What this lane learned of its quota, to start from next time (None: nothing, or an exact rate)."""
        rate = self.pacer.rate
        if self.learner is None or rate is None:
            return None
        return LearnedPace(rate, self.pacer.window, self.learner.measured)

    @property
    def delivering(self) -> float:
        """Resource units that got through per second, over the last second (the pace, for an exact rate)."""
        if self.learner is None:
            return self.pacer.rate or 0.0
        return self.learner.delivering

    @property
    def paused(self) -> bool:
        """Waiting out a Retry-After: asking for nothing, yet not stopped."""
        return not self.gate.is_open()

    def send(self, attempt: Callable[[], Awaitable[Answer]]) -> Coroutine[Any, Any, Answer]:
        """Make one attempt when the lane allows it, and learn from how it went (`_guarded` itself is the
        coroutine: one level of awaiting less for every job)."""
        return self._guarded(1, attempt, self._learn_one)

    def send_batch(
        self, count: int, post: Callable[[], Awaitable[list[ItemResult]]]
    ) -> Coroutine[Any, Any, list[ItemResult]]:
        """Send one $batch of `count` items (each takes a pacer slot) and learn from every item."""
        return self._guarded(count, post, self._learn_batch)

    def _learn_one(self, started: float, answer: Answer) -> None:
        self._learn(answer, self._clock() - started)

    def _learn_batch(self, started: float, results: list[ItemResult]) -> None:
        latency = self._clock() - started
        throttled = next((r for r in results if isinstance(r, ThrottledError)), None)
        if throttled is not None:
            self._on_throttled(throttled, started, probe=self.gate.probing)
        for result in results:
            if isinstance(result, Answer):
                self._learn(result, latency)

    async def _guarded(self, slots: int, call: Callable[[], Awaitable[T]], learn: Callable[[float, T], None]) -> T:
        """Wait for a concurrency slot, the gate and the pacer; send; feed whole-request failures back; once
        the slot is released, `learn(started, result)` from a result."""
        if not self.limit.try_acquire():
            await self.limit.acquire()
        try:
            probe = False if self._unhindered() else await self._admit(slots)
            self.sent += slots
            if self.learner is not None:
                self.learner.on_send(slots * self.cost)
            started = self._clock()
            try:
                result = await call()
            except ThrottledError as error:
                self._on_throttled(error, started, probe=probe)
                raise
            except (ServerError, TransportError):
                self.limit.on_overload(started)
                if probe:
                    self.gate.probe_failed()
                raise
            if probe and not _refused(result):
                self._reopen()
        finally:
            self.limit.release()
        learn(started, result)
        return result

    def _learn(self, answer: Answer, latency: float) -> None:
        self.succeeded += 1
        self.latencies.append(latency)
        self.limit.on_success(latency)
        units = answer.units
        if units is not None and 1 <= units <= MAX_UNITS:
            self.cost = units  # the next requests take this many pacer slots each
        if self.learner is not None:
            self.learner.on_success(answer.throttle_percent, self.cost)

    def _unhindered(self) -> bool:
        """Unpaced and not throttled: an attempt has nothing to wait for (the common case, without a coroutine)."""
        if self.learner is not None:
            self.learner.settle_due()  # a refusal's pause over: its rate applies from this attempt on
        return self.pacer.rate is None and not self._app_pacers and self.gate.is_open()

    async def _admit(self, slots: int) -> bool:
        """Wait until this attempt may go (it is not `_unhindered`); True when it goes alone as the closed
        gate's probe."""
        learner = self.learner
        while True:
            units = slots * self.cost
            if await self.gate.wait():
                self.pacer.note_sent(units)  # the probe skips the pacer's queue (the pause holds it), not its spacing
                return True
            if learner is not None:
                learner.settle_due()
            await self.pacer.acquire(units)
            for pacer in self._app_pacers:
                await pacer.acquire(units)
            if self.gate.is_open():
                return False

    def _reopen(self) -> None:
        """The probe went through: the lane goes on now, not at the end of a rounded-up Retry-After."""
        self.gate.probe_succeeded()
        self.pacer.release_hold()
        if self.learner is not None:
            self.learner.reopened()

    def _on_throttled(self, error: ThrottledError, sent_at: float, *, probe: bool = False) -> None:
        self.throttled += 1
        pause = error.retry_after if error.retry_after is not None else DEFAULT_PAUSE_S
        if pause > self._max_pause_s:
            return  # its job fails as throttled now; the lane goes on, never stalled or slowed for it
        closures = self.gate.closures
        probe_after = self._probe_after(error.retry_after, pause, probe)
        self.gate.close_for(pause, probe_after, probe_refused=probe)
        self.pacer.hold_until(self.gate.next_try)  # the probe must get through the pacer's queue
        self.limit.on_throttled()
        if self.learner is not None:
            self.learner.on_throttled(pause, sent_at, precise=not _coarse(error.retry_after))
        if self.gate.closures != closures:  # one line per pause, not one per 429 it covers
            if self.on_paused is not None:
                self.on_paused((self.name, self.scope), error.scope)
            log.info(
                "lane.paused",
                lane=self.name,
                scope=self.scope,
                pauseS=round(pause, 3),
                rate=self.pacer.rate,
                limit=self.limit.limit,
            )

    def _probe_after(self, retry_after: float | None, pause: float, probe: bool) -> float | None:
        """When one request may try before a coarse pause ends: `Retry-After: 1` (or none at all).

        A whole-second `Retry-After: 1` is a wait anywhere in (0, 1] (a token bucket refilling in 5 ms says
        it too): one request tries a few send intervals of the lane's rate into it, then at twice that
        interval, and so on. A longer whole-second wait n is in (n - 1, n]: probing would buy less than a
        second at the cost of refusals, so it is kept.
        """
        if not _coarse(retry_after) or pause > 1.0:
            return None
        rate = self.pacer.rate
        return 2 * self.gate.probe_interval if probe else max(PROBE_MIN_S, 2.0 / rate if rate else PROBE_UNPACED_S)

    def stats(self) -> dict[str, Any]:
        """Per-lane figures for the run summary."""
        elapsed = max(self._clock() - self.started, 1e-9)
        rate = self.pacer.rate
        return {
            "lane": self.name,
            "scope": self.scope,
            "sent": self.sent,
            "succeeded": self.succeeded,
            "throttled": self.throttled,
            "effectiveRate": round(self.succeeded / elapsed, 2),
            "pacedRate": _rounded(rate),
            "measuredRate": _rounded(None if self.learner is None else self.learner.measured),
            "unitsPerRequest": self.cost,
            "pausedS": round(self.gate.paused_s, 3),
            "concurrency": self.limit.limit,
            "latencyMs": _percentiles(self.latencies),
        }
