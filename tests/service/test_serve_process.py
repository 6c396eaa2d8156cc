"""`patch-worker serve` and `submit` as real processes: start-up checks, SIGTERM drain, SIGKILL and resume."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.conftest import EXAMPLES, TOKEN, run_cli
from tests.polling import until
from tests.service.helpers import API_KEY, AUTH, ServeProcess, numbered, results, upload, wait_for_done, wait_for_state
from worker.emulator.running import RunningEmulator


def batch_row(state: Path, batch_id: str) -> tuple[str, int, int]:
    """(state, done, total) straight from the store."""
    with sqlite3.connect(state / "service.db") as db:
        row = db.execute(
            "SELECT state, succeeded + failed + rejected, total FROM batches WHERE id = ?", (batch_id,)
        ).fetchone()
    return str(row[0]), int(row[1]), int(row[2])


async def test_serve_refuses_to_start_without_an_api_key(emulator: RunningEmulator, tmp_path: Path) -> None:
    done = await run_cli("serve", "--port", "0", "--state-dir", str(tmp_path / "s"), env={"GRAPH_TOKEN": TOKEN})
    assert done.code == 2
    assert "no API key" in done.stderr
    assert "PATCH_WORKER_SERVICE__API_KEY" in done.stderr
    assert "Traceback" not in done.stderr


async def test_serve_reads_the_key_from_a_secret_file(emulator: RunningEmulator, tmp_path: Path) -> None:
    secret = tmp_path / "api-key"
    secret.write_text(API_KEY + "\n")
    env = {"GRAPH_TOKEN": TOKEN, "PATCH_WORKER_SERVICE__API_KEY_FILE": str(secret)}
    server = await ServeProcess.start(tmp_path / "state", emulator, env=env)
    async with aiohttp.ClientSession(server.url) as client:
        created = await upload(client, numbered(3))
        assert (await wait_for_state(client, created["id"]))["state"] == "succeeded"
    server.proc.send_signal(signal.SIGTERM)
    code, _ = await server.finish()
    assert code == 0


@pytest.mark.timeout(120)
async def test_sigterm_drains_then_a_restart_finishes_the_batch(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(latency_ms=400)
    state = tmp_path / "state"
    total = 300
    server = await ServeProcess.start(state, emulator)
    async with aiohttp.ClientSession(server.url) as client:
        created = await upload(client, numbered(total))
        await wait_for_done(client, created["id"], 40)
        server.proc.send_signal(signal.SIGTERM)

        async def draining() -> bool:  # not ready while jobs in flight (0.4 s each) finish
            async with client.get("/readyz") as response:
                return response.status == 503

        await until(draining, "/readyz 503 while draining", timeout=5)
        async with client.get(f"/v1/batches/{created['id']}", headers=AUTH) as response:
            assert response.status == 200  # status is still answered while draining
    signalled = time.monotonic()
    code, err = await server.finish()
    assert code == 0, err
    assert time.monotonic() - signalled < 5  # in-flight requests took 0.4 s; the grace period is 25 s
    stopped_state, done, _ = batch_row(state, created["id"])
    assert stopped_state == "interrupted"
    assert 40 <= done < total
    ledger = (state / "batches" / created["id"] / "results.jsonl").read_bytes()
    recorded = {orjson.loads(line)["clientRequestId"] for line in ledger.splitlines()}
    assert {r.client_request_id for r in emulator.requests()} <= recorded  # everything sent was waited for

    emulator.configure(latency_ms=0)
    server = await ServeProcess.start(state, emulator)
    async with aiohttp.ClientSession(server.url) as client:
        finished = await wait_for_state(client, created["id"])
        rows = await results(client, created["id"])
    server.proc.send_signal(signal.SIGTERM)
    await server.finish()
    assert finished["state"] == "succeeded"
    assert sorted(row["line"] for row in rows) == list(range(1, total + 1))


@pytest.mark.timeout(180)
async def test_sigkill_mid_batch_then_restart_gives_exactly_one_result_per_line(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    emulator.configure(latency_ms=50)
    state = tmp_path / "state"
    total = 2000
    server = await ServeProcess.start(state, emulator)
    async with aiohttp.ClientSession(server.url) as client:
        created = await upload(client, numbered(total))
        # queued behind it when the process dies; its own job ids, so its PATCHes are not counted as re-sends
        queued = await upload(client, numbered(10).replace(b'"job-', b'"queued-'))
        await wait_for_done(client, created["id"], 300)
    server.proc.send_signal(signal.SIGKILL)
    code, _ = await server.finish()
    assert code == -signal.SIGKILL
    assert batch_row(state, created["id"])[0] == "running"

    server = await ServeProcess.start(state, emulator)
    async with aiohttp.ClientSession(server.url) as client:
        finished = await wait_for_state(client, created["id"], timeout=60)
        rows = await results(client, created["id"])
        second = await wait_for_state(client, queued["id"], timeout=30)
    server.proc.send_signal(signal.SIGTERM)
    await server.finish()
    assert finished["state"] == "succeeded"
    assert finished["counts"]["succeeded"] == total
    assert sorted(row["line"] for row in rows) == list(range(1, total + 1))  # exactly one result per line
    assert second["state"] == "succeeded"
    deliveries = Counter(r.body["jobId"] for r in emulator.requests(status=200) if r.body["jobId"].startswith("job-"))
    assert set(deliveries) == {f"job-{i}" for i in range(1, total + 1)}  # every job reached Graph
    assert sum(n - 1 for n in deliveries.values()) <= 32  # at most the in-flight window (concurrency 32) twice


async def test_submit_waits_and_reports_like_run(emulator: RunningEmulator, tmp_path: Path) -> None:
    server = await ServeProcess.start(tmp_path / "state", emulator)
    env = {"PATCH_WORKER_SERVICE__API_KEY": API_KEY}
    try:
        mixed = await run_cli("submit", str(EXAMPLES), "--server", server.url, "--wait", "--poll", "0.1", env=env)
        assert mixed.code == 1, mixed.stderr
        batch_id, summary_line = mixed.stdout.splitlines()
        summary = orjson.loads(summary_line)
        assert summary["id"] == batch_id
        assert summary["counts"] == {"succeeded": 5, "failed": 0, "rejected": 10}

        good = tmp_path / "good.jsonl"
        good.write_bytes(numbered(25))
        saved = tmp_path / "results.jsonl"
        ok = await run_cli(
            "submit",
            str(good),
            "--server",
            server.url,
            "--wait",
            "--poll",
            "0.1",
            "--results",
            str(saved),
            "--name",
            "nightly",
            env=env,
        )
        assert ok.code == 0, ok.stderr
        assert orjson.loads(ok.stdout.splitlines()[1])["name"] == "nightly"
        assert sorted(orjson.loads(line)["line"] for line in saved.read_bytes().splitlines()) == list(range(1, 26))

        no_wait = await run_cli("submit", str(good), "--server", server.url, env=env)
        assert no_wait.code == 0
        assert len(no_wait.stdout.strip()) == 32

        wrong = await run_cli("submit", str(good), "--server", server.url, env=dict.fromkeys(env, "nope"))
        assert wrong.code == 2
        assert "401" in wrong.stderr
        missing = await run_cli("submit", str(good), "--server", server.url)
        assert missing.code == 2
        assert "PATCH_WORKER_SERVICE__API_KEY" in missing.stderr
    finally:
        server.proc.send_signal(signal.SIGTERM)
        await server.finish()
    unreachable = await run_cli("submit", str(good), "--server", server.url, env=env)
    assert unreachable.code == 2
    assert "cannot reach" in unreachable.stderr
