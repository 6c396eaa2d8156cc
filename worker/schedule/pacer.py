"""A pacer: lets sends go evenly spaced at a rate that can change while callers wait.

Callers queue in FIFO order and one timer releases the head of the queue when its slot is due, with the
rate as it is *then*: a lane whose learned rate doubles speeds up for the callers already waiting, not
only for the ones that come after them (slots reserved ahead at the old rate would hold a lane at it for
as long as the queue is). Unused time is banked up to `burst` slots, so an idle lane may send a short
burst. A server limiting a *rate* is best met by pacing at that rate (measured against a token bucket:
99.9 % of the quota, no 429), not by pausing.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from worker.schedule import precise_timer

LATE_S = 0.002  # a slot due less than this before its grant was a late timer, not a banked slot
TIGHT_S = 0.002  # an interval shorter than this gets no wake-up of its own: several slots a wake-up, on schedule
JITTER_S = 0.0003  # a grant this late still counts from its slot: the precise timer's usual lateness (~0.25 ms)


WINDOW_SPREAD = 4.0  # a window's slots go this many times faster than its average rate, not all at once


class Pacer:
    """Hands out send slots `1/rate` apart; `rate=None` means unpaced; or `count` in any `seconds` (`window`)."""

    def __init__(self, rate: float | None, *, burst: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.burst = max(1.0, burst)
        self._last: float | None = None  # when the last slot was granted, and how many slots it took
        self._last_slots = 0
        self._hold = 0.0  # no slot before this moment (a throttle gate closed until then)
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._timer: asyncio.Handle | precise_timer.PreciseHandle | None = None
        self._timer_due = 0.0  # the slot the timer is set for
        # a virtual clock (tests) has only its loop's timers; the real one gets the sub-millisecond timer
        self._precise = clock is time.monotonic
        self._window: tuple[int, float] | None = None  # (count, seconds): at most count slots in any seconds
        self._window_log: deque[float] = deque()  # the last `count` slots granted, in window mode
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
        self._window = None  # a rate set is a rate: a window's pacing ends
        self._reschedule()

    @property
    def window(self) -> tuple[int, float] | None:
        """(count, seconds) while pacing a window's quota, else None."""
        return self._window

    def pace_window(self, count: int, seconds: float) -> None:
        """At most `count` slots in any `seconds`: a quota of "N per W" with W of seconds, met by N slots at
        each window's start rather than spread evenly (even pacing ends a run up to a window late: its last
        N go one by one across the last window). Within a window, slots go `WINDOW_SPREAD` times faster than
        the average rate, so the first of them is answered before the next leaves: a window begun too
        early (its length a guess) is refused one request, not `count`. Safe under a fixed window, a
        sliding one and a token bucket alike: none admits fewer than `count` in any `seconds`."""
        if count < 1 or seconds <= 0:
            raise ValueError("need count >= 1 and seconds > 0")
        self._rate = count / seconds  # the average: what the lane reports and learns from
        self._window = (count, seconds)
        self._window_log = deque(maxlen=count)
        self._reschedule()

    def _due(self, now: float) -> float:
        """When the next slot may be granted: one interval (at today's rate) after the last, less the banked burst."""
        if self._rate is None:
            return now
        if self._window is not None:
            return self._window_due(now)
        interval = 1.0 / self._rate
        after_last = float("-inf") if self._last is None else self._last + self._last_slots * interval
        floor = now - (self.burst - 1.0) * interval
        if self._tight():  # slots missed while a timer slept (a millisecond holds several) are still due
            floor = min(floor, now - LATE_S)
        return max(after_last, floor, self._hold)

    def _window_due(self, now: float) -> float:
        """A window's next slot: `WINDOW_SPREAD` times the average rate after the last, and one window after
        the `count`-th last."""
        assert self._window is not None
        count, seconds = self._window
        log = self._window_log
        spread = (
            float("-inf") if self._last is None else self._last + self._last_slots * seconds / (WINDOW_SPREAD * count)
        )
        window = log[0] + seconds if len(log) >= count else float("-inf")
        return max(spread, window, self._hold, now)  # never early: a window's slots count from when they go

    def hold_until(self, moment: float) -> None:
        """No slot before `moment` (a throttle gate closed until then)."""
        self._hold = max(self._hold, moment)
        self._reschedule()

    def release_hold(self) -> None:
        """The gate opened before `hold_until`'s moment: slots are due again from now."""
        self._hold = 0.0
        self._reschedule()

    def note_sent(self, slots: int = 1) -> None:
        """A send that did not wait for a slot (a throttled lane's probe) still takes one: the next waits."""
        self._grant(self._clock(), slots)
        self._reschedule()

    async def acquire(self, slots: int = 1) -> None:
        """Wait for this caller's slot(s). A $batch of n items takes n: Graph counts every item."""
        if self._rate is None:
            return
        if not self._waiters:
            now = self._clock()
            slot = self._due(now)
            if slot <= now:
                self._grant(slot, slots)
                return
        future = asyncio.get_running_loop().create_future()
        entry = (slots, future)
        self._waiters.append(entry)
        self._reschedule()
        try:
            await future
        except asyncio.CancelledError:
            if entry in self._waiters:
                self._waiters.remove(entry)
                self._reschedule()
            raise

    def _grant(self, slot: float, slots: int) -> None:
        # A timer wakes a little late: without a burst, the next slot counts from when this one really went,
        # so two sends are never closer than the interval (a bucket of one request refuses the one that is).
        # A banked slot (well in the past: an idle lane's burst) keeps its own time, and so does every slot
        # of a rate too fast for one wake-up per send (several go per wake-up, on average at the rate), and
        # every slot of a pacer allowed a burst: late wake-ups are made up, and it goes on average at its rate
        # (under load, lateness carried forward held lanes to 0.93-0.97 of their pace, measured).
        now = self._clock()
        keeps_time = self._tight() or self.burst > 1.0 or slot < now - LATE_S
        self._last = slot if keeps_time else max(slot, now - JITTER_S)
        self._last_slots = slots
        if self._window is not None:  # a window counts a slot from when it really went: never early
            self._window_log.extend([max(slot, now)] * slots)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tight(self) -> bool:
        return self._rate is not None and self._rate * TIGHT_S > 1.0

    def _release(self) -> None:
        """The timer: grant every waiter whose slot is due, then wait for the next."""
        self._timer = None
        now = self._clock()
        while self._waiters:
            slot = self._due(now)
            if slot > now:
                break
            slots, future = self._waiters.popleft()
            if not future.done():
                self._grant(slot, slots)
                future.set_result(None)
        self._reschedule()

    def _reschedule(self) -> None:
        if not self._waiters:
            self._cancel_timer()
            return
        now = self._clock()
        due = self._due(now)
        if self._timer is not None and due == self._timer_due:
            return  # another caller queued behind the head: the timer already waits for this slot
        self._cancel_timer()
        self._timer_due = due
        loop = asyncio.get_running_loop()
        if self._rate is None:
            self._timer = loop.call_soon(self._release)
            return
        delay = max(0.0, due - now)
        if self._precise and not self._tight():
            self._timer = precise_timer.call_later(delay, self._release)
        else:
            self._timer = loop.call_later(delay, self._release)
