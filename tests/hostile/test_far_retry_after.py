"""A 429 whose Retry-After is years away: that job fails as throttled, the lane goes on, the run ends."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.hostile.conftest import Listening
from tests.hostile.helpers import run_measured
from tests.hostile.server import PRESETS
from worker.answers import Answer
from worker.errors import ThrottledError
from worker.schedule.lane import Lane, LaneLimits


@pytest.mark.parametrize("batch_size", ["1", "5"])
@pytest.mark.parametrize("preset", sorted(PRESETS))
async def test_far_retry_after_fails_each_job_and_the_run_ends(
    hostile: Listening, tmp_path: Path, preset: str, batch_size: str
) -> None:
    done = await run_measured(
        tmp_path,
        f"{hostile.url}/throttle/{preset}",
        50,
        "--batch-size",
        batch_size,
        env={"PATCH_WORKER_RETRY__MAX_RETRY_AFTER_S": "30"},
        timeout=60,
    )
    status = PRESETS[preset][0]
    assert done.code == 1, done.stderr[-2000:]
    assert sorted(row["line"] for row in done.results) == list(range(1, 51))
    for row in done.results:
        assert row["status"] == "failed"
        assert row["httpStatus"] == status
        assert row["error"]["kind"] == f"Throttled{status}"
        assert "retry.max_retry_after_s=30s" in row["error"]["message"]
        assert row["attempts"] == 1
    assert done.elapsed_s < 30  # no lane waited for the Retry-After, nor for the cap
    requests = len(hostile.server.seen)  # each job tried once: one request each, or packed in $batch
    assert requests == 50 if batch_size == "1" else 10 <= requests <= 50


async def test_a_lane_is_never_paused_longer_than_the_cap() -> None:
    lane = Lane("contoso", LaneLimits(max_pause_s=2.0))

    def throttled(seconds: float) -> Callable[[], Awaitable[Answer]]:
        async def attempt() -> Answer:
            raise ThrottledError("slow down", status=429, retry_after=seconds)

        return attempt

    with pytest.raises(ThrottledError):
        await lane.send(throttled(1e9))
    assert lane.gate.is_open()  # beyond the cap: its job fails, the lane goes on
    with pytest.raises(ThrottledError):
        await lane.send(throttled(1.5))
    assert 1.0 < lane.gate.open_at - time.monotonic() <= 1.5  # within the cap: exactly as asked
