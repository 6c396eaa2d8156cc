"""Issue 17's must-show: 20,000 jobs pushed by a producer process while two consumers run, one SIGKILLed midway.

Exactly one result per entry, every body delivered unchanged, and no more jobs sent twice than the killed
consumer could hold (`queue.max_in_flight` plus one read of `queue.read_count`).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.conftest import REPO, cli_env
from tests.consume.helpers import STREAM, Consumer, results
from tests.consume.producer import body
from tests.polling import until
from worker.emulator.running import RunningEmulator

pytestmark = [pytest.mark.redis, pytest.mark.slow]

JOBS = 20_000
MAX_IN_FLIGHT = 400
READ_COUNT = 64
ENV = {
    "PATCH_WORKER_QUEUE__CLAIM_IDLE_S": "2",
    "PATCH_WORKER_QUEUE__BLOCK_S": "0.2",
    "PATCH_WORKER_QUEUE__MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
    "PATCH_WORKER_QUEUE__READ_COUNT": str(READ_COUNT),
    "PATCH_WORKER_LOG__LEVEL": "warning",
}


@pytest.mark.timeout(180)
async def test_twenty_thousand_jobs_two_consumers_one_killed_exactly_one_result_each(
    emulator: RunningEmulator, redis_url: str, tmp_path: Path
) -> None:
    emulator.configure(latency_ms=1, record_limit=2 * JOBS)
    client = aioredis.Redis.from_url(redis_url)
    start = (redis_url, emulator.base_url)
    first = await Consumer.start(tmp_path, "first", *start, env=ENV)
    second = await Consumer.start(tmp_path, "second", *start, env=ENV)
    producer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.consume.producer", redis_url, STREAM, str(JOBS), cwd=REPO, env=cli_env()
    )

    await until(lambda: _results_at_least(client, JOBS // 4), "a quarter done", timeout=90)
    first.kill()  # midway, with jobs in flight: they stay pending until the survivors take them over
    assert await first.finish() < 0
    restarted = await Consumer.start(tmp_path, "restarted", *start, env=ENV)
    assert await asyncio.wait_for(producer.wait(), 60) == 0
    await until(lambda: _results_at_least(client, JOBS), "every job done", timeout=120)
    assert await second.stop() == 0, second.err.read_text()[-2000:]
    assert await restarted.stop() == 0, restarted.err.read_text()[-2000:]

    rows = await results(client)
    assert len(rows) == JOBS
    assert len({row["messageId"] for row in rows}) == JOBS  # exactly one result per entry
    assert sorted(row["jobId"] for row in rows) == sorted(f"job-{index}" for index in range(JOBS))
    assert Counter(row["status"] for row in rows) == {"succeeded": JOBS}
    received = emulator.recorder.requests()
    for request in received:  # every body arrived as the producer wrote it
        assert request.body == body(int(request.path.rsplit("-", 1)[1])), request.path
    assert {request.path.rsplit("/", 1)[1] for request in received} == {f"obj-{index}" for index in range(JOBS)}
    resent = len(received) - JOBS
    assert 0 <= resent <= MAX_IN_FLIGHT + READ_COUNT, resent
    assert await client.xlen(STREAM) == 0
    await client.aclose()


async def _results_at_least(client: aioredis.Redis, count: int) -> bool:
    return int(await client.xlen(f"{STREAM}:results")) >= count
