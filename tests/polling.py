"""Wait for a condition instead of sleeping a fixed time: as fast as the event, as patient as `timeout`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0, every: float = 0.01) -> None:
    """Return once `condition()` holds; AssertionError naming `what` if it does not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(every)
