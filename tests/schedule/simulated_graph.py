"""A simulated Graph for the lane controller: quota shapes on the virtual clock, with latency and jitter.

Not the emulator (that one is tested over HTTP): this one runs in virtual time (`virtual_time.py`), so a
sweep of quota shapes over minutes of simulated traffic takes seconds. Its quota rules are written here
from Graph's documented shapes, not from the controller's code.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, Protocol

from worker.answers import Answer
from worker.errors import ThrottledError
from worker.jobs import Job

RetryAfterShape = Literal["fractional", "integer", "none"]


class Rule(Protocol):
    """One quota: says how long until a request would be admitted, and counts an admitted one."""

    def wait(self, now: float) -> float | None:
        """None when a request would be admitted now, else the seconds until it would."""
        ...

    def take(self, now: float) -> None:
        """Count an admitted request."""
        ...


@dataclass
class TokenBucket:
    """Refills `rate` tokens a second up to `burst`; a request takes one."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, now: float) -> float | None:
        self._refill(now)
        return None if self.tokens >= 1.0 - 1e-9 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


@dataclass
class FixedWindow:
    """At most `limit` requests in each window [k*W + phase, (k+1)*W + phase)."""

    limit: int
    window_s: float
    phase: float = 0.0
    _window: int = -1
    _count: int = 0

    def _roll(self, now: float) -> int:
        index = math.floor((now - self.phase) / self.window_s)
        if index != self._window:
            self._window, self._count = index, 0
        return index

    def wait(self, now: float) -> float | None:
        index = self._roll(now)
        return None if self._count < self.limit else (index + 1) * self.window_s + self.phase - now

    def take(self, now: float) -> None:
        self._roll(now)
        self._count += 1


@dataclass
class SlidingWindow:
    """At most `limit` requests in any `window_s` span."""

    limit: int
    window_s: float
    _stamps: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float | None:
        while self._stamps and self._stamps[0] <= now - self.window_s:
            self._stamps.popleft()
        return None if len(self._stamps) < self.limit else self._stamps[0] + self.window_s - now

    def take(self, now: float) -> None:
        self._stamps.append(now)


def render_retry_after(shape: RetryAfterShape, wait: float) -> float | None:
    """The wait as the client would read it from the header."""
    if shape == "fractional":
        return math.ceil(wait * 1000) / 1000
    if shape == "integer":
        return float(max(1, math.ceil(wait)))
    return None


@dataclass
class SimulatedGraph:
    """Per-tenant rules (made on first use by `rules_for`) plus app-wide rules, checked in order."""

    tenant_rules: dict[str, list[Rule]]
    app_rules: list[Rule] = field(default_factory=list)
    latency_s: float = 0.02
    jitter_s: float = 0.001  # lateness of a send, as an event loop's 1 ms timer granularity gives
    retry_after: RetryAfterShape = "fractional"
    scope_header: bool = False  # say whom a refusal's limit counts, as x-ms-throttle-scope does
    seed: int = 1
    ok: int = 0
    throttled: int = 0
    timeline: list[tuple[float, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    async def patch(self, job: Job) -> Answer:
        """One request: half the latency there, the quota check, half back."""
        await asyncio.sleep(self.latency_s / 2 + self._rng.uniform(0.0, self.jitter_s))  # latency, virtual
        now = asyncio.get_running_loop().time()
        wait, app_wide = self._admit(job.tenant, now)
        self.timeline.append((now, job.tenant, 200 if wait is None else 429))
        await asyncio.sleep(self.latency_s / 2)  # simulated latency (virtual time)
        if wait is None:
            self.ok += 1
            return Answer(200, None)
        self.throttled += 1
        retry_after = render_retry_after(self.retry_after, wait)
        refused = ThrottledError("Too many requests", status=429, retry_after=retry_after)
        if self.scope_header:
            refused.scope = "Application" if app_wide else "Tenant_Application"
        raise refused

    def _admit(self, tenant: str, now: float) -> tuple[float | None, bool]:
        """None, or the wait and whether an app-wide rule made it (the longest)."""
        # every rule must admit; a refusal by one must not consume the others (Graph counts answered requests)
        rules = [*self.tenant_rules[tenant], *self.app_rules]
        app_wide = [any(rule is app for app in self.app_rules) for rule in rules]
        waits = [(wait, app) for rule, app in zip(rules, app_wide, strict=True) if (wait := rule.wait(now)) is not None]
        if waits:
            return max(waits)
        for rule in rules:
            rule.take(now)
        return None, False
