"""`patch-worker consume azure-queue://QUEUE` on a real Azurite, as real processes: results, poison, a killed consumer.

The killed-consumer test sends 2,000 jobs (`AZURE_KILL_JOBS` sets another count: the README's figure is a
hand run of 20,000, too slow for CI on Azurite, which takes one message per request).
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from tests.azurite import Azurite
from tests.conftest import REPO, TOKEN, cli_env, run_cli
from tests.consume.helpers import Consumer
from tests.consume.producer import body, line, template
from tests.polling import until
from worker.emulator.running import RunningEmulator
from worker.sources.azure_queue import SETTLE_CONCURRENCY

FAST = {"PATCH_WORKER_QUEUE__BLOCK_S": "0.2", "PATCH_WORKER_QUEUE__CLAIM_IDLE_S": "3"}
UNTIL_EMPTY = ("--until-empty", "--idle-s", "1")
KILL_JOBS = int(os.environ.get("AZURE_KILL_JOBS", "2000"))
MAX_IN_FLIGHT = 256


async def start(
    folder: Path, name: str, azurite: Azurite, queue: QueueClient, base_url: str, *extra: str, env: dict[str, str]
) -> Consumer:
    """One `consume azure-queue://QUEUE` process, its output in files."""
    out, err = folder / f"{name}.out", folder / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "worker",
            "consume",
            f"azure-queue://{queue.queue_name}",
            "--base-url",
            base_url,
            "--log-format",
            "json",
            *extra,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=REPO,
            env=cli_env({"GRAPH_TOKEN": TOKEN, "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string, **env}),
        )
    return Consumer(proc, out, err)


def twin(queue: QueueClient, suffix: str, azurite: Azurite) -> QueueClient:
    return QueueClient.from_connection_string(azurite.connection_string, queue.queue_name + suffix)


async def drain(queue: QueueClient, suffix: str, azurite: Azurite) -> list[dict[str, Any]]:
    """Every message of QUEUE-suffix, taken out and parsed."""
    found: list[dict[str, Any]] = []
    async with twin(queue, suffix, azurite) as client:
        pages = client.receive_messages(messages_per_page=32, visibility_timeout=3600)  # not seen twice
        async for page in pages.by_page():
            found.extend([orjson.loads(message.content) async for message in page])
    return found


async def count(queue: QueueClient, suffix: str, azurite: Azurite) -> int:
    """Messages in QUEUE-suffix (0 before a consumer created it)."""
    async with twin(queue, suffix, azurite) as client:
        try:
            return (await client.get_queue_properties()).approximate_message_count or 0
        except ResourceNotFoundError:
            return 0


async def test_plain_and_base64_messages_each_get_one_result_and_leave_the_queue(
    emulator: RunningEmulator, azurite: Azurite, azure_queue: QueueClient, tmp_path: Path
) -> None:
    ids = [(await azure_queue.send_message(line(index, template()).decode())).id for index in range(2)]
    ids.append((await azure_queue.send_message(base64.b64encode(line(2, template())).decode())).id)
    ids.append((await azure_queue.send_message("not json")).id)
    consumer = await start(tmp_path, "c", azurite, azure_queue, emulator.base_url, *UNTIL_EMPTY, env=FAST)
    assert await consumer.finish() == 1, consumer.err.read_text()[-2000:]  # a rejected message, like a line

    rows = {row["messageId"]: row for row in await drain(azure_queue, "-results", azurite)}
    assert sorted(rows) == sorted(ids)
    assert [rows[i]["status"] for i in ids] == ["succeeded"] * 3 + ["rejected"]
    assert [rows[i]["jobId"] for i in ids[:3]] == ["job-0", "job-1", "job-2"]
    assert rows[ids[3]]["jobId"] == ids[3]  # no jobId of its own: named by its message id
    assert rows[ids[3]]["error"]["kind"] == "invalid_json"
    assert all(row["line"] is None for row in rows.values())
    sent = {request.path.rsplit("/", 1)[1]: request.body for request in emulator.recorder.requests()}
    assert sent == {f"obj-{index}": body(index) for index in range(3)}
    assert await count(azure_queue, "", azurite) == 0
    assert await count(azure_queue, "-poison", azurite) == 0


async def test_a_job_that_always_gets_5xx_ends_in_the_poison_queue_with_its_last_error(
    emulator: RunningEmulator, azurite: Azurite, azure_queue: QueueClient, tmp_path: Path
) -> None:
    emulator.configure(error_rate=1.0, error_status=500)
    message_id = (await azure_queue.send_message(line(0, template()).decode())).id
    env = {
        **FAST,
        "PATCH_WORKER_QUEUE__MAX_DELIVERIES": "3",
        "PATCH_WORKER_RETRY__MAX_ATTEMPTS": "2",
        "PATCH_WORKER_RETRY__BACKOFF_INITIAL_S": "0.05",
        "PATCH_WORKER_RETRY__BACKOFF_MAX_S": "0.1",
    }
    consumer = await start(tmp_path, "c", azurite, azure_queue, emulator.base_url, *UNTIL_EMPTY, env=env)
    assert await consumer.finish() == 1, consumer.err.read_text()[-2000:]

    [poisoned] = await drain(azure_queue, "-poison", azurite)
    assert (poisoned["messageId"], poisoned["dequeueCount"]) == (message_id, 3)
    assert poisoned["lastError"].startswith("HTTP 500 InternalServerError: "), poisoned
    assert orjson.loads(poisoned["message"]) == orjson.loads(line(0, template()))
    [row] = await drain(azure_queue, "-results", azurite)
    assert (row["messageId"], row["status"], row["httpStatus"]) == (message_id, "failed", 500)
    assert len(emulator.recorder.requests()) == 3 * 2  # three deliveries of two attempts each
    assert await count(azure_queue, "", azurite) == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_consumer_killed_midway_and_restarted_loses_nothing_and_resends_at_most_its_window(
    emulator: RunningEmulator, azurite: Azurite, azure_queue: QueueClient, tmp_path: Path
) -> None:
    env = {**FAST, "PATCH_WORKER_QUEUE__CLAIM_IDLE_S": "10", "PATCH_WORKER_QUEUE__MAX_IN_FLIGHT": str(MAX_IN_FLIGHT)}
    common = (azurite, azure_queue, emulator.base_url)
    producer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.consume.azure_producer",
        azure_queue.queue_name,
        str(KILL_JOBS),
        "base64",
        cwd=REPO,
        env=cli_env({"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}),
    )
    processes = [producer]
    try:
        await until(lambda: _has(azure_queue, "", azurite, 1), "producing", timeout=60)
        first = await start(tmp_path, "first", *common, env=env)
        second = await start(tmp_path, "second", *common, env=env)
        processes += [first.proc, second.proc]
        await until(lambda: _has(azure_queue, "-results", azurite, KILL_JOBS // 3), "a third done", timeout=300)
        first.kill()
        await first.finish()
        restarted = await start(tmp_path, "restarted", *common, env=env)
        processes.append(restarted.proc)
        assert await asyncio.wait_for(producer.wait(), 600) == 0
        # every message settled, the killed consumer's too once their invisibility (claim_idle_s) ran out
        await until(lambda: _empty(azure_queue, azurite), "every message settled", timeout=300)
        for consumer in (second, restarted):
            assert await consumer.stop() == 0, consumer.err.read_text()[-2000:]
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()

    rows = await drain(azure_queue, "-results", azurite)
    per_job = Counter(row["jobId"] for row in rows)
    assert set(per_job) == {f"job-{index}" for index in range(KILL_JOBS)}
    assert all(row["status"] == "succeeded" for row in rows)
    requests = emulator.recorder.requests()
    assert all(request.body == body(int(request.path.rsplit("-", 1)[1])) for request in requests)
    resent = len(requests) - KILL_JOBS
    duplicates = len(rows) - KILL_JOBS
    print(f"azure kill: {KILL_JOBS} jobs, {resent} re-sent, {duplicates} duplicate results: {per_job.most_common(3)}")
    assert 0 <= resent <= MAX_IN_FLIGHT
    # Azure has no transaction across queues: only a message whose result was written in the instant
    # before the kill, and not yet deleted, can get a second result (its job sent again)
    assert duplicates <= min(resent, SETTLE_CONCURRENCY)
    assert await count(azure_queue, "", azurite) == 0


async def _has(queue: QueueClient, suffix: str, azurite: Azurite, at_least: int) -> bool:
    return await count(queue, suffix, azurite) >= at_least


async def _empty(queue: QueueClient, azurite: Azurite) -> bool:
    return await count(queue, "", azurite) == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "needs AZURE_STORAGE_CONNECTION_STRING"),
        ({"AZURE_STORAGE_CONNECTION_STRING": "AccountKey=c2VjcmV0LWtleQ=="}, "not a valid connection string"),
    ],
)
async def test_a_queue_that_cannot_be_used_is_one_line_and_exit_2(env: dict[str, str], message: str) -> None:
    done = await run_cli("consume", "azure-queue://jobs", env={"GRAPH_TOKEN": "t", **env})
    assert done.code == 2, done.stderr
    assert message in done.stderr
    assert "c2VjcmV0LWtleQ" not in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_missing_queue_is_named(azurite: Azurite) -> None:
    env = {"GRAPH_TOKEN": "t", "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    done = await run_cli("consume", "azure-queue://nothing-here", env=env)
    assert done.code == 2, done.stderr
    assert "queue 'nothing-here' does not exist" in done.stderr
