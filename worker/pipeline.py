"""Wires the stages: source -> parse + validate -> schedule + send -> record.

A fixed pool of `concurrency` workers pulls jobs from one bounded queue (one task per line would cost
hundreds of MB on big inputs); rejected lines go straight to the recorder. Setting `stop` makes the
feeder stop reading and the workers stop taking new jobs; jobs in flight finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from worker.jobs import Job, Outcome, Rejected
from worker.record.recorder import Recorder

Parse = Callable[[bytes, int], Job | Rejected | None]
Execute = Callable[[Job], Awaitable[Outcome]]


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

    async def run(self) -> None:
        """Process the whole source (or until `stop` is set); return when every started job is recorded."""
        queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=self._concurrency * 2)
        workers = [asyncio.create_task(self._work(queue)) for _ in range(self._concurrency)]
        try:
            await self._feed(queue)
        finally:
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)

    async def _feed(self, queue: asyncio.Queue[Job | None]) -> None:
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
                await queue.put(parsed)

    async def _work(self, queue: asyncio.Queue[Job | None]) -> None:
        execute = self._execute
        while (job := await queue.get()) is not None:
            if execute is None or self.stop.is_set():
                continue  # drained, not sent: no result line, so a resumed run sends it
            self._recorder.record(await execute(job))
