"""The event loop a command runs on: uvloop when it is installed, else asyncio's own.

uvloop (`pip install 'patch-worker[fast]'`, and in the container image) takes up to a few per cent off
the CPU each job costs (bench: `uv run python -m bench.run --only b`); the behaviour is the same on
either loop.
`event_loop: asyncio` (PATCH_WORKER_EVENT_LOOP=asyncio) forces the standard loop, to compare or to rule
uvloop out while debugging.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

from worker.errors import ConfigError

EventLoopChoice = Literal["auto", "uvloop", "asyncio"]
T = TypeVar("T")


def loop_factory(choice: EventLoopChoice) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor for "auto" (when installed) and "uvloop"; None means asyncio's default."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(
                "event_loop is uvloop but uvloop is not installed: pip install 'patch-worker[fast]'"
            ) from None
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: EventLoopChoice = "auto") -> T:
    """`asyncio.run(main)` on the chosen loop."""
    try:
        factory = loop_factory(choice)
    except ConfigError:
        main.close()  # never started: no "coroutine was never awaited" warning on top of the error
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def running_loop_name() -> str:
    """ "uvloop" or "asyncio": which loop this coroutine runs on (for the start-up log line)."""
    module = type(asyncio.get_running_loop()).__module__
    return module.split(".", 1)[0]


@asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run `work` (a loop that runs until cancelled) for as long as the block does; cancelled and awaited
    on the way out, so no task outlives what it serves."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
