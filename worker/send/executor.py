"""Run one job to its final Outcome: attempts through the client, retries by the policy."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial

import structlog

from worker.answers import Answer, Sender
from worker.errors import NotSentError, RetryableError, SendError
from worker.jobs import ErrorInfo, Job, LaneKey, Outcome, Status, new_outcome
from worker.send.retry import RetryPolicy, retry_after_failure

log = structlog.get_logger("worker.send")

#: Waits before a retry: (lane, seconds). `SystemicGuard.pause` cuts the wait short when the lane is halted.
Pause = Callable[[LaneKey, float], Awaitable[None]]


class JobExecutor:
    """Turns a Job into exactly one final Outcome; never raises for a failed job."""

    def __init__(self, sender: Sender, policy: RetryPolicy, pause: Pause | None = None) -> None:
        self._sender = sender
        self._policy = policy
        self._pause = pause

    async def execute(self, job: Job) -> Outcome:
        """Send the job, retrying as the policy allows, and describe how it ended."""
        started = time.monotonic()
        try:  # the common case, one attempt, without the retry machinery's closures
            answer = await self._sender.patch(job)
        except RetryableError as first:
            return await self._retry(job, started, first)
        except SendError as error:
            return _outcome(job, started, _made(1, error), error.status, _error_info(error, self._policy))
        return _outcome(job, started, 1, answer.status, None)

    async def _retry(self, job: Job, started: float, first: RetryableError) -> Outcome:
        attempts = 1

        async def attempt() -> Answer:
            nonlocal attempts
            attempts += 1
            return await self._sender.patch(job)

        def on_retry(error: RetryableError, delay: float) -> None:
            log.info(
                "job.retrying",
                jobId=job.job_id,
                line=job.line,
                attempt=attempts,
                httpStatus=error.status,
                error=error.error_kind,
                delayS=round(delay, 3),
            )

        sleep = None if self._pause is None else partial(self._pause, job.lane)
        try:
            answer = await retry_after_failure(
                first, attempt, self._policy, started=started, on_retry=on_retry, sleep=sleep
            )
        except SendError as error:
            return _outcome(job, started, _made(attempts, error), error.status, _error_info(error, self._policy))
        return _outcome(job, started, attempts, answer.status, None)


def _outcome(job: Job, started: float, attempts: int, http_status: int | None, error: ErrorInfo | None) -> Outcome:
    status: Status = "succeeded" if error is None else "failed"
    elapsed_ms = (time.monotonic() - started) * 1000
    return new_outcome(job, status, http_status=http_status, attempts=attempts, elapsed_ms=elapsed_ms, error=error)


def _made(attempts: int, error: SendError) -> int:
    """Attempts actually sent: the last one was not when its lane was halted (NotSentError)."""
    return attempts - 1 if isinstance(error, NotSentError) else attempts


def _error_info(error: SendError, policy: RetryPolicy) -> ErrorInfo:
    message = error.message
    if isinstance(error, RetryableError) and policy.waits_too_long(error):
        message = (
            f"{message} (Retry-After {error.retry_after:.0f}s is longer than "
            f"retry.max_retry_after_s={policy.max_retry_after_s:.0f}s)"
        )
    return ErrorInfo(kind=error.error_kind, message=message, detail=error.detail)
