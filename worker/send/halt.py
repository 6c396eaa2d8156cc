"""Halting lanes once a systemic failure is certain (`worker.send.systemic` decides when).

`SystemicGuard` (one per sending stack) wraps the last step before the wire (`guarded`, `GuardedBatchClient`):
it shows every attempt to the detector, and once that trips, no request of a halted lane goes out, so a job
waiting in its lane's pacer or for a retry (`pause` wakes it) ends `not_sent` instead of sending. Each pipeline holds a
`SystemicWatch`: its jobs not yet sent, and its lines not yet read, get a `not_sent` result (`status:
failed`, `attempts: 0`) at once. The distributed consumer, whose one pipeline mixes batches, keeps one per
batch (`BatchHalts`).

`run` halts every lane at the first trip (exit code 2); the service halts only the tripped lane (every lane
when the host cannot be reached) of the batches running then; a batch started later tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence

import aiohttp
import structlog

from worker.answers import Answer, ItemResult
from worker.auth.tokens import Credentials
from worker.errors import NotSentError, SendError
from worker.jobs import DEFAULT_SCOPE, ErrorInfo, Job, LaneKey, Outcome
from worker.send.body import BodyLimits
from worker.send.json_batch import BatchClient
from worker.send.systemic import SystemicDetector, SystemicFailure, host_of

log = structlog.get_logger("worker.send")


def not_sent(job: Job, failure: SystemicFailure) -> Outcome:
    """The result of a job that was not sent because its lane was halted (a later `--state` run sends it)."""
    return Outcome(
        job_id=job.job_id,
        line=job.line,
        status="failed",
        http_status=None,
        attempts=0,
        elapsed_ms=0.0,
        client_request_id=None,
        error=ErrorInfo(kind=NotSentError.kind, message=f"not sent: {failure.message}"),
        tenant=job.tenant,
        seq=job.seq,
    )


_Halts = dict[tuple[str | None, str | None], SystemicFailure]


def _halt_of(halts: _Halts, tenant: str, scope: str) -> SystemicFailure | None:
    """What halted the lane (tenant, scope): the host, the whole tenant, or that lane alone."""
    if not halts:
        return None  # the common case, kept cheap: nothing tripped
    return halts.get((None, None)) or halts.get((tenant, None)) or halts.get((tenant, scope))


class SystemicWatch:
    """One pipeline's view of the guard: the failures that tripped while it ran, kept to its end."""

    def __init__(self) -> None:
        self._halts: _Halts = {}

    def on_trip(self, failure: SystemicFailure) -> None:
        """Note a failure (the first one per lane counts)."""
        self._halts.setdefault((failure.tenant, failure.scope), failure)

    def failure(self, tenant: str, scope: str = DEFAULT_SCOPE) -> SystemicFailure | None:
        """What halted the lane (`tenant`, `scope`) in this pipeline, if anything."""
        return _halt_of(self._halts, tenant, scope)

    def hold(self, job: Job) -> Outcome | None:
        """The `not_sent` result of a job whose lane is halted; None when it may be sent."""
        failure = self.failure(job.tenant, job.scope)
        return None if failure is None else not_sent(job, failure)

    @property
    def cause(self) -> str | None:
        """Every failure that halted a lane of this pipeline, in one line (None: none did)."""
        return "; ".join(failure.message for failure in self._halts.values()) or None


