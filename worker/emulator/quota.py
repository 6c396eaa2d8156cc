"""Per-tenant token buckets: the emulator's model of Graph's per-app-per-tenant request quota."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from worker.emulator.config import EmulatorConfig

# Refill arithmetic in floats can leave 0.9999999 tokens where exactly one is due; without the slack a
# client that waits precisely the advertised Retry-After would be throttled again.
_SLACK = 1e-9


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class TenantBuckets:
    """One token bucket per tenant; rate and capacity are read from the config on every call."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def try_acquire(self, tenant: str) -> float | None:
        """Take one token: None when allowed, else the seconds until a token is available."""
        rate = self._config.quota_per_s
        if rate is None:
            return None
        capacity = self._config.burst
        now = self._clock()
        bucket = self._buckets.get(tenant)
        if bucket is None:
            bucket = self._buckets[tenant] = _Bucket(capacity, now)
        else:
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0 - _SLACK:
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            return None
        return (1.0 - bucket.tokens) / rate

    def usage(self, tenant: str) -> float:
        """Fraction of the tenant's bucket in use as of its last request: 0 idle, 1 exhausted."""
        bucket = self._buckets.get(tenant)
        if bucket is None or self._config.quota_per_s is None:
            return 0.0
        return max(0.0, 1.0 - bucket.tokens / self._config.burst)

    def clear(self) -> None:
        """Forget every bucket: each tenant starts again with a full one."""
        self._buckets.clear()
