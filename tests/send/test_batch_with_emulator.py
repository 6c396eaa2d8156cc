"""$batch against the real emulator: mixed item outcomes end in exactly one correct state each."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from worker.auth.tokens import Credentials, StaticToken
from worker.emulator.config import EmulatorConfig
from worker.emulator.running import RunningEmulator, start_emulator
from worker.jobs import Job, Outcome
from worker.schedule.lane import LaneLimits
from worker.schedule.lane_set import LaneSet
from worker.send import retry
from worker.send.executor import JobExecutor
from worker.send.json_batch import BatchClient, BatchSender
from worker.send.retry import RetryPolicy

VALID = b'{"action": "Update", "statusInfo": null}'
INVALID = b'{"durationInMilliseconds": "six"}'  # the server's validation refuses it: a 400 item


def job(body: bytes = VALID) -> Job:
    return Job(str(uuid.uuid4()), 1, "t", "/auditLogs/provisioning", body, str(uuid.uuid4()))


async def batching(
    config: EmulatorConfig, *, size: int = 20, concurrency: int = 4, policy: RetryPolicy | None = None
) -> AsyncIterator[tuple[RunningEmulator, JobExecutor, LaneSet]]:
    import aiohttp

    async with await start_emulator(config) as emulator, aiohttp.ClientSession() as session:
        client = BatchClient(session, emulator.base_url, Credentials(StaticToken("emu.t.x")))
        lanes = LaneSet(lambda _t: LaneLimits(max_concurrency=concurrency))
        executor = JobExecutor(
            BatchSender(lanes, client, size), policy or RetryPolicy(max_attempts=20, max_elapsed_s=60)
        )
        yield emulator, executor, lanes


async def run_all(executor: JobExecutor, jobs: list[Job]) -> list[Outcome]:
    return await asyncio.gather(*(executor.execute(j) for j in jobs))


async def test_mixed_batches_end_in_one_correct_state_each() -> None:
    config = EmulatorConfig(
        quota_per_s=40, quota_burst=20, retry_after="fractional", error_rate=0.15, error_status=503, seed=9
    )
    # short backoffs for the 503s: the outcomes, not the backoff's length, are under test (429s still wait out
    # their Retry-After)
    policy = RetryPolicy(max_attempts=20, max_elapsed_s=60, backoff_initial_s=0.05, backoff_max_s=0.5)
    async for emulator, executor, lanes in batching(config, policy=policy):
        valid = [job() for _ in range(60)]
        invalid = [job(INVALID) for _ in range(5)]
        outcomes = await run_all(executor, valid + invalid)
        stats = emulator.stats()
        assert stats["batches"] >= 4
        statuses = set(stats["by_status"])
        assert {"200", "429", "400", "503"} <= statuses  # the batches really came back mixed
        assert [o.status for o in outcomes[:60]] == ["succeeded"] * 60
        for outcome in outcomes[60:]:
            assert outcome.status == "failed"
            assert outcome.http_status == 400
            seen = [r.status for r in emulator.requests() if r.client_request_id == outcome.client_request_id]
            assert seen[-1] == 400
            assert seen.count(400) == 1  # a 4xx item is final: never sent again
            assert len(seen) == outcome.attempts
        assert stats["duplicate_succeeded"] == 0  # no 200 item was sent twice
        assert stats["distinct_succeeded"] == 60
        assert sum(o.attempts for o in outcomes) == stats["batch_items"]  # attempts count items, per job
        assert lanes.lane("t").throttled > 0


async def test_failed_envelope_retries_every_item(monkeypatch: pytest.MonkeyPatch) -> None:
    retry.set_testing(instant=True)
    try:
        async for emulator, executor, _ in batching(EmulatorConfig(batch_error_rate=0.5, seed=4)):
            outcomes = await run_all(executor, [job() for _ in range(40)])
            assert all(o.status == "succeeded" for o in outcomes)
            assert emulator.stats()["batches_by_status"].get("503", 0) > 0
            assert emulator.stats()["distinct_succeeded"] == 40
    finally:
        retry.set_testing(instant=False)


async def test_envelope_resets_are_retried() -> None:
    retry.set_testing(instant=True)
    try:
        async for emulator, executor, _ in batching(EmulatorConfig(reset_rate=0.3, seed=8)):
            outcomes = await run_all(executor, [job() for _ in range(40)])
            assert all(o.status == "succeeded" for o in outcomes)
            assert emulator.stats()["distinct_succeeded"] == 40
    finally:
        retry.set_testing(instant=False)


async def test_items_count_against_the_lane_rate() -> None:
    # 10 items/s paced: 30 jobs in batches of 10 take about 2 s, whatever the batch size.
    async for _emulator, executor, lanes in batching(EmulatorConfig(), size=10):
        lane = lanes.lane("t")
        lane.pacer.rate = 10.0
        assert lane.learner is not None
        lane.learner.ceiling = 10.0
        started = time.monotonic()
        outcomes = await run_all(executor, [job() for _ in range(30)])
        assert all(o.status == "succeeded" for o in outcomes)
        assert time.monotonic() - started >= 1.8


async def test_batches_save_round_trips_under_latency() -> None:
    async for emulator, executor, _ in batching(EmulatorConfig(latency_ms=50), size=20, concurrency=2):
        started = time.monotonic()
        outcomes = await run_all(executor, [job() for _ in range(200)])
        elapsed = time.monotonic() - started
        assert all(o.status == "succeeded" for o in outcomes)
        assert emulator.stats()["batches"] <= 12
        assert elapsed < 1.5  # 200 single PATCHes over 2 connections would take 5 s
