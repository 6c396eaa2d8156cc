"""Adaptive concurrency: an AIMD limit on requests in flight, between a floor and a ceiling.

Slow start (a lane that knows nothing of its quota yet): requests go in rounds, 2 then 4, 8, 16, then 64,
... up to the ceiling, each round only once the previous one has completed with no sign of overload.
Rounds double while small; from `SLOW_START_FAST_FROM` on, a round whose answers came as fast as the
best one (the server queues nothing) is followed by one `SLOW_START_GROWTH` times as large. So a small
quota (5 requests per 10 s) is met by a handful of requests and at most a round's worth are refused,
while an unthrottled lane reaches full concurrency (64) within four round trips, not five: each is time
an unthrottled run loses (about 1 % of a 20,000-job run at 20 ms, measured: `bench.run --only slowstart`).
Growing faster sooner (x4 from a round of 4 or 8) drains small token buckets in one burst: more 429s
and longer runs in tests/schedule/test_controller_shapes.py.

Back off (halve) on 5xx and timeouts (a 429 is the pacer's: it limits a rate, not requests in flight);
grow by one after a full window of successes while latency stays near the best seen (growing further
once latency rises only queues requests at the server). Requests already in flight when the limit was
cut report the same overload: only a request sent after the last cut can cut again, so a burst of 5xx
halves the limit once, not down to the floor.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

SLOW_START_WINDOW = 2
SLOW_START_GROWTH = 4  # the next round after one of at least SLOW_START_FAST_FROM with flat latency
SLOW_START_FAST_FROM = 16


class AdaptiveLimit:
    """A semaphore whose size moves between `minimum` and `maximum`."""

    def __init__(
        self,
        *,
        minimum: int,
        maximum: int,
        slow_start: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError("need 1 <= minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self._clock = clock
        # slow start: a few requests first, doubling with each full window of successes, until the first
        # sign of overload (a small quota is then met by a handful of requests, not by `maximum` at once)
        self.slow_start = slow_start
        self.limit = min(maximum, max(minimum, SLOW_START_WINDOW)) if slow_start else maximum
        self.in_flight = 0
        self._round_sent = 0  # slow start: requests sent in this round, and completed
        self._round_done = 0
        self._round_flat = True  # slow start: no success of this round was slower than the best seen allows
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._successes = 0
        self._best_latency: float | None = None
        self._last_cut = float("-inf")

    def try_acquire(self) -> bool:
        """Take a free slot now if one is free and nobody is waiting for it (the common case needs no await)."""
        if self._waiters or self._full():
            return False
        self.in_flight += 1
        self._round_sent += 1
        return True

    async def acquire(self) -> None:
        """Wait for a free slot."""
        while self._full():
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
        self._round_sent += 1

    def _full(self) -> bool:
        return self.in_flight >= self.limit or (self.slow_start and self._round_sent >= self.limit)

    def release(self) -> None:
        """Give a slot back and wake a waiter if the limit allows; in slow start, maybe begin the next round."""
        self.in_flight -= 1
        if self.slow_start:
            self._round_done += 1
            if self._round_done >= self.limit:
                fast = self._round_flat and self.limit >= SLOW_START_FAST_FROM
                growth = SLOW_START_GROWTH if fast else 2
                self._round_sent = self._round_done = 0
                self._round_flat = True
                self.limit = min(self.maximum, self.limit * growth)
                self.slow_start = self.limit < self.maximum
        self._wake()

    def _wake(self) -> None:
        free = self.limit - max(self.in_flight, self._round_sent if self.slow_start else 0)
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def on_success(self, latency_s: float) -> None:
        """Additive increase: +1 after `limit` successes while latency is flat (slow start grows in `release`)."""
        best = self._best_latency
        self._best_latency = latency_s if best is None else min(best, latency_s)
        if best is not None and latency_s > 2.0 * best + 0.005:
            self._round_flat = False
            return  # latency is rising: more concurrency would only queue at the server
        if self.slow_start:
            return
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self._successes = 0
            self.limit += 1
            self._wake()

    def on_throttled(self) -> None:
        """A 429: the pacer governs the rate from now on, so slow start ends at full concurrency.

        A quota limits a rate, not requests in flight: cutting concurrency on a 429 would cap a paced lane
        at limit / round trip, far below its quota when Graph answers slowly.
        """
        if self.slow_start:
            self.slow_start = False
            self.limit = self.maximum
            self._wake()

    def on_overload(self, sent_at: float) -> None:
        """Multiplicative decrease on 503 or a timeout of a request sent at `sent_at` (monotonic)."""
        if sent_at <= self._last_cut:
            return  # in flight before the last cut: the same overload
        self.slow_start = False
        self._last_cut = self._clock()
        self._successes = 0
        self.limit = max(self.minimum, self.limit // 2)
