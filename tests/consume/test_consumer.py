"""The delivery rules of `worker.consume.consumer`, which every queue backend shares."""

from __future__ import annotations

import pytest

from worker.consume.consumer import retryable
from worker.jobs import ErrorInfo, Outcome


def outcome(status: str, http_status: int | None, kind: str | None) -> Outcome:
    error = None if kind is None else ErrorInfo(kind=kind, message="m")
    return Outcome(
        job_id="j",
        line=1,
        status=status,  # type: ignore[arg-type]
        http_status=http_status,
        attempts=1,
        elapsed_ms=1.0,
        client_request_id=None,
        error=error,
    )


@pytest.mark.parametrize(
    ("status", "http_status", "kind", "again"),
    [
        ("failed", 503, "serviceUnavailable", True),
        ("failed", 500, "InternalServerError", True),
        ("failed", 429, "TooManyRequests", True),
        ("failed", None, "transport_error", True),  # no answer at all
        ("failed", 400, "BadRequest", False),  # the job is wrong: another delivery cannot cure it
        ("failed", 404, "Request_ResourceNotFound", False),
        ("failed", None, "not_sent", False),  # a systemic stop: not the job's failure
        ("succeeded", 200, None, False),
        ("rejected", None, "invalid_json", False),
    ],
)
def test_which_failures_another_delivery_may_cure(
    status: str, http_status: int | None, kind: str | None, again: bool
) -> None:
    assert retryable(outcome(status, http_status, kind)) is again
