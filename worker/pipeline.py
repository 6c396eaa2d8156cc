"""Wires the stages: source -> parse + validate -> schedule + send -> record.

Each lane (tenant and throttling scope: `Job.lane`) gets a bounded queue and up to `workers_per_lane` workers:
one task per line would cost hundreds of MB on big inputs, and one shared pool would let a throttled lane
occupy every worker. Workers are started as jobs are queued and exit when their lane's queue is empty, and an
empty lane's queue is dropped: with thousands of tenants, a lane costs memory only while it has work (5,000
tenants with a full pool each took 418 MB). Past `max_workers` in all, a lane gets no worker beyond its first:
every lane keeps going, and thousands of tenants do not mean hundreds of thousands of waiting tasks.
Rejected lines go straight to the recorder.

A slow or paused lane must not hold up the others, and nothing may pile up in memory. When a lane's
queue (`LANE_BUFFER` jobs) is full the reader waits for room, but at most `BEHIND_AFTER_S`: a lane that
frees no slot in that time (paced at a low rate, or paused by a Retry-After) is *behind*, and while it
stays full its lines are only noted in a bitmap (one bit per line) and the reader reads on, so every
other lane gets its jobs. Once the input is read, it is read again (`reread`) for the noted lines only,
by the same rule (a lane still full keeps its lines for one more reading), until every noted line is
queued. A busy lane frees slots far faster, so a one-tenant run never reads twice. An input that cannot
be read twice (stdin) makes the reader wait for a full lane instead.

A read error (a truncated gzip, say) ends the reading only: the jobs already queued are still sent and
recorded, then the error is raised (exit 2), so nothing Graph applied is left without its result line.
The second reading sends only the very bytes the first one saw: a CRC-32 of each deferred line (4 bytes
a line) is kept and compared, and `reread` may refuse a file whose identity changed. A changed input
stops the run with InputError; each deferred line not sent by then gets a `not_sent` failed result.

Stopping (`stop` set, e.g. by SIGTERM): the reader stops, workers take no new job, jobs in flight get
`grace_s` to finish and be recorded; after that they are cancelled. Jobs never started have no result
line, so a resumed run sends them.

Holding (`hold` gives an outcome for a job, e.g. `not_sent` once a systemic failure halted its lane): the
reader reads on, and a worker records that outcome instead of sending the job; held jobs leave the queues
at once, so every line of the input still gets its result.
"""

from __future__ import annotations

import asyncio
import zlib
from array import array
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import structlog

from worker.answers import Execute
from worker.errors import InputError
from worker.jobs import ErrorInfo, Job, LaneKey, Outcome, Rejected
from worker.record.ledger import LineBitmap
from worker.record.recorder import Recorder

log = structlog.get_logger("worker.pipeline")

Parse = Callable[[bytes, int], Job | Rejected | None]
Hold = Callable[[Job], Outcome | None]

LANE_BUFFER = 512
REFILL = 32
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


class LineSource(Protocol):
    """Yields (line number, raw line) pairs lazily."""

    def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        """The lines of the input, in order."""
        ...


class LaneQueue(asyncio.Queue[Job]):
    """A lane's bounded queue that tells a waiting reader when `REFILL` slots are free.

    The reader is usually faster than the lane, so it finds the queue full at nearly every job; waking it
    once `REFILL` slots are free lets it queue that many per wake-up (one wait per `REFILL` jobs instead of
    two tasks per job), while a refill stays short enough (well under a millisecond of parsing) not to
    delay the responses the event loop is waiting for.
    """

    def __init__(self, maxsize: int, lane: LaneKey) -> None:
        super().__init__(maxsize)
        self.low_water = maxsize - min(REFILL, maxsize)
        self.room = asyncio.Event()
        self.lane = lane
        self.workers = 0  # running workers of this lane

    def get_nowait(self) -> Job:
        """Take a job (`get` ends here too); with `REFILL` slots free, wake the reader if it waits."""
        job = super().get_nowait()
        if self.qsize() <= self.low_water:
            self.room.set()
        return job


class ClosableLineSource(LineSource, Protocol):
    """A line source that holds a file until closed."""

    def close(self) -> None:
        """Release the input."""
        ...


