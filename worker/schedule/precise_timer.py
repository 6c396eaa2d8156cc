"""A timer that fires within a fraction of a millisecond, for pacers whose interval is a few milliseconds.

asyncio sleeps in `epoll_wait`, whose timeout is whole milliseconds rounded up: a timer set for 5.15 ms
fires at 6 ms or later. A pacer that never sends two requests closer than its interval (a bucket of one
request refuses the one that is) then runs 10-20 % under its rate at 200/s, and cannot pass ~900/s at all
(measured: `--rate 3000` gave 884/s). One daemon thread sleeps on a condition variable instead (a
futex with a nanosecond timeout: ~0.1 ms late) and wakes the event loop with `call_soon_threadsafe`.

Only short waits come here (`PRECISE_BELOW_S`); a longer one costs a millisecond in a hundred, and waits
on asyncio's own timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable

PRECISE_BELOW_S = 0.1  # a wait longer than this loses < 1 % to asyncio's millisecond: its timer will do


class PreciseHandle:
    """A pending call; `cancel()` before it fires and it never runs."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        """Forget the call (already queued on the loop: it is skipped there)."""
        self.cancelled = True


class _TimerThread:
    """One thread for the process: a heap of (moment, loop, callback), the earliest waited for."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, asyncio.AbstractEventLoop, Callable[[], None], PreciseHandle]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_at(self, loop: asyncio.AbstractEventLoop, when: float, callback: Callable[[], None]) -> PreciseHandle:
        handle = PreciseHandle()
        with self._wake:
            heapq.heappush(self._heap, (when, next(self._order), loop, callback, handle))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="patch-worker-pacer-timer", daemon=True)
                self._thread.start()
            self._wake.notify()
        return handle

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][4].cancelled:
                    if self._heap:
                        heapq.heappop(self._heap)
                        continue
                    self._wake.wait()
                when, _, loop, callback, handle = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue  # something earlier may have come in the meantime
                heapq.heappop(self._heap)
            _fire(loop, callback, handle)


def _fire(loop: asyncio.AbstractEventLoop, callback: Callable[[], None], handle: PreciseHandle) -> None:
    def run() -> None:
        if not handle.cancelled:
            callback()

    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing waits on it any more
        loop.call_soon_threadsafe(run)


_TIMER = _TimerThread()


def call_later(delay: float, callback: Callable[[], None]) -> asyncio.Handle | PreciseHandle:
    """Run `callback` on the running loop after `delay` seconds: precisely when the wait is short."""
    loop = asyncio.get_running_loop()
    if delay <= 0:
        return loop.call_soon(callback)
    if delay >= PRECISE_BELOW_S:
        return loop.call_later(delay, callback)
    return _TIMER.call_at(loop, time.monotonic() + delay, callback)
