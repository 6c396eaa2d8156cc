"""$batch items whose status or headers are hostile JSON: a clear failure of that item, never a success or a hang."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import pytest

from tests.hostile.conftest import Listening
from tests.hostile.helpers import PATH, run_measured
from tests.hostile.server import BATCH_SHAPES
from worker.answers import ItemResult
from worker.auth.tokens import Credentials, StaticToken
from worker.errors import ServerError
from worker.jobs import Job
from worker.schedule.lane import Lane, LaneLimits
from worker.send.json_batch import BatchClient, Batcher

FEW_RETRIES = {"PATCH_WORKER_RETRY__MAX_ATTEMPTS": "2", "PATCH_WORKER_RETRY__BACKOFF_MAX_S": "0.1"}


@pytest.mark.parametrize("shape", sorted(BATCH_SHAPES))
async def test_hostile_item_fails_its_job_and_the_run_ends(hostile: Listening, tmp_path: Path, shape: str) -> None:
    done = await run_measured(
        tmp_path, f"{hostile.url}/batch/{shape}", 10, "--batch-size", "5", env=FEW_RETRIES, timeout=60
    )
    assert done.code == 1, done.stderr[-2000:]
    assert sorted(row["line"] for row in done.results) == list(range(1, 11))
    for row in done.results:
        assert row["status"] == "failed", row
        assert row["httpStatus"] is None or type(row["httpStatus"]) is int, row
        assert row["error"]["kind"] == "malformed_response", row
        assert "$batch item" in row["error"]["message"]
    assert "Traceback" not in done.stderr
    assert "batch.crashed" not in done.stderr


class _BrokenClient(BatchClient):
    """A client that fails in a way nobody foresaw."""

    async def post(self, tenant: str, jobs: Sequence[Job]) -> list[ItemResult]:
        raise RuntimeError("unforeseen")


async def test_an_unexpected_exception_in_a_batch_fails_its_jobs_instead_of_stranding_them() -> None:
    async with aiohttp.ClientSession() as session:
        client = _BrokenClient(session, "http://127.0.0.1:9", Credentials(StaticToken("never-sent-token")))
        batcher = Batcher(Lane("contoso", LaneLimits()), client, size=3)
        jobs = [Job(str(n), n, "contoso", PATH, b"{}", f"req-{n}") for n in range(3)]
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(batcher.submit(job) for job in jobs), return_exceptions=True), 5
        )
    assert all(isinstance(outcome, ServerError) for outcome in outcomes)
    assert all("RuntimeError: unforeseen" in str(outcome) for outcome in outcomes)
