"""Distributed mode on a real redis-server: replicas sharing one stream, reclaiming, dead letters, shared rate."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.conftest import EXAMPLES, TOKEN
from tests.service.helpers import (
    API_KEY,
    AUTH,
    ServeProcess,
    assert_cancelled_results,
    numbered,
    results,
    service_settings,
    started,
    status,
    upload,
    wait_for_done,
    wait_for_state,
    wait_gone,
)
from worker.emulator.running import RunningEmulator
from worker.service.redis.keys import GROUP, Keys
from worker.settings import Settings

pytestmark = pytest.mark.redis


def replica_settings(emulator: RunningEmulator, state: Path, redis_url: str, **queue: Any) -> Settings:
    settings = service_settings(emulator.base_url, state, queue=redis_url)
    return settings.model_copy(update={"queue": settings.queue.model_copy(update=queue)})


async def test_a_batch_runs_through_redis_and_any_replica_answers(
    emulator: RunningEmulator, tmp_path: Path, redis_url: str
) -> None:
    one = replica_settings(emulator, tmp_path / "one", redis_url)
    two = replica_settings(emulator, tmp_path / "two", redis_url)
    async with started(one) as (_, first), started(two) as (_, second):
        created = await upload(first, EXAMPLES.read_bytes(), name="examples")
        done = await wait_for_state(second, created["id"])  # asked of the other replica
        rows = await results(second, created["id"])
        async with second.get("/v1/batches", headers=AUTH) as response:
            listed = await response.json()
        async with second.get("/metrics", headers=AUTH) as response:
            metrics = await response.text()
    assert done["state"] == "failed"
    assert done["counts"] == {"succeeded": 5, "failed": 0, "rejected": 10}
    assert (done["total"], done["name"]) == (15, "examples")
    assert sorted(row["line"] for row in rows) == list(range(1, 16))
    assert [batch["id"] for batch in listed["batches"]] == [created["id"]]
    assert 'patch_worker_batches{state="failed"} 1.0' in metrics
    assert list((tmp_path / "one" / "uploads").iterdir()) == []  # the body left the replica with the 202


async def test_cancel_stops_every_replica_sending(emulator: RunningEmulator, tmp_path: Path, redis_url: str) -> None:
    emulator.configure(latency_ms=100)
    settings = replica_settings(emulator, tmp_path / "one", redis_url)
    settings = settings.model_copy(update={"run": settings.run.model_copy(update={"concurrency": 2})})
    async with started(settings) as (_, client):
        created = await upload(client, numbered(200))
        await wait_for_state(client, created["id"], ("running",))
        async with client.delete(created["links"]["self"], headers=AUTH) as response:
            assert response.status == 200
        await wait_for_state(client, created["id"], ("cancelled",))  # every line has its result: none in flight
        sent = len(emulator.requests())
        await asyncio.sleep(0.5)  # the behaviour under test: nothing is sent over a while
        assert len(emulator.requests()) == sent
        await wait_for_done(client, created["id"], 200)  # every line gets its result, sent or not
        found = await status(client, created["id"])
        rows = await results(client, created["id"])
        async with client.delete(created["links"]["self"], headers=AUTH) as response:
            assert response.status == 409
        async with client.get("/v1/batches/" + "c" * 32, headers=AUTH) as response:
            assert response.status == 404
    assert found["state"] == "cancelled"
    assert found["done"] == len(rows) == 200
    assert sent < 200
    assert_cancelled_results(rows, 200, sent)


async def test_a_job_delivered_too_often_is_dead_lettered_with_a_failed_result(
    emulator: RunningEmulator, tmp_path: Path, redis_url: str
) -> None:
    settings = replica_settings(emulator, tmp_path / "one", redis_url, claim_idle_s=0.5, max_deliveries=1)
    keys = Keys(settings.queue.prefix)
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.xgroup_create(keys.jobs, GROUP, id="0", mkstream=True)
        await client.hset(keys.batch("d" * 32), mapping={"state": "queued", "created": 1, "updated": 1, "total": 3})
        await client.zadd(keys.batches, {"d" * 32: 1})
        lines = numbered(3).splitlines()
        ids = [await client.xadd(keys.jobs, {"b": "d" * 32, "l": n, "d": lines[n - 1]}) for n in (1, 2, 3)]
        ghost: Any = await client.xreadgroup(GROUP, "ghost", {keys.jobs: ">"}, count=2)  # dies holding jobs 1 and 2
        assert len(ghost[0][1]) == 2
        await client.hset(keys.errors, ids[0], "worker OOM-killed")
        async with started(settings) as (_, api):
            done = await wait_for_state(api, "d" * 32, timeout=15)
            rows = {row["line"]: row for row in await results(api, "d" * 32)}
        dead: Any = await client.xrange(keys.dead)
        pending = await client.xpending(keys.jobs, GROUP)
    finally:
        await client.aclose()
    assert done["state"] == "failed"
    assert done["counts"] == {"succeeded": 1, "failed": 2, "rejected": 0}
    assert rows[3]["status"] == "succeeded"
    assert {rows[1]["error"]["kind"], rows[2]["error"]["kind"]} == {"delivery_limit"}
    assert "worker OOM-killed" in rows[1]["error"]["message"]
    assert sorted(int(fields[b"l"]) for _, fields in dead) == [1, 2]
    assert {fields[b"error"] for _, fields in dead} >= {b"worker OOM-killed"}
    assert pending["pending"] == 0


async def test_the_lane_rate_is_shared_by_replicas(emulator: RunningEmulator, tmp_path: Path, redis_url: str) -> None:
    rate, total = 20.0, 40
    settings = [
        replica_settings(emulator, tmp_path / name, redis_url, read_count=2) for name in ("one", "two", "three")
    ]
    settings = [s.model_copy(update={"run": s.run.model_copy(update={"rate": rate})}) for s in settings]
    async with started(settings[0]) as (_, first), started(settings[1]), started(settings[2]):
        created = await upload(first, numbered(total))
        done = await wait_for_state(first, created["id"], timeout=30)
    assert done["state"] == "succeeded"
    times = sorted(request.time for request in emulator.requests())
    assert len(times) == total
    # three replicas, each paced at `rate` on its own, would take a third of this
    assert times[-1] - times[0] >= (total - 1) / rate * 0.9


@pytest.mark.timeout(180)
async def test_two_replicas_one_sigkilled_every_job_ends_once(
    emulator: RunningEmulator, tmp_path: Path, redis_url: str
) -> None:
    emulator.configure(latency_ms=30)
    total = 1500
    env = {
        "GRAPH_TOKEN": TOKEN,
        "PATCH_WORKER_SERVICE__API_KEY": API_KEY,
        "PATCH_WORKER_SERVICE__QUEUE": redis_url,
        "PATCH_WORKER_QUEUE__CLAIM_IDLE_S": "2",
        "PATCH_WORKER_QUEUE__READ_COUNT": "16",
        "PATCH_WORKER_RUN__CONCURRENCY": "8",
        "PATCH_WORKER_LOG__FORMAT": "json",
    }
    victim = await ServeProcess.start(tmp_path / "a", emulator, env=env)
    survivor = await ServeProcess.start(tmp_path / "b", emulator, env=env)
    async with aiohttp.ClientSession(survivor.url) as client:
        created = await upload(client, numbered(total))
        await wait_for_done(client, created["id"], total // 4)
        victim.proc.send_signal(signal.SIGKILL)
        code, _ = await victim.finish()
        assert code == -signal.SIGKILL
        killed_at = time.monotonic()
        done = await wait_for_state(client, created["id"], timeout=90)
        rows = await results(client, created["id"])
    survivor.proc.send_signal(signal.SIGTERM)
    code, err = await survivor.finish()
    assert code == 0, err
    assert done["state"] == "succeeded"
    assert done["counts"]["succeeded"] == total
    assert sorted(row["line"] for row in rows) == list(range(1, total + 1))  # exactly one final state per job
    deliveries = Counter(request.body["jobId"] for request in emulator.requests(status=200))
    assert set(deliveries) == {f"job-{i}" for i in range(1, total + 1)}  # every job reached Graph at least once
    assert "queue.reclaimed" in err  # the survivor took over the jobs the dead replica held
    assert time.monotonic() - killed_at >= 2  # ... once they had been idle for claim_idle_s


async def test_finished_batches_are_deleted_from_redis_after_the_retention(
    emulator: RunningEmulator, tmp_path: Path, redis_url: str
) -> None:
    emulator.configure(latency_ms=200)
    settings = replica_settings(emulator, tmp_path / "one", redis_url)
    settings = settings.model_copy(
        update={
            "run": settings.run.model_copy(update={"concurrency": 1}),
            "service": settings.service.model_copy(update={"retention_s": 0.4}),
        }
    )
    keys = Keys(settings.queue.prefix)
    async with started(settings) as (_, client):
        short = await upload(client, numbered(2))
        assert (await wait_for_state(client, short["id"]))["state"] == "succeeded"
        long = await upload(client, numbered(30))  # 6 s at one request of 200 ms at a time
        await wait_gone(client, short["id"])
        still = await status(client, long["id"])
        redis = aioredis.Redis.from_url(redis_url)
        try:
            left = await redis.exists(keys.batch(short["id"]), keys.results(short["id"]), keys.done(short["id"]))
            indexed = await redis.zscore(keys.batches, short["id"])
            kept = await redis.exists(keys.batch(long["id"]))
        finally:
            await redis.aclose()
        async with client.delete(long["links"]["self"], headers=AUTH) as response:
            assert response.status == 200
    assert still["state"] == "running"  # an unfinished batch is never pruned
    assert (left, indexed, kept) == (0, None, 1)
