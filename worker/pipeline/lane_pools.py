"""Each lane's queue and its workers, for one pipeline run.

Each lane (tenant and throttling scope: `Job.lane`) gets a bounded queue and up to `workers_per_lane` workers:
one task per line would cost hundreds of MB on big inputs, and one shared pool would let a throttled lane
occupy every worker. Workers are started as jobs are queued and exit when their lane's queue is empty, and an
empty lane's queue is dropped: with thousands of tenants, a lane costs memory only while it has work (5,000
tenants with a full pool each took 418 MB). Past `max_workers` in all, a lane gets no worker beyond its first:
every lane keeps going, and thousands of tenants do not mean hundreds of thousands of waiting tasks.

Stopping (`stop` set): workers take no new job, jobs in flight get `grace_s` to finish and be recorded; after
that they are cancelled. Holding (`hold` gives an outcome for a job): a worker records that outcome instead of
sending the job. A job that cannot be recorded stops the whole run (`failure`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from worker.answers import Execute
from worker.jobs import Job, LaneKey
from worker.pipeline.protocols import Hold
from worker.record.recorder import Recorder

log = structlog.get_logger("worker.pipeline")

LANE_BUFFER = 512
REFILL = 32
HUNGRY_S = 1.0  # a lane given a line this recently may still be given more


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
        self.last_put = 0.0  # when a job was last queued (time.monotonic)

    def get_nowait(self) -> Job:
        """Take a job (`get` ends here too); with `REFILL` slots free, wake the reader if it waits."""
        job = super().get_nowait()
        if self.qsize() <= self.low_water:
            self.room.set()
        return job


class LanePools:
    """The lanes' queues and workers of one run; `failure` is the first error that stopped it."""

    def __init__(
        self,
        *,
        execute: Execute | None,
        recorder: Recorder,
        workers_per_lane: int,
        max_workers: int,
        grace_s: float,
        stop: asyncio.Event,
        hold: Hold | None,
    ) -> None:
        self._execute = execute
        self._recorder = recorder
        self._workers_per_lane = workers_per_lane
        self._max_workers = max_workers
        self._grace_s = grace_s
        self._hold = hold
        self.stop = stop
        self.in_flight = 0
        self.abandoned = 0
        self.failure: BaseException | None = None
        self._queues: dict[LaneKey, LaneQueue] = {}
        self._workers: set[asyncio.Task[None]] = set()

    def queue(self, lane: LaneKey) -> LaneQueue:
        """The lane's queue, made on first use (and again after its last worker dropped it)."""
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = LaneQueue(max(LANE_BUFFER, 2 * self._workers_per_lane), lane)
        return queue

    def enqueue(self, queue: LaneQueue, job: Job) -> None:
        """Queue a job (the queue has room); start one more worker for its lane while under the lane's pool
        size and `max_workers` in all (a lane's first worker always starts)."""
        queue.put_nowait(job)
        queue.last_put = time.monotonic()
        if queue.workers < self._workers_per_lane and (not queue.workers or len(self._workers) < self._max_workers):
            queue.workers += 1
            worker = asyncio.create_task(self._work(queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    async def put(self, queue: LaneQueue, job: Job, patience: float | None = None) -> bool:
        """Queue a job for its lane; False when `stop` came first (a full lane must not hold up a drain)
        or not one slot was freed within `patience` seconds."""
        if queue.full():  # until REFILL slots are free, or `patience` (then any free slot will do)
            await self._wait_for_room([queue], patience)
            if self.stop.is_set() or queue.full():
                return False
        self.enqueue(queue, job)
        return True

    def hungry_besides(self, lane: LaneKey) -> bool:
        """Another lane still given lines (one in the last `HUNGRY_S`) has its queue under half full: waiting
        on this lane would hand it its lines at this lane's pace (4 tenants under one app-wide limit: a lane
        paced at 245/s got 35/s, its lines read at the slowest lane's pace)."""
        since = time.monotonic() - HUNGRY_S
        return any(
            queue.qsize() < queue.maxsize // 2 and queue.last_put >= since
            for key, queue in self._queues.items()
            if key != lane
        )

    async def room_in_any(self, lanes: set[LaneKey]) -> bool:
        """Wait until one of these lanes' queues has room again (True), or the run is stopped (False)."""
        queues = [self.queue(lane) for lane in lanes]
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

    async def finish(self) -> None:
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

    async def cancel(self) -> None:
        """Cancel the workers still running (past the grace period, or on an error) and wait for them."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self, queue: LaneQueue) -> None:
        """Run the lane's jobs until its queue is empty; the last worker out drops the empty queue.

        One coroutine does the whole of a job (hold, send, record): each level of awaiting costs every job
        a coroutine and a pass on each resumption."""
        execute, hold, stop = self._execute, self._hold, self.stop
        assert execute is not None  # workers exist only when sending
        record = self._recorder.record
        try:
            while not queue.empty():
                job = queue.get_nowait()
                try:
                    if stop.is_set():  # once stopped: not sent, no result line, a resumed run sends it
                        continue
                    if hold is not None and (held := hold(job)) is not None:
                        record(held)  # not sent: its lane is halted
                        continue
                    self.in_flight += 1
                    try:
                        outcome = await execute(job)
                    finally:
                        self.in_flight -= 1
                    record(outcome)
                except Exception as exc:  # e.g. results cannot be written: stop the whole run, lose nothing
                    self._fail(exc)
                finally:
                    queue.task_done()
        finally:
            queue.workers -= 1
            if not queue.workers and queue.empty() and self._queues.get(queue.lane) is queue:
                del self._queues[queue.lane]

    def _fail(self, exc: Exception) -> None:
        """The first error that stops the run is kept; the run stops."""
        if self.failure is None:
            self.failure = exc
        self.stop.set()
