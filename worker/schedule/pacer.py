"""A pacer: spaces sends evenly at a rate that can change while it runs.

Each caller reserves the next free slot (slots are 1/rate apart) and sleeps until it; unused time is
banked up to `burst` slots, so an idle lane may send a short burst. Reserving slots, rather than
polling a bucket, gives FIFO fairness and exactly one timer per caller. A server limiting a *rate* is
best met by pacing at that rate (notes/performance.md: 99.9 % of quota, zero 429s), not by pausing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """Hands out send times `1/rate` apart; `rate=None` means unpaced."""

    def __init__(self, rate: float | None, *, burst: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next = clock()
        self._before_hold: float | None = None
        self.burst = max(1.0, burst)
        self.rate = rate

    @property
    def rate(self) -> float | None:
        """Sends per second, or None when unpaced."""
        return self._rate

    @rate.setter
    def rate(self, value: float | None) -> None:
        if value is not None and value <= 0:
            raise ValueError("rate must be positive (or None for unpaced)")
        self._rate = value

    def reserve(self, slots: int = 1) -> float:
        """Reserve the next `slots` slots; return the seconds to wait for the last (0 when already due).

        A $batch of n items takes n slots: Graph counts every item against the quota.
        """
        if self._rate is None:
            return 0.0
        now = self._clock()
        self._settle_hold(now)
        interval = 1.0 / self._rate
        # Unused slots are banked, but at most `burst` of them.
        slot = max(self._next, now - (self.burst - 1.0) * interval)
        self._next = slot + slots * interval
        return max(0.0, slot + (slots - 1) * interval - now)

    def hold_until(self, moment: float) -> None:
        """No slot before `moment` (a throttle gate closed until then); later reservations queue after it."""
        if self._before_hold is None:
            self._before_hold = self._next
        self._next = max(self._next, moment)

    def release_hold(self) -> None:
        """The gate opened before `hold_until`'s moment: slots are due again from now."""
        if self._before_hold is not None:
            self._next = max(self._before_hold, self._clock())
            self._before_hold = None

    def _settle_hold(self, now: float) -> None:
        if self._before_hold is not None and now >= self._next:
            self._before_hold = None  # the hold has passed

    async def acquire(self, slots: int = 1) -> None:
        """Wait for this caller's slot(s)."""
        delay = self.reserve(slots)
        if delay > 0:
            await asyncio.sleep(delay)
