"""Wires the stages: source -> parse + validate -> schedule + send -> record.

Each lane (tenant) gets a bounded queue and a fixed pool of workers, made when its first job arrives:
one task per line would cost hundreds of MB on big inputs, and one shared pool would let a throttled
tenant occupy every worker. Rejected lines go straight to the recorder. Setting `stop` makes the feeder
stop reading and the workers stop taking new jobs; jobs in flight finish.

The reader follows input order, so when a paused lane's queue is full it waits: other lanes keep
working through what is queued for them (`LANE_BUFFER` jobs each) meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from worker.jobs import Job, Outcome, Rejected
from worker.record.recorder import Recorder

Parse = Callable[[bytes, int], Job | Rejected | None]
Execute = Callable[[Job], Awaitable[Outcome]]

LANE_BUFFER = 512


class LineSource(Protocol):
    """Yields (line number, raw line) pairs lazily."""

    def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        """The lines of the input, in order."""
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
        concurrency: int,
        stop: asyncio.Event | None = None,
    ) -> None:
        self._source = source
        self._parse = parse
        self._execute = execute
        self._recorder = recorder
        self._concurrency = concurrency
        self.stop = stop or asyncio.Event()
        self.valid_jobs = 0
        self._queues: dict[str, asyncio.Queue[Job | None]] = {}
        self._workers: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        """Process the whole source (or until `stop` is set); return when every started job is recorded."""
        try:
            await self._feed()
        finally:
            for queue in self._queues.values():
                for _ in range(self._concurrency):
                    await queue.put(None)
            await asyncio.gather(*self._workers)

    def _queue(self, tenant: str) -> asyncio.Queue[Job | None]:
        queue = self._queues.get(tenant)
        if queue is None:
            queue = self._queues[tenant] = asyncio.Queue(maxsize=max(LANE_BUFFER, 2 * self._concurrency))
            self._workers.extend(asyncio.create_task(self._work(queue)) for _ in range(self._concurrency))
        return queue

    async def _feed(self) -> None:
        async for line_no, raw in self._source.lines():
            if self.stop.is_set():
                return
            parsed = self._parse(raw, line_no)
            if parsed is None:
                continue
            if isinstance(parsed, Rejected):
                self._recorder.record(Outcome.rejected(parsed))
                continue
            self.valid_jobs += 1
            if self._execute is not None:
                await self._queue(parsed.tenant).put(parsed)

    async def _work(self, queue: asyncio.Queue[Job | None]) -> None:
        execute = self._execute
        while (job := await queue.get()) is not None:
            if execute is None or self.stop.is_set():
                continue  # drained, not sent: no result line, so a resumed run sends it
            self._recorder.record(await execute(job))
