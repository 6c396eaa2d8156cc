"""A deadline for each attempt without a timer for each: one check per event loop every `TICK_S`.

Every request is bounded in time (its status and headers, then its body: see `worker.send.body`), so a
deadline is on every request's path. `asyncio.timeout` arms a timer per deadline and moves it once the
headers are in: two timers a request, each pushed onto and cancelled in the loop's heap, with a state
machine around them; at thousands of requests a second that was one of the largest costs of the worker
beside aiohttp itself. Here a deadline is an entry in a dict of its loop's watch, and a single timer,
armed only while some deadline is set, checks them all every `TICK_S` (no more than the connection
pool's size are in flight: 256 by default). A deadline fires up to `TICK_S` late, nothing for deadlines of
seconds. Otherwise it behaves as `asyncio.timeout`: the task is cancelled, and TimeoutError comes out of
the `async with` unless the task was also cancelled from outside.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

TICK_S = 0.05


class _Watch:
    """The deadlines set in one event loop, checked by one timer while any is set."""

    __slots__ = ("_due", "_timer", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._due: dict[Deadline, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def set(self, deadline: Deadline, when: float) -> None:
        self._due[deadline] = when
        if self._timer is None:
            self._timer = self.loop.call_at(self.loop.time() + TICK_S, self._check)

    def drop(self, deadline: Deadline) -> None:
        self._due.pop(deadline, None)

    def _check(self) -> None:
        now = self.loop.time()
        for deadline in [deadline for deadline, when in self._due.items() if when <= now]:
            del self._due[deadline]
            deadline.expire()
        self._timer = self.loop.call_at(now + TICK_S, self._check) if self._due else None


_local = threading.local()  # a thread runs one event loop at a time: its watch


def _watch_of(loop: asyncio.AbstractEventLoop) -> _Watch:
    watch: _Watch | None = getattr(_local, "watch", None)
    if watch is None or watch.loop is not loop:
        watch = _local.watch = _Watch(loop)
    return watch


class Deadline:
    """`with Deadline(seconds)` (or `async with`): TimeoutError once the deadline passes; `reschedule` moves
    it (None: no deadline). Only within a task, like `asyncio.timeout`. Entering and leaving wait for
    nothing, so the plain `with` spares each request two coroutines."""

    __slots__ = ("_cancelling", "_delay", "_expired", "_task", "_watch")

    def __init__(self, delay: float | None) -> None:
        self._delay = delay
        self._expired = False

    async def __aenter__(self) -> Deadline:
        return self.__enter__()

    def __enter__(self) -> Deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a Deadline is used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        loop = task.get_loop()
        self._watch = _watch_of(loop)
        if self._delay is not None:
            self._watch.set(self, loop.time() + self._delay)
        return self

    def reschedule(self, when: float | None) -> None:
        """Move the deadline to `when` (the loop's clock), or remove it; nothing once it has passed."""
        if self._expired:
            return
        if when is None:
            self._watch.drop(self)
        else:
            self._watch.set(self, when)

    def expire(self) -> None:
        """The deadline passed: cancel the task (the watch calls this)."""
        self._expired = True
        self._task.cancel()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._watch.drop(self)
        if self._expired and self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc
