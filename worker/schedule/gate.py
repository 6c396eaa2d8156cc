"""A throttle gate: a 429 (or 503 with Retry-After) closes the whole lane until its Retry-After has passed.

One caller learns about the throttling and every new send of the lane waits, instead of every in-flight
request discovering it separately. The pause is as long as the server asked, fractional seconds included.

A whole number of seconds is often a rounded-up wait (a token bucket refilling in 5 ms answers
`Retry-After: 1`), and a blunt second-long stall of the lane would waste most of it. So a closure may name
a *probe* time: then one request alone may go before the gate opens; if it succeeds the gate opens at
once, if it is refused the lane closes again (the caller doubles the probe interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


class ThrottleGate:
    """Closed until a moment in the monotonic clock; `wait` returns once it is open (or to one probe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open_at = 0.0
        self._probe_at: float | None = None
        self.probe_interval = 0.0
        self.probing = False
        self._opened: asyncio.Event | None = None
        self.paused_s = 0.0
        self.closures = 0

    @property
    def open_at(self) -> float:
        """The moment the gate opens (in the past when it is open)."""
        return self._open_at

    def close_for(self, seconds: float, probe_after: float | None = None, *, probe_refused: bool = False) -> float:
        """Close for `seconds` from now (never shortening a longer closure); return when it opens.

        With `probe_after`, one request may go alone that many seconds from now (see `wait`); refusals of
        requests that were in flight before never delay a probe already planned, a refused probe does.
        No time (`seconds` <= 0) is no closure.
        """
        now = self._clock()
        if seconds <= 0:
            return self._open_at
        until = now + seconds
        if until > self._open_at:
            if now >= self._open_at:  # a pause begins (refusals arriving during it only lengthen it)
                self.closures += 1
            self.paused_s += until - max(now, self._open_at)
            self._open_at = until
        if probe_refused:
            self.probing = False
            self._probe_at = None
        if probe_after is not None and not self.probing:
            planned = now + probe_after
            if self._probe_at is None or planned < self._probe_at:
                self.probe_interval = probe_after
                self._probe_at = planned
        if self._probe_at is not None and self._probe_at >= self._open_at:
            self._probe_at = None
        self._wake_waiters()  # they sleep towards the old moments
        return self._open_at

    @property
    def next_try(self) -> float:
        """The first moment a request may go: the probe's time when one is planned, else when it opens."""
        return self._open_at if self._probe_at is None else min(self._probe_at, self._open_at)

    def _wake_waiters(self) -> None:
        if self._opened is not None:
            self._opened.set()
            self._opened = None

    def is_open(self) -> bool:
        """True when sends may go now."""
        return self._clock() >= self._open_at

    async def wait(self) -> bool:
        """Return once the gate is open (False), or as the lane's one probe when its time has come (True)."""
        while (now := self._clock()) < self._open_at:
            probe_at = None if self.probing else self._probe_at
            if probe_at is not None and now >= probe_at:
                self.probing = True
                return True
            wake = self._open_at if probe_at is None else min(self._open_at, probe_at)
            if self._opened is None:
                self._opened = asyncio.Event()
            # a change (a probe's success, a new closure) wakes every waiter to look again
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._opened.wait(), wake - now)
        return False

    def probe_succeeded(self) -> None:
        """The probe went through: open now."""
        now = self._clock()
        if self._open_at > now:
            self.paused_s -= self._open_at - now
            self._open_at = now
        self.probing = False
        self._probe_at = None
        self._wake_waiters()

    def probe_failed(self) -> None:
        """The probe failed for another reason than a refusal: let another go after the same interval."""
        if self.probing:
            self.probing = False
            self._probe_at = self._clock() + self.probe_interval
