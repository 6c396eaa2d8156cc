"""The retry policy and lanes against the real emulator: every fault class and Retry-After form."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import orjson
import pytest

from tests.polling import eventually
from worker.auth.tokens import Credentials, StaticToken
from worker.emulator.config import RETRY_AFTER_FORMATS, EmulatorConfig
from worker.emulator.running import RunningEmulator, start_emulator
from worker.jobs import Job, Outcome
from worker.schedule.lane import Lane, LaneLimits
from worker.schedule.lane_sender import LaneSender
from worker.schedule.lane_set import LaneSet
from worker.send import retry
from worker.send.executor import JobExecutor
from worker.send.http import GraphClient, new_session
from worker.send.retry import RetryPolicy

TOKEN_A = "emu.tenant-a.secret"
TOKEN_B = "emu.tenant-b.secret"


def job(tenant: str = "tenant-a", body: bytes = b'{"action": "Update"}') -> Job:
    return Job(
        job_id=str(uuid.uuid4()),
        line=1,
        tenant=tenant,
        path="/auditLogs/provisioning",
        body=body,
        client_request_id=str(uuid.uuid4()),
    )


@dataclass
class Harness:
    emulator: RunningEmulator
    lanes: LaneSet
    executor: JobExecutor

    async def run(self, jobs: list[Job]) -> list[Outcome]:
        return await asyncio.gather(*(self.executor.execute(j) for j in jobs))


@pytest.fixture
def instant_retries() -> Iterator[None]:
    retry.set_testing(instant=True)
    yield
    retry.set_testing(instant=False)


async def harness(
    config: EmulatorConfig, policy: RetryPolicy | None = None, *, read_timeout_s: float = 5.0
) -> AsyncIterator[Harness]:
    async with await start_emulator(config) as emulator:
        session = new_session(max_connections=64, connect_timeout_s=2, read_timeout_s=read_timeout_s)
        async with session:
            credentials = Credentials(None, {"tenant-a": StaticToken(TOKEN_A), "tenant-b": StaticToken(TOKEN_B)})
            client = GraphClient(session, emulator.base_url, credentials)
            lanes = LaneSet(lambda _tenant: LaneLimits(max_concurrency=8))
            executor = JobExecutor(
                LaneSender(lanes, client.patch), policy or RetryPolicy(max_attempts=10, max_elapsed_s=30)
            )
            yield Harness(emulator, lanes, executor)


@pytest.mark.parametrize("retry_after", [f for f in RETRY_AFTER_FORMATS if f != "rotate"])
async def test_every_retry_after_form_ends_in_success(retry_after: str) -> None:
    config = EmulatorConfig(quota_per_s=10, quota_burst=2, retry_after=retry_after)  # type: ignore[arg-type]
    policy = RetryPolicy(max_attempts=10, max_elapsed_s=30, backoff_initial_s=0.05, backoff_max_s=0.5)
    async for h in harness(config, policy):
        started = time.monotonic()
        outcomes = await h.run([job() for _ in range(8)])
        assert [o.status for o in outcomes] == ["succeeded"] * 8
        assert h.emulator.stats()["distinct_succeeded"] == 8
        assert time.monotonic() - started < 15
        assert h.lanes.lane("tenant-a").throttled >= 1  # the quota really pushed back


async def test_client_request_id_is_kept_across_retries(instant_retries: None) -> None:
    async for h in harness(EmulatorConfig(error_rate=0.6, seed=3)):
        outcomes = await h.run([job() for _ in range(10)])
        assert all(o.status == "succeeded" for o in outcomes)
        retried = [o for o in outcomes if o.attempts > 1]
        assert retried, "with 60 % 503s some job must have been retried"
        for outcome in retried:
            seen = [r for r in h.emulator.requests() if r.client_request_id == outcome.client_request_id]
            assert len(seen) == outcome.attempts
            assert [r.status for r in seen][-1] == 200


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried(status: int, instant_retries: None) -> None:
    async for h in harness(EmulatorConfig(error_rate=0.5, error_status=status, seed=5)):
        outcomes = await h.run([job() for _ in range(10)])
        assert all(o.status == "succeeded" for o in outcomes)
        assert sum(o.attempts for o in outcomes) > 10


async def test_connection_resets_are_retried(instant_retries: None) -> None:
    async for h in harness(EmulatorConfig(reset_rate=0.4, seed=11)):
        outcomes = await h.run([job() for _ in range(10)])
        assert all(o.status == "succeeded" for o in outcomes)
        assert h.emulator.stats()["dropped"] > 0
        assert h.emulator.stats()["distinct_succeeded"] == 10


async def test_timeouts_are_retried_then_fail_as_transport_errors(instant_retries: None) -> None:
    policy = RetryPolicy(max_attempts=3, max_elapsed_s=30)
    async for h in harness(EmulatorConfig(latency_ms=400), policy, read_timeout_s=0.1):
        (outcome,) = await h.run([job()])
        assert outcome.status == "failed"
        assert outcome.attempts == 3
        assert outcome.http_status is None
        assert outcome.error is not None
        assert outcome.error.kind == "transport_error"
        assert "timed out" in outcome.error.message


async def test_exhausted_retries_fail_with_last_status_and_graph_code(instant_retries: None) -> None:
    policy = RetryPolicy(max_attempts=4, max_elapsed_s=30)
    async for h in harness(EmulatorConfig(error_rate=1.0, error_status=503), policy):
        (outcome,) = await h.run([job()])
        assert outcome.status == "failed"
        assert outcome.attempts == 4
        assert outcome.http_status == 503
        assert outcome.error is not None
        assert outcome.error.kind == "ServiceUnavailable"


async def test_other_4xx_are_final_after_one_attempt() -> None:
    async for h in harness(EmulatorConfig()):
        bad_body, wrong_token = (
            job(body=b'{"durationInMilliseconds": "six"}'),
            job(tenant="tenant-c"),
        )  # c: no credentials
        outcomes = await h.run([bad_body, wrong_token])
        assert [o.status for o in outcomes] == ["failed", "failed"]
        assert [o.attempts for o in outcomes] == [1, 1]
        assert outcomes[0].http_status == 400
        assert outcomes[0].error is not None
        assert outcomes[0].error.kind == "BadRequest"
        assert outcomes[1].error is not None
        assert outcomes[1].error.kind == "no_credentials"


async def test_retry_after_longer_than_the_cap_fails_as_throttled() -> None:
    policy = RetryPolicy(max_attempts=5, max_retry_after_s=5)
    async for h in harness(EmulatorConfig(quota_per_s=0.01, quota_burst=1), policy):
        first, second = await h.run([job(), job()])
        assert first.status == "succeeded"
        assert second.status == "failed"
        assert second.attempts == 1
        assert second.http_status == 429
        assert second.error is not None
        assert "max_retry_after_s" in second.error.message


async def test_a_429_pauses_the_whole_lane_once() -> None:
    config = EmulatorConfig(quota_per_s=5, quota_burst=1, retry_after="fractional")
    async for h in harness(config):
        outcomes = await h.run([job() for _ in range(6)])
        assert all(o.status == "succeeded" for o in outcomes)
        lane = h.lanes.lane("tenant-a")
        # in-flight requests learn of the throttling together; the gate then holds the rest back
        assert lane.throttled <= 8
        assert lane.gate.paused_s > 0
        assert lane.pacer.rate is not None  # the lane now paces itself


def _paused(lane: Lane) -> Callable[[], bool]:
    return lambda: not lane.gate.is_open()


async def test_paused_lane_does_not_block_another() -> None:
    # Tenant a is throttled hard (the bucket allows 1 request per 2 s); tenant b is never throttled.
    config = EmulatorConfig(quota_per_s=0.5, quota_burst=1, retry_after="fractional")
    async for h in harness(config):
        a_jobs = [h.executor.execute(job("tenant-a")) for _ in range(3)]
        a_task = asyncio.gather(*a_jobs)
        await eventually(_paused(h.lanes.lane("tenant-a")), "tenant-a paused by its first 429")
        started = time.monotonic()
        b_outcome = await h.executor.execute(job("tenant-b"))
        assert b_outcome.status == "succeeded"
        assert time.monotonic() - started < 0.5
        assert not a_task.done()
        a_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await a_task


def test_job_bodies_are_sent_as_given() -> None:
    body = b'{"statusInfo": null}'
    assert orjson.loads(job(body=body).body) == {"statusInfo": None}
