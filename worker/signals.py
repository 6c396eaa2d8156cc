"""Two-step stop on SIGINT/SIGTERM, shared by `run` and `serve`.

The first signal sets `stop`: the caller drains (jobs in flight get their grace period). The second
stops at once by cancelling the task that entered the block.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog

log = structlog.get_logger("worker.signals")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(
    stop: asyncio.Event, event_prefix: str, on_first: Callable[[], None] | None = None
) -> Iterator[None]:
    """First SIGINT/SIGTERM: `on_first()`, then set `stop`. Second: cancel the current task.

    Logs `<event_prefix>.stopping` and `<event_prefix>.aborting` (e.g. run.stopping, service.aborting).
    """
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning(f"{event_prefix}.aborting", signal=name)
            if main is not None:
                main.cancel()
            return
        if on_first is not None:
            on_first()
        log.warning(f"{event_prefix}.stopping", signal=name, hint="send again to stop at once")
        stop.set()

    for signum in SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        yield
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)
