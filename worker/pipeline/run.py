"""One pipeline run: read the source, queue each valid job for its lane, record every line.

Rejected lines go straight to the recorder; valid jobs go to their lane's queue (`lane_pools`), or, when the
lane is behind and the input can be read twice, are noted for a later reading (`deferral`).

A read error (a truncated gzip, say) ends the reading only: the jobs already queued are still sent and
recorded, then the error is raised (exit 2), so nothing Graph applied is left without its result line.

Stopping (`stop` set, e.g. by SIGTERM): the reader stops, workers take no new job, jobs in flight get
`grace_s` to finish and be recorded; after that they are cancelled. Jobs never started have no result
line, so a resumed run sends them.

Holding (`hold` gives an outcome for a job, e.g. `not_sent` once a systemic failure halted its lane): the
reader reads on, and a worker records that outcome instead of sending the job; held jobs leave the queues
at once, so every line of the input still gets its result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from worker.answers import Execute
from worker.errors import InputError
from worker.jobs import Job, Outcome, Rejected
from worker.pipeline.deferral import Deferral
from worker.pipeline.lane_pools import LanePools
from worker.pipeline.protocols import ClosableLineSource, Hold, LineSource, Parse
from worker.record.recorder import Recorder


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
        self._skip = skip
        self.stop = stop or asyncio.Event()
        self._lanes = LanePools(
            execute=execute,
            recorder=recorder,
            workers_per_lane=workers_per_lane,
            max_workers=max_workers or 1 << 30,
            grace_s=grace_s,
            stop=self.stop,
            hold=hold,
        )
        # deferring needs a second reading, and lines to send
        self._deferral = None if reread is None or execute is None else Deferral(self._lanes, parse, recorder, reread)
        self.valid_jobs = 0
        self.skipped = 0

    @property
    def in_flight(self) -> int:
        """Jobs being sent now."""
        return self._lanes.in_flight

    @property
    def abandoned(self) -> int:
        """Jobs still in flight when the grace period ran out (cancelled, no result line)."""
        return self._lanes.abandoned

    @property
    def deferred(self) -> int:
        """Lines noted for a later reading because their lane was behind."""
        return 0 if self._deferral is None else self._deferral.count

    async def run(self) -> None:
        """Process the source (or until `stop`); return when every started job is recorded or abandoned."""
        lanes = self._lanes
        try:
            try:
                await self._feed()
            except InputError as exc:  # the reading ends; what was queued is still sent and recorded
                if lanes.failure is None:
                    lanes.failure = exc
            await lanes.finish()
        finally:
            await lanes.cancel()
        if lanes.failure is not None:
            raise lanes.failure

    async def _feed(self) -> None:
        deferral = self._deferral
        try:
            if await self._read_first() and deferral is not None and deferral.count:
                await deferral.read_again()
        except InputError as exc:  # deferred lines that will never be sent get their result now
            if deferral is not None and deferral.count:
                deferral.not_sent(f"not sent: {exc}")
            raise

    async def _read_first(self) -> bool:
        """The first reading: every line queued, rejected, skipped or deferred; False on stop."""
        lanes, deferral = self._lanes, self._deferral
        async for line_no, raw in self._source.lines():
            if self.stop.is_set():
                return False
            job = self._job_of(line_no, raw)
            if job is None or self._execute is None:
                continue
            if deferral is None:
                queued = await lanes.put(lanes.queue(job.lane), job)
            else:
                queued = deferral.put_now(job) or await deferral.put_or_defer(job, line_no, raw)
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