class Pipeline:
    """One run over one source."""

    def __init__(
        self,
        *,
        source: LineSource,
        parse: Parse,
        execute: Execute | None,
        recorder: Recorder,
        workers_per_lane: int,
        skip: Callable[[int], bool] | None = None,
        grace_s: float = 25.0,
        stop: asyncio.Event | None = None,
        reread: Callable[[], ClosableLineSource] | None = None,
        hold: Hold | None = None,
        max_workers: int | None = None,
    ) -> None:
        self._source = source
        self._parse = parse
        self._execute = execute
        self._recorder = recorder
        self._workers_per_lane = workers_per_lane
        self._max_workers = max_workers or 1 << 30
        self._skip = skip
        self._grace_s = grace_s
        self._reread = reread
        self._hold = hold
        self.stop = stop or asyncio.Event()
        self.valid_jobs = 0
        self.skipped = 0
        self.in_flight = 0
        self.abandoned = 0
        self.deferred = 0
        self._behind: set[LaneKey] = set()
        self._queues: dict[LaneKey, LaneQueue] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._deferred_crc = array("I")  # CRC-32 of each deferred line, in line order
        self._last_deferred = 0
        self._resent = 0  # deferred lines queued by a later reading
        self._queued_again = LineBitmap()  # ... which ones

    async def run(self) -> None:
        """Process the source (or until `stop`); return when every started job is recorded or abandoned."""
        try:
            try:
                await self._feed()
            except InputError as exc:  # the reading ends; what was queued is still sent and recorded
                if self._failure is None:
                    self._failure = exc
            await self._finish()
        finally:
            for worker in self._workers:
                worker.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
        if self._failure is not None:
            raise self._failure

    def _queue(self, lane: LaneKey) -> LaneQueue:
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = LaneQueue(max(LANE_BUFFER, 2 * self._workers_per_lane), lane)
        return queue

    def _enqueue(self, queue: LaneQueue, job: Job) -> None:
        """Queue a job (the queue has room); start one more worker for its lane while under the lane's pool
        size and `max_workers` in all (a lane's first worker always starts)."""
        queue.put_nowait(job)
        if queue.workers < self._workers_per_lane and (not queue.workers or len(self._workers) < self._max_workers):
            queue.workers += 1
            worker = asyncio.create_task(self._work(queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    async def _feed(self) -> None:
        deferred = LineBitmap() if self._reread is not None and self._execute is not None else None
        try:
            if await self._read_first(deferred) and self.deferred and self._reread is not None and deferred:
                await self._feed_deferred(self._reread, deferred)
        except InputError as exc:  # deferred lines that will never be sent get their result now
            if deferred is not None and self.deferred:
                self._not_sent(deferred, f"not sent: {exc}")
            raise

    async def _read_first(self, deferred: LineBitmap | None) -> bool:
        """The first reading: every line queued, rejected, skipped or deferred; False on stop."""
        async for line_no, raw in self._source.lines():
            if self.stop.is_set():
                return False
            job = self._job_of(line_no, raw)
            if job is None or self._execute is None:
                continue
            if deferred is None:
                queued = await self._put(self._queue(job.lane), job)
            else:
                queued = await self._put_or_defer(job, raw, deferred)
            if not queued:
                return False
        return True

    def _job_of(self, line_no: int, raw: bytes) -> Job | None:
        """The line's job; None for a line done before (resume), a blank line or a rejected one (recorded)."""
        if self._skip is not None and self._skip(line_no):
            self.skipped += 1
            return None
        parsed = self._parse(raw, line_no)
        if parsed is None:
            return None
        if isinstance(parsed, Rejected):
            self._recorder.record(Outcome.rejected(parsed))
            return None
        self.valid_jobs += 1
        return parsed

    async def _put_or_defer(self, job: Job, raw: bytes, deferred: LineBitmap) -> bool:
        """Queue the job, or note its line for the second reading when its lane is behind; False on stop."""
        queue, lane = self._queue(job.lane), job.lane
        if not queue.full():
            self._behind.discard(lane)  # caught up
            self._enqueue(queue, job)
            return True
        if lane not in self._behind and await self._put(queue, job, patience=BEHIND_AFTER_S):
            return True
        if self.stop.is_set():
            return False
        if lane not in self._behind:
            self._behind.add(lane)
            log.info(
                "lane.behind",
                lane=lane[0],
                scope=lane[1],
                hint="reading on for the other lanes; its lines are read again later",
            )
        deferred.add(job.line)
        self._deferred_crc.append(zlib.crc32(raw))
        self.deferred += 1
        self._last_deferred = job.line
        return True

    async def _feed_deferred(self, reread: Callable[[], ClosableLineSource], deferred: LineBitmap) -> None:
        """Only the lines left for a full lane, each the same bytes as before, in as many readings as it takes.

        A reading waits for room in a lane at most `BEHIND_AFTER_S`, as the first did; a lane still full
        keeps its lines for the next reading. Waiting on one full lane instead would hand the other lanes
        their lines at its pace: 4 tenants sharing an app-wide limit unequally went at 4 x the slowest.
        Between readings the reader waits for room in a lane that still has lines.
        """
        log.info("run.reading_deferred", lines=self.deferred)
        while self._resent < self.deferred and not self.stop.is_set():
            waiting = await self._read_deferred_once(reread(), deferred)
            if waiting and not await self._room_in_any(waiting):
                return

    async def _read_deferred_once(self, source: ClosableLineSource, deferred: LineBitmap) -> set[LaneKey]:
        """One reading: queue each deferred line not yet queued whose lane has room; the lanes still full."""
        full: set[LaneKey] = set()
        seen = 0
        try:
            async for line_no, raw in source.lines():
                if self.stop.is_set():
                    return full
                if line_no not in deferred:
                    continue
                seen += 1
                if line_no in self._queued_again:
                    continue
                if zlib.crc32(raw) != self._deferred_crc[seen - 1]:
                    raise InputError(f"the input changed during the run: line {line_no} is not what it was")
                parsed = self._parse(raw, line_no)  # valid the first time: the same bytes are valid again
                if not isinstance(parsed, Job):
                    continue
                queue = self._queue(parsed.lane)
                if parsed.lane in full or not await self._put(queue, parsed, patience=BEHIND_AFTER_S):
                    full.add(parsed.lane)
                    continue
                self._queued_again.add(line_no)
                self._resent += 1
        finally:
            source.close()
        if seen < self.deferred:
            raise InputError(f"the input changed during the run: it ends before line {self._last_deferred}")
        return full

    async def _room_in_any(self, lanes: set[LaneKey]) -> bool:
        """Wait until one of these lanes' queues has room again (True), or the run is stopped (False)."""
        queues = [self._queue(lane) for lane in lanes]
        if all(queue.full() for queue in queues):
            await self._wait_for_room(queues)
        return not self.stop.is_set()

    async def _wait_for_room(self, queues: list[LaneQueue], patience: float | None = None) -> None:
        """Until one of these queues has `REFILL` slots free, `stop` is set, or `patience` seconds have passed."""
        for queue in queues:
            queue.room.clear()
        waits = {asyncio.create_task(queue.room.wait()) for queue in queues}
        waits.add(asyncio.create_task(self.stop.wait()))
        try:
            await asyncio.wait(waits, timeout=patience, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _not_sent(self, deferred: LineBitmap, message: str) -> None:
        """A `not_sent` failed result for each deferred line not queued again."""
        error = ErrorInfo(kind="not_sent", message=message)
        for line in range(1, self._last_deferred + 1):
            if line in deferred and line not in self._queued_again:
                self._recorder.record(not_sent_outcome(line, error))

    async def _put(self, queue: LaneQueue, job: Job, patience: float | None = None) -> bool:
        """Queue a job for its lane; False when `stop` came first (a full lane must not hold up a drain)
        or not one slot was freed within `patience` seconds."""
        if queue.full():  # until REFILL slots are free, or `patience` (then any free slot will do)
            await self._wait_for_room([queue], patience)
            if self.stop.is_set() or queue.full():
                return False
        self._enqueue(queue, job)
        return True

    async def _finish(self) -> None:
        """Wait for queued work; once stopped, give jobs in flight `grace_s` more."""
        joined: asyncio.Future[Any] = asyncio.gather(*(queue.join() for queue in self._queues.values()))
        stopped: asyncio.Future[Any] = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({joined, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not joined.done():
                await asyncio.wait_for(joined, self._grace_s)
        except TimeoutError:
            self.abandoned = self.in_flight
            log.warning("run.grace_expired", graceS=self._grace_s, abandoned=self.abandoned)
        finally:
            stopped.cancel()
            joined.cancel()

    async def _work(self, queue: LaneQueue) -> None:
        """Run the lane's jobs until its queue is empty; the last worker out drops the empty queue."""
        execute = self._execute
        assert execute is not None  # workers exist only when sending
        try:
            while not queue.empty():
                job = queue.get_nowait()
                try:
                    if not self.stop.is_set():  # once stopped: not sent, no result line, a resumed run sends it
                        await self._run_job(execute, job)
                finally:
                    queue.task_done()
        finally:
            queue.workers -= 1
            if not queue.workers and queue.empty() and self._queues.get(queue.lane) is queue:
                del self._queues[queue.lane]

    async def _run_job(self, execute: Execute, job: Job) -> None:
        try:
            if self._hold is not None and (held := self._hold(job)) is not None:
                self._recorder.record(held)  # not sent: its lane is halted
                return
            self.in_flight += 1
            try:
                outcome = await execute(job)
            finally:
                self.in_flight -= 1
            self._recorder.record(outcome)
        except Exception as exc:  # e.g. results cannot be written: stop the whole run, lose nothing
            if self._failure is None:
                self._failure = exc
            self.stop.set()
