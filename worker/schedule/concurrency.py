"""Adaptive concurrency: an AIMD limit on requests in flight, between a floor and a ceiling.

Back off (halve) on 429, 503 and timeouts; grow by one after a full window of successes while latency
stays near the best seen (growing further once latency rises only queues requests at the server).
Requests already in flight when the limit was cut report the same overload: only a request sent after
the last cut can cut again, so a burst of 429s halves the limit once, not down to the floor.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class AdaptiveLimit:
    """A semaphore whose size moves between `minimum` and `maximum`."""

    def __init__(self, *, minimum: int, maximum: int, initial: int | None = None) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError("need 1 <= minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self.limit = min(maximum, max(minimum, initial if initial is not None else maximum))
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._successes = 0
        self._best_latency: float | None = None
        self._last_cut = float("-inf")

    async def acquire(self) -> None:
        """Wait for a free slot."""
        while self.in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # we were handed a slot we will not use: pass it on
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.in_flight += 1

    def release(self) -> None:
        """Give a slot back and wake a waiter if the limit allows."""
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def on_success(self, latency_s: float) -> None:
        """Additive increase: +1 after `limit` successes while latency is flat."""
        best = self._best_latency
        self._best_latency = latency_s if best is None else min(best, latency_s)
        if best is not None and latency_s > 2.0 * best + 0.005:
            return  # latency is rising: more concurrency would only queue at the server
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self._successes = 0
            self.limit += 1
            self._wake()

    def on_overload(self, sent_at: float) -> None:
        """Multiplicative decrease on 429, 503 or timeout of a request sent at `sent_at` (monotonic)."""
        if sent_at <= self._last_cut:
            return  # in flight before the last cut: the same overload
        self._last_cut = time.monotonic()
        self._successes = 0
        self.limit = max(self.minimum, self.limit // 2)
