"""Learn a lane's rate from Graph's signals: AIMD on the pacer's rate.

- Until the first throttling signal the lane is unpaced (or paced at the configured ceiling).
- A 429 sets the rate to what was actually delivered in the last second, times `decrease`: while we
  over-send, successes arrive at the server's refill rate, so the delivered rate is the quota's estimate.
  In-flight requests that come back 429 together are one event: at most one decrease per `hold_s`.
- `x-ms-throttle-limit-percentage` (sent past 80 % of the quota, as a fraction 0.8..1.8) stops growth, and
  cuts the rate a little when it keeps rising: slowing down *before* the 429.
- Otherwise the rate grows by `increase` (a fraction) once a second, up to the ceiling.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from worker.schedule.pacer import Pacer

WINDOW_S = 1.0
HINT_THRESHOLD = 0.8


class DeliveryMeter:
    """Successes in the last `window_s` seconds (timestamps in a deque, trimmed as it goes)."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._stamps: deque[float] = deque()

    def add(self) -> None:
        """Count one success now."""
        now = self._clock()
        self._stamps.append(now)
        self._trim(now)

    def rate(self) -> float:
        """Successes per second over the window."""
        self._trim(self._clock())
        return len(self._stamps) / self.window_s

    def _trim(self, now: float) -> None:
        horizon = now - self.window_s
        stamps = self._stamps
        while stamps and stamps[0] < horizon:
            stamps.popleft()


class RateLearner:
    """Moves a pacer's rate: down on throttling, up slowly while Graph is happy."""

    def __init__(
        self,
        pacer: Pacer,
        *,
        ceiling: float | None,
        floor: float = 0.1,
        decrease: float = 0.9,
        increase: float = 0.05,
        hold_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pacer = pacer
        self.ceiling = ceiling
        self.floor = floor
        self.decrease = decrease
        self.increase = increase
        self.hold_s = hold_s
        self._clock = clock
        self.meter = DeliveryMeter(clock=clock)
        self._last_change = clock()
        self._last_hint = 0.0

    def on_success(self, throttle_fraction: float | None) -> None:
        """A 2xx: count it, and maybe adjust once per `hold_s`."""
        self.meter.add()
        now = self._clock()
        if now - self._last_change < self.hold_s:
            return
        self._last_change = now
        hint = throttle_fraction or 0.0
        rising = hint >= HINT_THRESHOLD and hint > self._last_hint + 0.01
        self._last_hint = hint
        rate = self.pacer.rate
        if rate is None:
            return  # unpaced until Graph first pushes back
        if rising:
            self._set(rate * 0.97)
        elif hint < HINT_THRESHOLD:
            self._set(rate * (1.0 + self.increase))

    def on_throttled(self) -> None:
        """A 429 (or 503 with Retry-After): pace at the delivered rate, a little under it."""
        now = self._clock()
        current = self.pacer.rate
        if current is not None and now - self._last_change < self.hold_s:
            return  # the same overload, reported by several in-flight requests
        delivered = self.meter.rate()
        if delivered * self.meter.window_s < 1.0:
            return  # nothing delivered lately: no estimate; the throttle gate does the waiting
        self._last_change = now
        base = delivered if current is None else min(current, delivered)
        self._set(base * self.decrease)

    def _set(self, rate: float) -> None:
        if self.ceiling is not None:
            rate = min(rate, self.ceiling)
        self.pacer.rate = max(self.floor, rate)
