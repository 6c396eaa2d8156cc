"""A live progress bar on a TTY (rich), refreshed from counters a few times a second, not per job."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from worker.record.summary import RunSummary

REFRESH_S = 0.25


def progress_bar(
    summary: RunSummary, bytes_read: Callable[[], int], total_bytes: int | None, *, enabled: bool
) -> AbstractAsyncContextManager[None]:
    """Show progress on stderr while the run goes, when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        return nullcontext()
    return _live(summary, bytes_read, total_bytes)


@asynccontextmanager
async def _live(summary: RunSummary, bytes_read: Callable[[], int], total_bytes: int | None) -> AsyncIterator[None]:
    progress = Progress(
        TextColumn("[bold]patch-worker"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TransferSpeedColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = progress.add_task("run", total=total_bytes, counts="")

    async def refresh() -> None:
        while True:
            counts = summary.by_status
            progress.update(
                task,
                completed=bytes_read(),
                counts=f"ok {counts['succeeded']}  failed {counts['failed']}  rejected {counts['rejected']}",
            )
            await asyncio.sleep(REFRESH_S)

    with progress:
        updater = asyncio.create_task(refresh())
        try:
            yield
        finally:
            updater.cancel()
            progress.update(task, completed=total_bytes or bytes_read())
