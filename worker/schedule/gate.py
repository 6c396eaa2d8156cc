"""A throttle gate: a 429 (or 503 with Retry-After) closes the whole lane until its Retry-After has passed.

One caller learns about the throttling and every new send of the lane waits, instead of every in-flight
request discovering it separately. The pause is exactly as long as the server asked (fractional seconds
included), never a blunt fixed stall.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class ThrottleGate:
    """Closed until a moment in the monotonic clock; `wait` returns once it is open."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open_at = 0.0
        self.paused_s = 0.0
        self.closures = 0

    @property
    def open_at(self) -> float:
        """The moment the gate opens (in the past when it is open)."""
        return self._open_at

    def close_for(self, seconds: float) -> float:
        """Close for `seconds` from now (never shortening a longer closure); return when it opens.

        No time (`seconds` <= 0) is no closure.
        """
        now = self._clock()
        if seconds <= 0:
            return self._open_at
        until = now + seconds
        if until > self._open_at:
            self.paused_s += until - max(now, self._open_at)
            self._open_at = until
            self.closures += 1
        return self._open_at

    def is_open(self) -> bool:
        """True when sends may go now."""
        return self._clock() >= self._open_at

    async def wait(self) -> None:
        """Return once the gate is open (re-checking: it may close again while we sleep)."""
        # A deadline that may move, not an event that fires: sleeping to it and re-checking is the point.
        while (delay := self._open_at - self._clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
