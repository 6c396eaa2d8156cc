"""The lines of a lane that is behind: noted, and queued by a later reading of the input.

A slow or paused lane must not hold up the others, and nothing may pile up in memory. When a lane's
queue (`LANE_BUFFER` jobs) is full the reader waits for room, but at most `BEHIND_AFTER_S`, and not at all
while another lane's queue is under half full: a lane that frees no slot in that time (paced at a low rate,
or paused by a Retry-After), or whose wait would starve another lane, is *behind*, and while it
stays full its lines are only noted in a bitmap (one bit per line) and the reader reads on, so every
other lane gets its jobs. Once the input is read, it is read again (`reread`) for the noted lines only,
by the same rule (a lane still full keeps its lines for one more reading), until every noted line is
queued. A busy lane frees slots far faster, so a one-tenant run never reads twice. An input that cannot
be read twice (stdin) makes the reader wait for a full lane instead.

The second reading sends only the very bytes the first one saw: a CRC-32 of each deferred line (4 bytes
a line) is kept and compared, and `reread` may refuse a file whose identity changed. A changed input
stops the run with InputError; each deferred line not sent by then gets a `not_sent` failed result.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable

import structlog

from worker.errors import InputError
from worker.jobs import ErrorInfo, Job, LaneKey, Outcome
from worker.pipeline.lane_pools import LanePools
from worker.pipeline.protocols import ClosableLineSource, Parse
from worker.record.ledger import LineBitmap
from worker.record.recorder import Recorder

log = structlog.get_logger("worker.pipeline")

BEHIND_AFTER_S = 0.2


def not_sent_outcome(line: int, error: ErrorInfo) -> Outcome:
    """The result of a line that was never sent: `failed`, error kind `not_sent` (its job id: the line)."""
    return Outcome(
        job_id=str(line),
        line=line,
        status="failed",
        http_status=None,
        attempts=0,
        elapsed_ms=0.0,
        client_request_id=None,
        error=error,
    )


class Deferral:
    """The deferred lines of one run (`count` of them) and the later readings that queue them."""

    def __init__(
        self,
        lanes: LanePools,
        parse: Parse,
        recorder: Recorder,
        reread: Callable[[], ClosableLineSource],
    ) -> None:
        self._lanes = lanes
        self._parse = parse
        self._recorder = recorder
        self._reread = reread
        self.count = 0
        self._lines = LineBitmap()  # the deferred lines
        self._behind: set[LaneKey] = set()
        self._crc = array("I")  # CRC-32 of each deferred line, in line order
        self._last = 0  # the last deferred line
        self._resent = 0  # deferred lines queued by a later reading
        self._queued_again = LineBitmap()  # ... which ones

    def put_now(self, job: Job) -> bool:
        """Queue the job when its lane's queue has room (True): the common case, without a coroutine a line."""
        lanes = self._lanes
        queue = lanes.queue(job.lane)
        if queue.full():
            return False
        self._behind.discard(job.lane)  # caught up
        lanes.enqueue(queue, job)
        return True

    async def put_or_defer(self, job: Job, line_no: int, raw: bytes) -> bool:
        """When `put_now` found its lane's queue full: queue the job once there is room, or note its line for
        the second reading when its lane is behind; False on stop."""
        lanes = self._lanes
        queue, lane = lanes.queue(job.lane), job.lane
        waits = lane not in self._behind and not lanes.hungry_besides(lane)
        if waits and await lanes.put(queue, job, patience=BEHIND_AFTER_S):
            return True
        if lanes.stop.is_set():
            return False
        if lane not in self._behind:
            self._behind.add(lane)
            log.info(
                "lane.behind",
                lane=lane[0],
                scope=lane[1],
                hint="reading on for the other lanes; its lines are read again later",
            )
        self._lines.add(line_no)
        self._crc.append(zlib.crc32(raw))
        self.count += 1
        self._last = line_no
        return True

    async def read_again(self) -> None:
        """Only the lines left for a full lane, each the same bytes as before, in as many readings as it takes.

        A reading waits for room in a lane at most `BEHIND_AFTER_S`, as the first did; a lane still full
        keeps its lines for the next reading. Waiting on one full lane instead would hand the other lanes
        their lines at its pace: 4 tenants sharing an app-wide limit unequally went at 4 x the slowest.
        Between readings the reader waits for room in a lane that still has lines.
        """
        log.info("run.reading_deferred", lines=self.count)
        while self._resent < self.count and not self._lanes.stop.is_set():
            waiting = await self._read_once(self._reread())
            if waiting and not await self._lanes.room_in_any(waiting):
                return

    async def _read_once(self, source: ClosableLineSource) -> set[LaneKey]:
        """One reading: queue each deferred line not yet queued whose lane has room; the lanes still full."""
        lanes = self._lanes
        full: set[LaneKey] = set()
        seen = 0
        try:
            async for line_no, raw in source.lines():
                if lanes.stop.is_set():
                    return full
                if line_no not in self._lines:
                    continue
                seen += 1
                if line_no in self._queued_again:
                    continue
                if zlib.crc32(raw) != self._crc[seen - 1]:
                    raise InputError(f"the input changed during the run: line {line_no} is not what it was")
                parsed = self._parse(raw, line_no)  # valid the first time: the same bytes are valid again
                if not isinstance(parsed, Job):
                    continue
                queue = lanes.queue(parsed.lane)
                if parsed.lane in full or not await lanes.put(queue, parsed, patience=BEHIND_AFTER_S):
                    full.add(parsed.lane)
                    continue
                self._queued_again.add(line_no)
                self._resent += 1
        finally:
            source.close()
        if seen < self.count:
            raise InputError(f"the input changed during the run: it ends before line {self._last}")
        return full

    def not_sent(self, message: str) -> None:
        """A `not_sent` failed result for each deferred line not queued again."""
        error = ErrorInfo(kind="not_sent", message=message)
        for line in range(1, self._last + 1):
            if line in self._lines and line not in self._queued_again:
                self._recorder.record(not_sent_outcome(line, error))
