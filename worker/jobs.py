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
from dataclasses import dataclass
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
