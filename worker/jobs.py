"""Values that travel through the pipeline: a validated Job, a Rejected line, the final Outcome.

Pydantic lives at the boundary only (`worker.validate`); inside the pipeline everything is one of these
small frozen dataclasses. `result_line` renders an outcome as the public results-JSONL contract.

`line` is the input line number only: None for a queue message (its result's `line` is null). A queue
consumer finds a job's message again by `seq`, its own count of the messages it handed the pipeline,
carried from the Job (or Rejected) to its Outcome; 0 for a line of a file.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Literal

import orjson

Status = Literal["succeeded", "failed", "rejected"]
#: A lane: (tenant, throttling scope). Graph counts an app's requests per tenant within each scope.
LaneKey = tuple[str, str]
#: The scope of a Job made without one (tests, tools); every route names its own (`worker.models.registry`).
DEFAULT_SCOPE = "default"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation problem: where (a dotted path into the line), what, and pydantic's error type."""

    loc: str
    message: str
    type: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form used in results and logs."""
        return {"loc": self.loc, "message": self.message, "type": self.type}


@dataclass(frozen=True, slots=True)
class Job:
    """One PATCH to send: the body is the exact JSON the line gave (PATCH semantics: nothing added).

    `scope`: the throttling scope of its route; with the tenant it names the job's lane (`lane`).
    """

    job_id: str
    line: int | None
    tenant: str
    path: str
    body: bytes
    client_request_id: str
    scope: str = DEFAULT_SCOPE
    seq: int = 0  # a queue consumer's number for the message (0: a line of a file)

    @property
    def lane(self) -> LaneKey:
        """The lane this job is paced in: (tenant, scope)."""
        return (self.tenant, self.scope)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that never became a Job: not JSON, or not valid for its resource."""

    job_id: str
    line: int | None
    kind: str
    message: str
    errors: tuple[FieldError, ...]
    seq: int = 0  # as Job.seq


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a job did not succeed: a kind (Graph error code or our own), a message, and detail."""

    kind: str
    message: str
    detail: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the result's `error` field."""
        return {"kind": self.kind, "message": self.message, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Outcome:
    """The one final result of a job (or of a rejected line)."""

    job_id: str
    line: int | None
    status: Status
    http_status: int | None
    attempts: int
    elapsed_ms: float
    client_request_id: str | None
    error: ErrorInfo | None
    tenant: str | None = None
    seq: int = 0  # its job's (Job.seq)

    @classmethod
    def rejected(cls, rejected: Rejected) -> Outcome:
        """The result for a line that failed parsing or validation."""
        detail = [error.as_dict() for error in rejected.errors]
        return cls(
            job_id=rejected.job_id,
            line=rejected.line,
            status="rejected",
            http_status=None,
            attempts=0,
            elapsed_ms=0.0,
            client_request_id=None,
            error=ErrorInfo(kind=rejected.kind, message=rejected.message, detail=detail),
            seq=rejected.seq,
        )


# Built once per line and once per job: a frozen dataclass's __init__ sets each field through
# object.__setattr__ (~0.1 µs a field); setting the slots through their own descriptors makes the very same
# object in half the time. `new_job` and `new_outcome` are for those two hot paths; elsewhere, the classes.
_new = object.__new__


def _slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """Each field's slot setter, in field order (slots=True: every field is a slot of the class)."""
    return tuple(cls.__dict__[field.name].__set__ for field in fields(cls))


_JOB_SETTERS = _slot_setters(Job)
_OUTCOME_SETTERS = _slot_setters(Outcome)


def new_job(
    job_id: str, line: int | None, *, tenant: str, path: str, body: bytes, client_request_id: str, scope: str
) -> Job:
    """`Job(job_id, line, tenant, path, body, client_request_id, scope)`, faster (seq 0)."""
    job: Job = _new(Job)
    set_job_id, set_line, set_tenant, set_path, set_body, set_request_id, set_scope, set_seq = _JOB_SETTERS
    set_job_id(job, job_id)
    set_line(job, line)
    set_tenant(job, tenant)
    set_path(job, path)
    set_body(job, body)
    set_request_id(job, client_request_id)
    set_scope(job, scope)
    set_seq(job, 0)
    return job


def new_outcome(
    job: Job, status: Status, *, http_status: int | None, attempts: int, elapsed_ms: float, error: ErrorInfo | None
) -> Outcome:
    """The Outcome of a sent job (its id, line, request id, tenant and seq), as `Outcome(...)` makes it, faster."""
    outcome: Outcome = _new(Outcome)
    (
        set_job_id,
        set_line,
        set_status,
        set_http,
        set_attempts,
        set_elapsed,
        set_request_id,
        set_error,
        set_tenant,
        set_seq,
    ) = _OUTCOME_SETTERS
    set_job_id(outcome, job.job_id)
    set_line(outcome, job.line)
    set_status(outcome, status)
    set_http(outcome, http_status)
    set_attempts(outcome, attempts)
    set_elapsed(outcome, elapsed_ms)
    set_request_id(outcome, job.client_request_id)
    set_error(outcome, error)
    set_tenant(outcome, job.tenant)
    set_seq(outcome, job.seq)
    return outcome


def result_fields(outcome: Outcome) -> dict[str, Any]:
    """One outcome's result object (a results line; a queue's result adds its `messageId`)."""
    return {
        "jobId": outcome.job_id,
        "line": outcome.line,
        "status": outcome.status,
        "httpStatus": outcome.http_status,
        "attempts": outcome.attempts,
        "elapsedMs": round(outcome.elapsed_ms, 1),
        "clientRequestId": outcome.client_request_id,
        "error": None if outcome.error is None else outcome.error.as_dict(),
    }


def result_line(outcome: Outcome) -> bytes:
    """Render one outcome as a results-JSONL line (with the trailing newline)."""
    return orjson.dumps(result_fields(outcome), option=orjson.OPT_APPEND_NEWLINE)


# client-request-id values: GUID-shaped, a random per-process prefix and a counter. Unique like uuid4 for
# tracing in Graph's logs, at a fifth of the cost (uuid4 reads the OS's random source on every call).
_p = os.urandom(9).hex()
_ID_HEAD = f"{_p[:8]}-{_p[8:12]}-4{_p[12:15]}-a{_p[15:18]}-"
_id_counter = itertools.count(int.from_bytes(os.urandom(4), "big") << 20)


def new_request_id() -> str:
    """A fresh client-request-id in GUID form (version-4 layout)."""
    return f"{_ID_HEAD}{next(_id_counter) & 0xFFFFFFFFFFFF:012x}"
