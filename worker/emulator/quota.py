"""Quota counters: every rule in force (`config.rules`) checked on every PATCH, per tenant or for the app,
for the requests of the rule's scope (or of every scope).

A PATCH is admitted only when every rule admits its cost (`resource_unit_cost` units); it then consumes
from all of them. When refused, the wait to announce is the longest among the refusing rules: by then
each of them admits it (the others already do, and nothing but other requests can take that back).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from worker.emulator.config import QUOTA_KNOBS, EmulatorConfig
from worker.emulator.rules import Per, QuotaRule

# Float arithmetic can leave 0.9999999 tokens where exactly one is due, or a request a nanosecond short of
# leaving a window; without the slack a client that waits precisely the advertised Retry-After would be
# throttled again.
_SLACK = 1e-9
_APP = ""  # the counter key of per-app rules


class _Counter(Protocol):
    def wait(self, now: float, cost: float) -> float:
        """Seconds until `cost` units would be admitted; 0 when they are now."""

    def take(self, now: float, cost: float) -> None:
        """Consume `cost` units (only after every rule said wait 0)."""

    def usage(self, now: float) -> float:
        """Share of the rule in use: 0 idle, 1 exhausted."""


class _TokenBucket:
    __slots__ = ("_capacity", "_rate", "_stamp", "_tokens")

    def __init__(self, rule: QuotaRule, now: float) -> None:
        self._capacity = rule.capacity
        self._rate = rule.rate
        self._tokens = self._capacity
        self._stamp = now

    def _refill(self, now: float) -> None:
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def wait(self, now: float, cost: float) -> float:
        self._refill(now)
        missing = cost - self._tokens
        return 0.0 if missing <= _SLACK else missing / self._rate

    def take(self, now: float, cost: float) -> None:
        self._tokens = max(0.0, self._tokens - cost)

    def usage(self, now: float) -> float:
        self._refill(now)
        return max(0.0, 1.0 - self._tokens / self._capacity)


class _FixedWindow:
    __slots__ = ("_epoch", "_index", "_limit", "_used", "_window")

    def __init__(self, rule: QuotaRule, epoch: float) -> None:
        self._limit = rule.limit
        self._window = rule.window_s
        self._epoch = epoch
        self._index = 0
        self._used = 0.0

    def _roll(self, now: float) -> None:
        index = math.floor((now - self._epoch + _SLACK) / self._window)
        if index != self._index:
            self._index = index
            self._used = 0.0

    def wait(self, now: float, cost: float) -> float:
        self._roll(now)
        if self._used + cost <= self._limit + _SLACK:
            return 0.0
        return max(_SLACK, self._epoch + (self._index + 1) * self._window - now)

    def take(self, now: float, cost: float) -> None:
        self._used += cost

    def usage(self, now: float) -> float:
        self._roll(now)
        return self._used / self._limit


class _SlidingWindow:
    __slots__ = ("_limit", "_log", "_used", "_window")

    def __init__(self, rule: QuotaRule, _now: float) -> None:
        self._limit = rule.limit
        self._window = rule.window_s
        self._log: deque[tuple[float, float]] = deque()  # (admitted at, cost), oldest first
        self._used = 0.0

    def _expire(self, now: float) -> None:
        log = self._log
        while log and log[0][0] + self._window <= now + _SLACK:
            self._used -= log.popleft()[1]

    def wait(self, now: float, cost: float) -> float:
        self._expire(now)
        excess = self._used + cost - self._limit
        if excess <= _SLACK:
            return 0.0
        for stamp, units in self._log:  # the oldest leave first: wait until enough of them have
            excess -= units
            if excess <= _SLACK:
                return max(_SLACK, stamp + self._window - now)
        raise AssertionError("config checks keep every rule's limit at or above the cost")

    def take(self, now: float, cost: float) -> None:
        self._log.append((now, cost))
        self._used += cost

    def usage(self, now: float) -> float:
        self._expire(now)
        return self._used / self._limit


def _new_counter(rule: QuotaRule, now: float) -> _Counter:
    if rule.model == "fixed-window":
        return _FixedWindow(rule, now)
    if rule.model == "sliding-window":
        return _SlidingWindow(rule, now)
    return _TokenBucket(rule, now)


class Quotas:
    """The counters of every rule, created on first use.

    The rules are built from the config again only when one of its quota knobs changed (building them on
    every PATCH would cost more than counting), however it changed: `EmulatorState.reconfigure` also
    clears the counters then, a direct `config.update` keeps those of the rules that stayed the same.
    """

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._counters: dict[tuple[QuotaRule, str], _Counter] = {}
        self._knobs: tuple[object, ...] | None = None  # the quota knobs `_rules` was built from
        self._rules: tuple[QuotaRule, ...] = ()
        self._epoch = clock()  # fixed windows are aligned to it

    def _counters_for(self, tenant: str, scope: str | None) -> list[tuple[QuotaRule, _Counter]]:
        knobs = tuple(getattr(self._config, name) for name in QUOTA_KNOBS)
        if knobs != self._knobs:
            self._knobs, self._rules = knobs, self._config.rules
        found = []
        for rule in self._rules:
            if not rule.applies_to(tenant, scope):
                continue
            key = (rule, tenant if rule.per == "tenant" else _APP)
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = _new_counter(
                    rule, self._epoch if rule.model == "fixed-window" else self._clock()
                )
            found.append((rule, counter))
        return found

    def try_acquire(self, tenant: str, scope: str | None = None) -> float | None:
        """Take `resource_unit_cost` units from every rule of `scope`: None when allowed, else the seconds to wait."""
        refusal = self.try_take(tenant, scope)
        return None if refusal is None else refusal[0]

    def try_take(self, tenant: str, scope: str | None = None) -> tuple[float, Per] | None:
        """`try_acquire`, with whom the refusing rule counts (the one that makes the wait longest): a tenant
        ("tenant") or the whole app ("app"), what Graph's x-ms-throttle-scope names."""
        rules_and_counters = self._counters_for(tenant, scope)
        if not rules_and_counters:
            return None
        now = self._clock()
        cost = self._config.resource_unit_cost
        wait, per = max((counter.wait(now, cost), rule.per) for rule, counter in rules_and_counters)
        if wait > 0.0:
            return wait, per
        for _rule, counter in rules_and_counters:
            counter.take(now, cost)
        return None

    def usage(self, tenant: str, scope: str | None = None) -> float:
        """Share of the most-used rule that applies to `tenant` in `scope`: 0 idle (or no quota), 1 exhausted."""
        now = self._clock()
        return max((counter.usage(now) for _rule, counter in self._counters_for(tenant, scope)), default=0.0)

    def clear(self) -> None:
        """Forget every counter: each tenant (and the app) starts afresh, fixed windows from now."""
        self._counters.clear()
        self._knobs = None
        self._epoch = self._clock()
