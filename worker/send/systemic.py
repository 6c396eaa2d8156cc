"""Stop on systemic failures: when a lane (tenant) or the whole run cannot succeed, stop sending at once.

Some failures are not a job's fault and would repeat for every job, each paid with a request (or, for a
host that is not there, with minutes of retries). They trip the guard:

- unauthorized: a 401 that one token refresh did not cure (the clients renew the token once; a static token
  cannot be renewed, so its first 401 counts), or the token service refusing the credentials mid-run.
- forbidden: `FORBIDDEN_AFTER` answers 403 in a lane that has had no other answer (the app lacks a permission
  in that tenant). A 403 in a lane where requests succeed is one resource's problem, not the lane's.
- unreachable: `UNREACHABLE_AFTER` attempts that found no server (DNS failure, connection refused, TLS or
  certificate error: aiohttp's `ClientConnectorError` family) before the host gave any HTTP answer. A
  connection lost after the host has answered is an ordinary retry.

`SystemicGuard` (one per sending stack) sees every attempt (`ObservedSender`); once tripped, no request of a
halted lane goes on the wire (`guarded`, `GuardedBatchClient`), so a job waiting in its lane's pacer or for a
retry (`pause` wakes it) ends `not_sent` instead of sending. Each pipeline holds a `SystemicWatch`: its jobs
not yet sent, and its lines not yet read, get a `not_sent` result (`status: failed`, `attempts: 0`) at once.

`run` halts every lane at the first trip (exit code 2); the service halts only the tripped lane (every lane
when the host cannot be reached) of the batches running then; a batch started later tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import aiohttp
import structlog

from worker.errors import AuthError, NotSentError, PermanentError, SendError, TransportError
from worker.jobs import ErrorInfo, Job, Outcome
from worker.schedule.lanes import ItemResult
from worker.send.auth import CredentialRejectedError, Credentials
from worker.send.batch import BatchClient
from worker.send.executor import Sender
from worker.send.http import Answer

log = structlog.get_logger("worker.send")

#: 403 answers, with no other answer in the lane, that make a missing permission certain enough to stop.
FORBIDDEN_AFTER = 5
#: Attempts that found no server, before any HTTP answer, that make an unreachable host certain enough.
UNREACHABLE_AFTER = 3

Cause = Literal["unauthorized", "forbidden", "unreachable"]


@dataclass(frozen=True, slots=True)
class SystemicFailure:
    """Why a lane (`tenant`), or every lane (`tenant` None: the host), cannot succeed. Never holds a token."""

    cause: Cause
    message: str
    tenant: str | None


def host_of(base_url: str) -> str:
    """The host (and port) of a base URL, as messages name it (no user info, no path)."""
    netloc = urlsplit(base_url).netloc
    return netloc.rsplit("@", 1)[-1] or base_url


class SystemicDetector:
    """Counts what attempts say about their lane and host; names the failure once one is certain."""

    def __init__(
        self, host: str, *, forbidden_after: int = FORBIDDEN_AFTER, unreachable_after: int = UNREACHABLE_AFTER
    ) -> None:
        self.host = host
        self._forbidden_after = forbidden_after
        self._unreachable_after = unreachable_after
        self.reset()

    def reset(self) -> None:
        """Forget everything seen (the service does, when a new batch starts and tries again)."""
        self._answered = False  # the host gave some HTTP answer
        self._unreachable = 0
        self._permitted: set[str] = set()  # lanes with an answer other than 401/403
        self._forbidden: Counter[str] = Counter()

    def observe(self, tenant: str, error: SendError | None) -> SystemicFailure | None:
        """Take one attempt's outcome (None: it succeeded); the failure it makes certain, if any."""
        if error is None:
            self._answered = True
            self._permitted.add(tenant)
            return None
        if error.status is not None:
            self._answered = True
        if isinstance(error, AuthError):
            return self._refused(tenant, error)
        if isinstance(error, PermanentError):
            self._permitted.add(tenant)  # Graph checks permissions first: a 400 or 404 means it had them
        elif isinstance(error, TransportError) and _no_server(error) and not self._answered:
            return self._unanswered(error)
        return None

    def _refused(self, tenant: str, error: AuthError) -> SystemicFailure | None:
        if isinstance(error, CredentialRejectedError):
            return SystemicFailure(
                "unauthorized",
                f"tenant {tenant!r}: the token service refused its credentials ({error.message})",
                tenant,
            )
        if error.status == 401:
            return SystemicFailure(
                "unauthorized",
                f"tenant {tenant!r}: Graph refused its token (HTTP 401 {_said(error)}) and no new token cured it; "
                "check GRAPH_TOKEN or the app credentials",
                tenant,
            )
        if error.status != 403 or tenant in self._permitted:
            return None
        self._forbidden[tenant] += 1
        count = self._forbidden[tenant]
        if count < self._forbidden_after:
            return None
        return SystemicFailure(
            "forbidden",
            f"tenant {tenant!r}: Graph answered 403 to all {count} requests so far (HTTP 403 {_said(error)}): "
            "the app lacks a permission in this tenant; grant it (admin consent)",
            tenant,
        )

    def _unanswered(self, error: TransportError) -> SystemicFailure | None:
        self._unreachable += 1
        if self._unreachable < self._unreachable_after:
            return None
        return SystemicFailure(
            "unreachable",
            f"cannot reach {self.host}: {self._unreachable} attempts found no server and none was answered "
            f"({error.message}); check the base URL, DNS, the network and TLS (graph.ca_bundle)",
            None,
        )


