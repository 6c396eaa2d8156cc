"""`patch-worker consume` on a real redis-server, as real processes: results, rejects, dead letters, exit codes."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis

from tests.conftest import run_cli
from tests.consume.helpers import STREAM, Consumer, add, dead, results
from tests.consume.producer import body, line, template
from tests.polling import until
from worker.emulator.running import RunningEmulator

pytestmark = pytest.mark.redis

#: short waits, so an idle queue is noticed in about a second
FAST = {"PATCH_WORKER_QUEUE__BLOCK_S": "0.2", "PATCH_WORKER_QUEUE__CLAIM_IDLE_S": "0.6"}
UNTIL_EMPTY = ("--until-empty", "--idle-s", "0.5")
JOBS_TO_DRAIN = 160


async def test_until_empty_sends_every_job_once_and_exits_with_runs_codes(
    emulator: RunningEmulator, redis_url: str, tmp_path: Path
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    good = [await add(client, line(index, template())) for index in range(3)]
    first = await Consumer.start(tmp_path, "first", redis_url, emulator.base_url, *UNTIL_EMPTY, env=FAST)
    assert await first.finish() == 0, first.err.read_text()[-2000:]  # every job succeeded
    bad = [await add(client, b"not json"), await add(client, b"x", field="other")]
    second = await Consumer.start(tmp_path, "second", redis_url, emulator.base_url, *UNTIL_EMPTY, env=FAST)
    assert await second.finish() == 1  # rejected messages, like rejected lines

    rows = await results(client)
    assert [row["messageId"] for row in rows] == good + bad
    assert [row["status"] for row in rows] == ["succeeded"] * 3 + ["rejected"] * 2
    assert [row["jobId"] for row in rows[:3]] == ["job-0", "job-1", "job-2"]
    assert rows[3]["error"]["kind"] == "invalid_json"
    assert rows[4]["jobId"] == bad[1]  # a message with no jobId of its own is named by its id
    assert all(row["line"] is None for row in rows)
    logged = [orjson.loads(entry) for entry in second.err.read_bytes().splitlines() if b'"job.rejected"' in entry]
    assert [(entry["jobId"], entry["line"]) for entry in logged] == [(bad[0], None), (bad[1], None)]  # as results
    sent = {request.path.rsplit("/", 1)[1]: request.body for request in emulator.recorder.requests()}
    assert sent == {f"obj-{index}": body(index) for index in range(3)}
    assert await client.xlen(STREAM) == 0  # settled entries are deleted
    assert (await client.xpending(STREAM, "patch-worker"))["pending"] == 0
    await client.aclose()


async def test_a_job_that_always_gets_5xx_goes_to_the_dead_stream_after_max_deliveries(
    emulator: RunningEmulator, redis_url: str, tmp_path: Path
) -> None:
    emulator.configure(error_rate=1.0, error_status=500)
    client = aioredis.Redis.from_url(redis_url)
    entry = await add(client, line(0, template()))
    env = {
        **FAST,
        "PATCH_WORKER_QUEUE__MAX_DELIVERIES": "3",
        "PATCH_WORKER_RETRY__MAX_ATTEMPTS": "2",
        "PATCH_WORKER_RETRY__BACKOFF_INITIAL_S": "0.05",
        "PATCH_WORKER_RETRY__BACKOFF_MAX_S": "0.1",
    }
    consumer = await Consumer.start(tmp_path, "c", redis_url, emulator.base_url, *UNTIL_EMPTY, env=env)
    assert await consumer.finish() == 1, consumer.err.read_text()[-2000:]

    [fields] = await dead(client)
    assert fields["messageId"] == entry
    assert fields["deliveries"] == "3"
    assert fields["error"].startswith("HTTP 500 InternalServerError: "), fields["error"]
    assert orjson.loads(fields["job"]) == orjson.loads(line(0, template()))
    [row] = await results(client)
    assert (row["messageId"], row["status"], row["httpStatus"]) == (entry, "failed", 500)
    assert len(emulator.recorder.requests()) == 3 * 2  # three deliveries of two attempts each
    assert await client.xlen(STREAM) == 0
    await client.aclose()


async def test_sigterm_drains_and_a_second_consumer_finishes_the_rest(
    emulator: RunningEmulator, redis_url: str, tmp_path: Path
) -> None:
    emulator.configure(latency_ms=100)
    client = aioredis.Redis.from_url(redis_url)
    for index in range(JOBS_TO_DRAIN):
        await add(client, line(index, template()))
    env = {**FAST, "PATCH_WORKER_RUN__CONCURRENCY": "4", "PATCH_WORKER_RUN__GRACE_S": "10"}
    first = await Consumer.start(tmp_path, "first", redis_url, emulator.base_url, env=env)
    await until(lambda: _has_results(client, 1), "some results")
    assert await first.stop() == 0  # a drained long-lived consumer is no failure
    drained = len(await results(client))
    assert 0 < drained < JOBS_TO_DRAIN
    second = await Consumer.start(tmp_path, "second", redis_url, emulator.base_url, *UNTIL_EMPTY, env=env)
    assert await second.finish(120) == 0, second.err.read_text()[-2000:]
    rows = await results(client)
    assert sorted(row["jobId"] for row in rows) == sorted(f"job-{index}" for index in range(JOBS_TO_DRAIN))
    assert all(row["status"] == "succeeded" for row in rows)
    await client.aclose()


async def _has_results(client: aioredis.Redis, count: int) -> bool:
    return int(await client.xlen(f"{STREAM}:results")) >= count


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("consume", "kafka://host/topic"), "no queue source for kafka"),
        (("consume", "redis://127.0.0.1:1/0"), "--stream NAME is required"),
        (("consume", "redis://:secret-pw@127.0.0.1:1/0", "--stream", "s"), "cannot reach the queue at redis://***@"),
    ],
)
async def test_a_bad_source_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    done = await run_cli(*args, env={"GRAPH_TOKEN": "t"})
    assert done.code == 2
    assert message in done.stderr
    assert "secret-pw" not in done.stderr
    assert "Traceback" not in done.stderr


async def test_listen_serves_health_readiness_and_metrics(
    emulator: RunningEmulator, redis_url: str, tmp_path: Path
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    await add(client, line(0, template()))
    consumer = await Consumer.start(tmp_path, "c", redis_url, emulator.base_url, "--listen", "127.0.0.1:0", env=FAST)
    await until(lambda: _has_results(client, 1), "the job done")
    url = await _listening(consumer)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/healthz") as health, session.get(f"{url}/readyz") as ready:
            assert (health.status, ready.status) == (200, 200)
        async with session.get(f"{url}/metrics") as metrics:
            text = await metrics.text()
    assert 'patch_worker_jobs_total{status="succeeded"} 1.0' in text
    assert await consumer.stop() == 0
    await client.aclose()


async def _listening(consumer: Consumer) -> str:
    """The URL the consumer logged as consume.listening."""
    for line_text in consumer.err.read_text().splitlines():
        if '"consume.listening"' in line_text:
            url: str = orjson.loads(line_text)["url"]
            return url
    raise AssertionError(f"no consume.listening line: {consumer.err.read_text()[-2000:]}")


async def test_jobs_read_ahead_are_kept_while_they_wait_for_room_and_sent_once(
    emulator: RunningEmulator, redis_url: str, tmp_path: Path
) -> None:
    """Each job takes longer than claim_idle_s, and only one is in flight: the rest of the read waits that
    long unsent; were its claims not renewed, the next reclaim would deliver (and send) them again."""
    emulator.configure(latency_ms=700)
    client = aioredis.Redis.from_url(redis_url)
    for index in range(4):
        await add(client, line(index, template()))
    env = {**FAST, "PATCH_WORKER_QUEUE__MAX_IN_FLIGHT": "1", "PATCH_WORKER_QUEUE__READ_COUNT": "10"}
    consumer = await Consumer.start(tmp_path, "c", redis_url, emulator.base_url, *UNTIL_EMPTY, env=env)
    assert await consumer.finish() == 0, consumer.err.read_text()[-2000:]
    assert sorted(request.path for request in emulator.recorder.requests()) == [
        f"/auditLogs/provisioning/obj-{index}" for index in range(4)
    ]
    assert len(await results(client)) == 4
    await client.aclose()
