"""A live progress bar on a TTY (rich) that counts jobs, refreshed a few times a second from counters.

done = results recorded (this run and, resumed, earlier ones); total = the input's lines, known once the
input is read through, estimated before that from the share of the file read so far (lines read x file
size / bytes read), unknown for stdin (then only done shows). Also: jobs/s, ETA, 429s and paused lanes.
The last frame is drawn from the final counts, so it matches the summary printed below it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from worker.record.summary import LaneStatus, RunSummary
from worker.schedule.lane_set import LaneSet

REFRESH_S = 0.25


class ReadPosition(Protocol):
    """How far the reader is: lines numbered so far, bytes consumed, the file's size, whether it is done."""

    @property
    def lines_read(self) -> int: ...

    @property
    def bytes_read(self) -> int: ...

    @property
    def total_bytes(self) -> int | None: ...

    @property
    def exhausted(self) -> bool: ...


def lane_status(lanes: LaneSet) -> LaneStatus:
    """The lanes' 429 count and paused lanes, for the progress bar."""
    every = list(lanes.lanes.values())
    return LaneStatus(
        throttled=sum(lane.throttled for lane in every),
        paused=tuple(f"{lane.name}/{lane.scope}" for lane in every if not lane.gate.is_open()),
    )


def expected_lines(position: ReadPosition) -> int | None:
    """The input's line count: exact once read through, else extrapolated from the bytes read; None for stdin."""
    if position.exhausted:
        return position.lines_read
    size, consumed = position.total_bytes, position.bytes_read
    if not size or not consumed:
        return None
    return max(position.lines_read, round(position.lines_read * size / consumed))


def progress_bar(
    summary: RunSummary, position: ReadPosition, lanes: Callable[[], LaneStatus], *, enabled: bool
) -> AbstractAsyncContextManager[None]:
    """Show progress on stderr while the run goes, when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        return nullcontext()
    return _live(summary, position, lanes)


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: jobs done, the expected total (None when unknown) and the text after the bar."""

    done: int
    total: int | None
    text: str


def frame_fields(summary: RunSummary, position: ReadPosition, lanes: LaneStatus) -> Frame:
    """One frame's figures, from the counters."""
    done, total = summary.total, expected_lines(position)
    elapsed = summary.elapsed_s
    rate = summary.sent_this_run / elapsed if elapsed > 0 else 0.0
    eta = "" if total is None or rate <= 0 else f"  ETA {timedelta(seconds=round(max(total - done, 0) / rate))}"
    counts = summary.by_status
    text = f"{done:,}/{total:,} jobs" if total is not None else f"{done:,} jobs"
    text += f"  {rate:,.1f}/s{eta}  ok {counts['succeeded']:,}"
    for status in ("failed", "rejected"):  # only when there are some: the line must fit 80 columns
        if counts[status]:
            text += f"  {status} {counts[status]:,}"
    if lanes.throttled:
        text += f"  429s {lanes.throttled:,}"
    if lanes.paused:
        text += f"  paused: {', '.join(lanes.paused)}"
    return Frame(done, total, text)


@asynccontextmanager
async def _live(summary: RunSummary, position: ReadPosition, lanes: Callable[[], LaneStatus]) -> AsyncIterator[None]:
    # imported here: a run whose stderr is no terminal (a container, a pipe) never draws a bar
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        BarColumn(bar_width=20),
        TextColumn("{task.fields[text]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = progress.add_task("run", total=None, text="")

    def draw(status: LaneStatus, *, last: bool = False) -> None:
        frame = frame_fields(summary, position, status)
        total = frame.done if last and position.exhausted and not summary.interrupted else frame.total
        progress.update(task, completed=frame.done, total=total, text=frame.text)

    async def refresh() -> None:
        while True:
            draw(lanes())
            await asyncio.sleep(REFRESH_S)

    with progress:
        updater = asyncio.create_task(refresh())
        try:
            yield
        finally:
            updater.cancel()
            draw(LaneStatus(throttled=lanes().throttled), last=True)  # the final counts, as the summary shows
            progress.stop_task(task)  # freeze the elapsed time
