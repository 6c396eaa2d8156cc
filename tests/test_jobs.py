"""The fast builders of the per-line Job and per-job Outcome make exactly what the classes make."""

from __future__ import annotations

import dataclasses

import pytest

from worker.jobs import ErrorInfo, Job, Outcome, Status, new_job, new_outcome


def test_new_job_is_the_job_the_class_makes() -> None:
    made = new_job("j", 3, tenant="t", path="/p", body=b"{}", client_request_id="r", scope="s")
    assert made == Job(job_id="j", line=3, tenant="t", path="/p", body=b"{}", client_request_id="r", scope="s")
    assert made.lane == ("t", "s")
    assert made.seq == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.tenant = "other"  # type: ignore[misc]


@pytest.mark.parametrize("error", [None, ErrorInfo(kind="k", message="m", detail={"a": 1})])
def test_new_outcome_is_the_outcome_the_class_makes(error: ErrorInfo | None) -> None:
    job = dataclasses.replace(
        Job(job_id="j", line=None, tenant="t", path="/p", body=b"{}", client_request_id="r", scope="s"), seq=9
    )
    status: Status = "succeeded" if error is None else "failed"
    made = new_outcome(job, status, http_status=204, attempts=2, elapsed_ms=1.5, error=error)
    assert made == Outcome(
        job_id="j",
        line=None,
        status=status,
        http_status=204,
        attempts=2,
        elapsed_ms=1.5,
        client_request_id="r",
        error=error,
        tenant="t",
        seq=9,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.attempts = 3  # type: ignore[misc]