def _no_server(error: TransportError) -> bool:
    """DNS, refused, TLS: aiohttp's ClientConnectorError family (a reset or a timeout is not one)."""
    return isinstance(error.__cause__, aiohttp.ClientConnectorError)


def _said(error: SendError) -> str:
    return f"{error.code}: {error.message}" if error.code else error.message


def not_sent(job: Job, failure: SystemicFailure) -> Outcome:
    """The result of a job that was not sent because its lane was halted (a later `--state` run sends it)."""
    return Outcome(
        job_id=job.job_id, line=job.line, status="failed", http_status=None, attempts=0, elapsed_ms=0.0,
        client_request_id=None, error=ErrorInfo(kind=NotSentError.kind, message=f"not sent: {failure.message}"),
        tenant=job.tenant,
    )  # fmt: skip


class SystemicWatch:
    """One pipeline's view of the guard: the failures that tripped while it ran, kept to its end."""

    def __init__(self) -> None:
        self._halts: dict[str | None, SystemicFailure] = {}

    def on_trip(self, failure: SystemicFailure) -> None:
        """Note a failure (the first one per lane counts)."""
        self._halts.setdefault(failure.tenant, failure)

    def failure(self, tenant: str) -> SystemicFailure | None:
        """What halted `tenant` in this pipeline, if anything."""
        halts = self._halts
        if not halts:
            return None  # the common case, kept cheap: nothing tripped
        return halts.get(None) or halts.get(tenant)

    def hold(self, job: Job) -> Outcome | None:
        """The `not_sent` result of a job whose lane is halted; None when it may be sent."""
        failure = self.failure(job.tenant)
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
        self._halts: dict[str | None, SystemicFailure] = {}
        self._listeners: list[Callable[[SystemicFailure], None]] = []
        self._tripped = asyncio.Event()

    def halted(self, tenant: str) -> SystemicFailure | None:
        """What halted `tenant`'s lane, or None while it may send."""
        halts = self._halts
        if not halts:
            return None
        return halts.get(None) or halts.get(tenant)

    def observe(self, tenant: str, error: SendError | None) -> None:
        """Take one attempt's outcome; trip when it makes a systemic failure certain."""
        failure = self._detector.observe(tenant, error)
        if failure is None:
            return
        if self._halt_all:
            failure = SystemicFailure(failure.cause, failure.message, None)
        if failure.tenant in self._halts:
            return  # tripped already: requests in flight when it tripped report the same
        self._halts[failure.tenant] = failure
        log.error("lane.halted", cause=failure.cause, lane=failure.tenant or "all", message=failure.message)
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

    async def pause(self, tenant: str, delay: float) -> None:
        """Wait `delay` seconds before a retry, or less once `tenant` is halted (then the retry is not sent)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while (remaining := deadline - loop.time()) > 0 and self.halted(tenant) is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tripped.wait(), remaining)

    def guarded(self, send: Callable[[Job], Awaitable[Answer]]) -> Callable[[Job], Awaitable[Answer]]:
        """`send`, refused (NotSentError) for a halted lane: the last check before the wire."""

        async def send_unless_halted(job: Job) -> Answer:
            failure = self.halted(job.tenant)
            if failure is not None:
                raise NotSentError(f"not sent: {failure.message}")
            return await send(job)

        return send_unless_halted


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
        if held is None and self._guard.halted(job.tenant) is not None:
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
    """A BatchClient that posts nothing for a halted lane: every item of it is NotSentError."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, credentials: Credentials, *, guard: SystemicGuard
    ) -> None:
        super().__init__(session, base_url, credentials)
        self._guard = guard

    async def post(self, tenant: str, jobs: Sequence[Job]) -> list[ItemResult]:
        """One $batch, unless the lane is halted."""
        failure = self._guard.halted(tenant)
        if failure is not None:
            return [NotSentError(f"not sent: {failure.message}") for _ in jobs]
        return await super().post(tenant, jobs)


class ObservedSender:
    """A Sender that shows the guard how every attempt went."""

    def __init__(self, inner: Sender, guard: SystemicGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def patch(self, job: Job) -> Answer:
        """One attempt, observed (an attempt not made, NotSentError, says nothing)."""
        try:
            answer = await self._inner.patch(job)
        except NotSentError:
            raise
        except SendError as error:
            self._guard.observe(job.tenant, error)
            raise
        self._guard.observe(job.tenant, None)
        return answer
