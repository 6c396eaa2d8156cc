"""The record stage: every final outcome goes to the results file, the summary and one log line."""

from __future__ import annotations

import logging
from typing import Protocol

import structlog

from worker.jobs import Outcome
from worker.record.results import ResultsWriter
from worker.record.summary import RunSummary

log = structlog.get_logger("worker.record")


class Recorder(Protocol):
    """Where final outcomes go."""

    def record(self, outcome: Outcome) -> None:
        """Take one final outcome."""
        ...


class ResultsRecorder:
    """Writes the result line, counts it, and logs the job's one canonical line."""

    def __init__(self, writer: ResultsWriter | None, summary: RunSummary, *, log_rejected: bool = True) -> None:
        self.writer = writer
        self.summary = summary
        # `validate` prints every rejection as its result line: a log line too would say each one twice
        self._log_rejected = log_rejected
        self._log_successes: bool | None = None  # decided on first use: logging is configured by then

    def record(self, outcome: Outcome) -> None:
        """Record one final outcome (the results line comes first: it is the durable part)."""
        if self.writer is not None:
            self.writer.write(outcome)
        self.summary.add(outcome)
        if self._log_successes is None:
            self._log_successes = log.is_enabled_for(logging.DEBUG)
        if outcome.status == "rejected" and not self._log_rejected:
            return
        if outcome.status != "succeeded" or self._log_successes:
            _log_outcome(outcome)


def _log_outcome(outcome: Outcome) -> None:
    if outcome.status == "succeeded":
        log.debug(
            "job.succeeded",
            jobId=outcome.job_id,
            line=outcome.line,
            httpStatus=outcome.http_status,
            attempts=outcome.attempts,
            elapsedMs=round(outcome.elapsed_ms, 1),
        )
        return
    error = outcome.error
    # a systemic stop leaves many lines unsent: the stop is logged once (lane.halted), each line at debug only
    emit = log.debug if error is not None and error.kind == "not_sent" else log.warning
    emit(
        f"job.{outcome.status}",
        jobId=outcome.job_id,
        line=outcome.line,
        httpStatus=outcome.http_status,
        attempts=outcome.attempts,
        error=None if error is None else error.kind,
        message=None if error is None else error.message,
        clientRequestId=outcome.client_request_id,
    )
