"""An asyncio event loop on a virtual clock: a timer wait takes no real time.

The controller's behaviour over minutes of quota (5 requests per 10 s, a run of 110 s) is checked in
milliseconds: the loop never sleeps, it jumps its clock to the next timer. Only code that waits on
timers and futures may run on it (no sockets): the simulated Graph in `simulated_graph.py` is enough.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _JumpingSelector(selectors.SelectSelector):
    """A selector that, instead of sleeping for `timeout`, moves the virtual clock forward by it."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("deadlock: nothing is scheduled and nothing can wake the loop")
        if timeout > 0:
            self._clock[0] += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """`time()` is virtual; sleeping advances it instantly."""

    def __init__(self, start: float = 1000.0) -> None:
        self._virtual = [start]
        super().__init__(_JumpingSelector(self._virtual))

    def time(self) -> float:
        """The virtual monotonic clock."""
        return self._virtual[0]


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()
