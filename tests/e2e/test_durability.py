"""Crash and resume, graceful shutdown, unwritable results: real subprocesses, real signals."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import TOKEN, read_results, run_cli, start_cli, write_lines
from tests.polling import eventually, logged
from worker.emulator.running import RunningEmulator

CONCURRENCY = 16


def numbered_jobs(path: Path, count: int) -> Path:
    """Bare bodies whose jobId property makes every line's PATCH recognisable at the emulator."""
    return write_lines(path, [{"jobId": f"job-{i}", "action": "Update"} for i in range(1, count + 1)])


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


async def wait_for_results(results: Path, at_least: int, timeout: float = 60) -> None:
    await eventually(lambda: line_count(results) >= at_least, f"{results} with {at_least} lines", timeout)


def run_args(source: Path, state: Path, emulator: RunningEmulator, *extra: str) -> list[str]:
    return [
        "run",
        str(source),
        "--state",
        str(state),
        "--base-url",
        emulator.base_url,
        "--concurrency",
        str(CONCURRENCY),
        "--no-progress",
        *extra,
    ]


@pytest.mark.timeout(300)
async def test_sigkill_and_resume_loses_nothing(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.config.update({"latency_ms": 3})
    total = 5000
    source = numbered_jobs(tmp_path / "in.jsonl", total)
    state = tmp_path / "state"
    results = state / "results.jsonl"
    rng = random.Random(20261129)
    kills = 0
    for fraction in sorted(rng.uniform(0.1, 0.9) for _ in range(3)):
        proc = await start_cli(*run_args(source, state, emulator))
        await wait_for_results(results, int(total * fraction))
        proc.send_signal(signal.SIGKILL)
        await proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        kills += 1
    done = await run_cli(*run_args(source, state, emulator), env={"GRAPH_TOKEN": TOKEN})
    assert done.code == 0, done.stderr

    rows = read_results(results)
    assert sorted(row["line"] for row in rows) == list(range(1, total + 1))  # exactly one result per line
    assert all(row["status"] == "succeeded" for row in rows)
    deliveries = Counter(r.body["jobId"] for r in emulator.requests(status=200))
    assert set(deliveries) == {f"job-{i}" for i in range(1, total + 1)}  # every job reached Graph
    sent_twice = sum(n - 1 for n in deliveries.values())
    assert sent_twice <= kills * CONCURRENCY  # at most the in-flight window per kill


async def test_sigterm_drains_in_flight_then_resume_finishes(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.config.update({"latency_ms": 300})
    total = 200
    source = numbered_jobs(tmp_path / "in.jsonl", total)
    state = tmp_path / "state"
    results = state / "results.jsonl"
    proc = await start_cli(*run_args(source, state, emulator))
    await wait_for_results(results, 20)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = await proc.communicate()
    assert proc.returncode == 130, err.decode()
    assert time.monotonic() - signalled < 3  # in-flight requests take 0.3 s; the grace period is 25 s
    assert b"run.stopping" in err

    recorded = {row["clientRequestId"] for row in read_results(results)}
    answered = {r.client_request_id for r in emulator.requests()}
    assert answered <= recorded  # every request that reached Graph was waited for and recorded
    assert len(recorded) < total

    emulator.config.update({"latency_ms": 0})
    done = await run_cli(*run_args(source, state, emulator), env={"GRAPH_TOKEN": TOKEN})
    assert done.code == 0, done.stderr
    assert sorted(row["line"] for row in read_results(results)) == list(range(1, total + 1))


async def test_second_signal_stops_at_once_without_corrupting_the_ledger(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    emulator.config.update({"latency_ms": 100})
    total = 300
    source = numbered_jobs(tmp_path / "in.jsonl", total)
    state = tmp_path / "state"
    results = state / "results.jsonl"
    proc = await start_cli(*run_args(source, state, emulator))
    await wait_for_results(results, 10)
    emulator.config.update({"latency_ms": 5000})  # in-flight requests now hang
    # a fixed wait: requests sent from now on hang, those in flight at the change (0.1 s) end; nothing to observe
    await asyncio.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    await logged(proc.stderr, b"run.stopping")  # the first signal taken: draining
    signalled = time.monotonic()
    proc.send_signal(signal.SIGINT)
    await proc.communicate()
    assert proc.returncode == 130
    assert time.monotonic() - signalled < 2
    emulator.config.update({"latency_ms": 0})
    done = await run_cli(*run_args(source, state, emulator), env={"GRAPH_TOKEN": TOKEN})
    assert done.code == 0, done.stderr
    assert sorted(row["line"] for row in read_results(results)) == list(range(1, total + 1))


async def test_same_state_for_another_input_is_refused(emulator: RunningEmulator, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = numbered_jobs(tmp_path / "a.jsonl", 3)
    assert (await run_cli(*run_args(first, state, emulator), env={"GRAPH_TOKEN": TOKEN})).code == 0
    second = numbered_jobs(tmp_path / "b.jsonl", 4)
    refused = await run_cli(*run_args(second, state, emulator), env={"GRAPH_TOKEN": TOKEN})
    assert refused.code == 2
    assert "belongs to another input" in refused.stderr


async def test_finished_state_sends_nothing_again(emulator: RunningEmulator, tmp_path: Path) -> None:
    state = tmp_path / "state"
    source = numbered_jobs(tmp_path / "a.jsonl", 5)
    assert (await run_cli(*run_args(source, state, emulator), env={"GRAPH_TOKEN": TOKEN})).code == 0
    again = await run_cli(*run_args(source, state, emulator), env={"GRAPH_TOKEN": TOKEN})
    assert again.code == 0
    assert len(emulator.requests()) == 5
    assert len(read_results(state / "results.jsonl")) == 5


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full to simulate a full disk")
async def test_full_disk_stops_the_run_with_a_clear_error(emulator: RunningEmulator, tmp_path: Path) -> None:
    source = numbered_jobs(tmp_path / "in.jsonl", 50)
    done = await run_cli(
        "run", str(source), "--results", "/dev/full", "--base-url", emulator.base_url, env={"GRAPH_TOKEN": TOKEN}
    )
    assert done.code == 2
    assert "cannot write results" in done.stderr
    assert "No space left on device" in done.stderr
    assert "Traceback" not in done.stderr