class SystemicGuard:
    """Trips on systemic failures and halts lanes. `halt_all`: one trip halts every lane (`run`)."""

    def __init__(self, base_url: str, *, halt_all: bool, detector: SystemicDetector | None = None) -> None:
        self._detector = detector or SystemicDetector(host_of(base_url))
        self._halt_all = halt_all
        self._halts: _Halts = {}
        self._listeners: list[Callable[[SystemicFailure], None]] = []
        self._tripped = asyncio.Event()

    def halted(self, tenant: str, scope: str = DEFAULT_SCOPE) -> SystemicFailure | None:
        """What halted the lane (`tenant`, `scope`), or None while it may send."""
        return _halt_of(self._halts, tenant, scope)

    def observe(self, tenant: str, error: SendError | None, scope: str = DEFAULT_SCOPE) -> None:
        """Take one attempt's outcome; trip when it makes a systemic failure certain."""
        failure = self._detector.observe(tenant, error, scope)
        if failure is None:
            return
        if self._halt_all:
            failure = SystemicFailure(failure.cause, failure.message, None)
        key = (failure.tenant, failure.scope)
        if key in self._halts:
            return  # tripped already: requests in flight when it tripped report the same
        self._halts[key] = failure
        log.error(
            "lane.halted",
            cause=failure.cause,
            lane=failure.tenant or "all",
            scope=failure.scope or "all",
            message=failure.message,
        )
        for listener in self._listeners:
            listener(failure)
        self._tripped.set()  # wakes the jobs waiting for a retry (`pause`)
        self._tripped = asyncio.Event()

    def lift(self) -> None:
        """Lift every halt and forget what was seen: the next attempts try again (a batch started later)."""
        self._halts.clear()
        self._detector.reset()

    @contextlib.contextmanager
    def listen(self, on_trip: Callable[[SystemicFailure], None]) -> Iterator[None]:
        """Call `on_trip` with every failure that trips while the block runs."""
        self._listeners.append(on_trip)
        try:
            yield
        finally:
            self._listeners.remove(on_trip)

    @contextlib.contextmanager
    def watch(self) -> Iterator[SystemicWatch]:
        """A pipeline's view for as long as it runs; starting one lifts the halts (a new batch tries again)."""
        self.lift()
        watch = SystemicWatch()
        with self.listen(watch.on_trip):
            yield watch

    async def pause(self, lane: LaneKey, delay: float) -> None:
        """Wait `delay` seconds before a retry, or less once `lane` is halted (then the retry is not sent)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while (remaining := deadline - loop.time()) > 0 and self.halted(*lane) is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tripped.wait(), remaining)

    def guarded(self, send: Callable[[Job], Awaitable[Answer]]) -> Callable[[Job], Awaitable[Answer]]:
        """`send` as the guard's last check before the wire: refused (NotSentError) for a halted lane, and
        every attempt it makes observed."""

        async def send_guarded(job: Job) -> Answer:
            tenant, scope = job.tenant, job.scope
            failure = self.halted(tenant, scope)
            if failure is not None:
                raise NotSentError(f"not sent: {failure.message}")
            try:
                answer = await send(job)
            except SendError as error:
                self.observe(tenant, error, scope)
                raise
            self.observe(tenant, None, scope)
            return answer

        return send_guarded


class BatchHalts:
    """Halts by batch, for a pipeline that mixes the jobs of many batches (the distributed consumer).

    A trip halts the lane in every batch that has jobs in the pipeline then (`running`); a batch first seen
    after it lifts the guard's halt and tries the lane again. The most recent `keep` halted batches are kept.
    """

    def __init__(self, guard: SystemicGuard, running: Callable[[], Iterable[str]], keep: int = 1000) -> None:
        self._guard = guard
        self._running = running
        self._keep = keep
        self._by_batch: dict[str, SystemicWatch] = {}
        self._reported: set[str] = set()

    def on_trip(self, failure: SystemicFailure) -> None:
        """Halt the failing lane in every batch running now."""
        for batch_id in set(self._running()):
            self._by_batch.setdefault(batch_id, SystemicWatch()).on_trip(failure)
        while len(self._by_batch) > self._keep:
            oldest = next(iter(self._by_batch))
            del self._by_batch[oldest]
            self._reported.discard(oldest)

    def hold(self, batch_id: str, job: Job) -> Outcome | None:
        """The `not_sent` result of a job of a halted lane of its batch; None when it may be sent."""
        watch = self._by_batch.get(batch_id)
        held = None if watch is None else watch.hold(job)
        if held is None and self._guard.halted(job.tenant, job.scope) is not None:
            self._guard.lift()  # this batch came after the trip: it tries the lane again
        return held

    def report(self, batch_id: str) -> str | None:
        """The batch's cause the first time it is asked for (to be written once to the batch), else None."""
        watch = self._by_batch.get(batch_id)
        if watch is None or batch_id in self._reported:
            return None
        self._reported.add(batch_id)
        return watch.cause


class GuardedBatchClient(BatchClient):
    """A BatchClient that posts nothing for a halted lane (every item is NotSentError) and shows the guard
    how each item went."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        credentials: Credentials,
        limits: BodyLimits | None = None,
        *,
        guard: SystemicGuard,
    ) -> None:
        super().__init__(session, base_url, credentials, limits)
        self._guard = guard

    async def post(self, tenant: str, jobs: Sequence[Job]) -> list[ItemResult]:
        """One $batch, unless the lane is halted."""
        guard = self._guard
        scope = jobs[0].scope if jobs else DEFAULT_SCOPE  # a $batch holds one lane's jobs
        failure = guard.halted(tenant, scope)
        if failure is not None:
            return [NotSentError(f"not sent: {failure.message}") for _ in jobs]
        try:
            results = await super().post(tenant, jobs)
        except SendError as error:  # the envelope failed: one observation, not one per item
            guard.observe(tenant, error, scope)
            raise
        for result in results:
            guard.observe(tenant, result if isinstance(result, SendError) else None, scope)
        return results
