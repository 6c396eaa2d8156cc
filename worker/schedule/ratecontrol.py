"""Learn a lane's rate from Graph's signals: AIMD on the pacer's rate.

- Until the first throttling signal the lane is unpaced (or paced at the configured ceiling).
- The first 429 sets the rate to what was actually delivered lately, times `decrease`: while we over-send,
  successes arrive at the server's refill rate, so the delivered rate estimates the quota. Later 429s cut
  the current rate by `decrease` (AIMD).
  In-flight requests that come back 429 together are one event: at most one decrease per `hold_s`.
- `x-ms-throttle-limit-percentage` (sent past 80 % of the quota, as a fraction 0.8..1.8) stops growth, and
  cuts the rate a little when it keeps rising: slowing down *before* the 429.
- Otherwise the rate grows by `increase` (a fraction) once a second, up to the ceiling; after the first
  cut five times more slowly. Except when the first estimate came from less than a full window of
  history (a 429 in the first seconds: a server with a small burst answers 429 before its refill rate
  shows): then the rate ramps up by `ramp` a second until the next throttling signal, as TCP's slow
  start does, instead of crawling up from a far too low estimate.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from worker.schedule.pacer import Pacer

WINDOW_S = 5.0
HINT_THRESHOLD = 0.8


class DeliveryMeter:
    """Successes per second over the last `window_s` seconds (timestamps in a deque, trimmed as it goes).

    The window is long because a token bucket lets a client exceed the quota for a while (its burst): over
    several seconds of throttling, what gets through is the refill rate. Early on, the rate is taken over
    the time since the first success, but never less than one second (a first burst is not a rate).
    """

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._first: float | None = None

    def add(self) -> None:
        """Count one success now."""
        now = self._clock()
        if self._first is None:
            self._first = now
        self._stamps.append(now)
        self._trim(now)

    def count(self) -> int:
        """Successes within the window."""
        self._trim(self._clock())
        return len(self._stamps)

    def span(self) -> float:
        """The seconds `rate` divides by: the window, or the time since the first success (at least 1 s)."""
        if self._first is None:
            return self.window_s
        return min(self.window_s, max(1.0, self._clock() - self._first))

    def rate(self) -> float:
        """Successes per second over the window (or the time since the first success, at least 1 s)."""
        self._trim(self._clock())
        return len(self._stamps) / self.span()

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
        ramp: float = 0.25,
        hold_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pacer = pacer
        self.ceiling = ceiling
        self.floor = floor
        self.decrease = decrease
        self.increase = increase
        self.ramp = ramp
        self.hold_s = hold_s
        self._clock = clock
        self.meter = DeliveryMeter(clock=clock)
        self._last_step = clock()  # the growth cadence: one step per `hold_s`
        self._last_cut = float("-inf")  # 429s within `hold_s` of a cut are the same overload
        self._last_hint = 0.0
        self._cuts = 0
        self._ramping = False  # after a first estimate from a short history, until the next signal

    def on_success(self, throttle_fraction: float | None) -> None:
        """A 2xx: count it, and maybe adjust once per `hold_s`."""
        self.meter.add()
        now = self._clock()
        if now - self._last_step < self.hold_s:
            return
        self._last_step = now
        if now - self._last_cut < self.hold_s:
            return  # no growth right after a cut
        hint = throttle_fraction or 0.0
        rising = hint >= HINT_THRESHOLD and hint > self._last_hint + 0.01
        self._last_hint = hint
        rate = self.pacer.rate
        if rate is None:
            return  # unpaced until Graph first pushes back
        if rising:
            self._ramping = False
            self._set(rate * 0.97)
        elif hint < HINT_THRESHOLD:
            self._set(rate * (1.0 + self._growth_step()))

    def _growth_step(self) -> float:
        """Probe upwards; five times more gently once Graph has pushed back (we know we are close), unless
        that push came too early to tell where the quota is."""
        if self._ramping:
            return self.ramp
        return self.increase if self._cuts == 0 else self.increase / 5

    def on_throttled(self) -> None:
        """A 429 (or 503 with Retry-After): start pacing a little under the delivered rate, or slow down."""
        now = self._clock()
        if now - self._last_cut < self.hold_s:
            return  # the same overload, reported by several in-flight requests
        current = self.pacer.rate
        self._ramping = False
        if current is None:
            if self.meter.count() < 1:
                return  # unpaced and nothing delivered lately: no estimate yet; the throttle gate waits
            # The first estimate comes from what got through. After that, plain multiplicative decrease of
            # our own rate: the delivered rate is capped by our pacing and would only ratchet downwards.
            current = self.meter.rate()
            self._ramping = self.meter.span() < self.meter.window_s
        self._last_cut = now
        self._cuts += 1
        self._set(current * self.decrease)

    def _set(self, rate: float) -> None:
        if self.ceiling is not None:
            rate = min(rate, self.ceiling)
        self.pacer.rate = max(self.floor, rate)
