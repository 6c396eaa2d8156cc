"""Wait for a condition instead of sleeping a fixed time: as fast as the event, as patient as `timeout`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def until(
    condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0, every: float = 0.02
) -> None:
    """Return once `await condition()` holds (an HTTP call, a Redis read); AssertionError naming `what` if it
    does not within `timeout` s. The sleep between two checks is the polling interval, not a wait for a state."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(every)  # the polling interval


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0, every: float = 0.01) -> None:
    """`until` for a condition that needs no await."""

    async def check() -> bool:
        return condition()

    await until(check, what, timeout, every)


async def logged(stream: asyncio.StreamReader, event: bytes, timeout: float = 30.0) -> bytes:
    """Read a process's log until a line names `event`; what was read (the rest stays for communicate())."""
    seen = bytearray()

    async def read() -> None:
        while event not in (line := await stream.readline()):
            assert line, f"the log ended without {event.decode()}: {bytes(seen[-2000:]).decode()}"
            seen.extend(line)
        seen.extend(line)

    await asyncio.wait_for(read(), timeout)
    return bytes(seen)
