"""`patch-worker run` with two tenants under a quota: per-lane figures in the summary, attempts per job."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import orjson

from tests.conftest import TOKEN, read_results, run_args, run_cli, start_cli, write_lines
from tests.polling import eventually
from worker.emulator.running import RunningEmulator


async def test_two_tenants_under_quota(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.config.update({"quota_per_s": 20, "quota_burst": 5, "retry_after": "fractional", "accepted_tokens": None})
    config = tmp_path / "config.yaml"
    config.write_text(
        "tenants:\n  contoso:\n    token: emu.contoso.t\n  fabrikam:\n    token: emu.fabrikam.t\n    rate: 5\n"
    )
    lines = [
        {"jobId": f"j{i}", "tenant": ("contoso", "fabrikam")[i % 2], "body": {"action": "Update"}} for i in range(40)
    ]
    source = write_lines(tmp_path / "in.jsonl", lines)
    results = tmp_path / "results.jsonl"
    done = await run_cli(
        "run",
        str(source),
        "--config",
        str(config),
        "--base-url",
        emulator.base_url,
        "--results",
        str(results),
    )
    assert done.code == 0, done.stderr
    rows = read_results(results)
    assert len(rows) == 40
    assert all(row["status"] == "succeeded" and row["attempts"] >= 1 for row in rows)
    summary = orjson.loads(done.stdout.splitlines()[-1])
    lanes = {lane["lane"]: lane for lane in summary["lanes"]}
    assert set(lanes) == {"contoso", "fabrikam"}
    assert lanes["fabrikam"]["pacedRate"] <= 5  # the tenant's own ceiling
    assert lanes["fabrikam"]["throttled"] == 0  # 5/s never meets the 20/s quota
    assert summary["attempts"] == sum(row["attempts"] for row in rows)
    stats = emulator.stats()
    assert stats["by_tenant"]["contoso"] >= 20
    assert stats["distinct_succeeded"] == 40


async def test_a_slow_lane_does_not_hold_up_the_lines_after_it(emulator: RunningEmulator, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("tenants:\n  slow:\n    rate: 2\n")  # 2 requests/s: 1,200 lines would take 10 minutes
    lines = [{"jobId": f"slow-{i}", "tenant": "slow", "body": {"action": "Update"}} for i in range(1200)]
    lines += [{"jobId": f"fast-{i}", "tenant": "fast", "body": {"action": "Update"}} for i in range(100)]
    source = write_lines(tmp_path / "in.jsonl", lines)
    state = tmp_path / "state"
    proc = await start_cli(
        "run",
        str(source),
        "--config",
        str(config),
        "--state",
        str(state),
        "--base-url",
        emulator.base_url,
        "--concurrency",
        "4",
        "--no-progress",
    )
    try:
        await eventually(lambda: _finished(state / "results.jsonl", "fast-") == 100, "the fast tenant's 100 lines", 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 60)
    code = proc.returncode
    assert code == 130  # stopped with the slow lane still going: resumable
    assert _finished(state / "results.jsonl", "slow-") < 100


async def test_every_line_of_a_lane_that_fell_behind_is_sent_once(emulator: RunningEmulator, tmp_path: Path) -> None:
    # a fixed window of 300 per 1 s: once lane a has used a window (and the reader has filled its queue),
    # it is paused until the window ends and falls behind
    emulator.config.update({"quota_per_s": 300, "quota_model": "fixed-window", "retry_after": "seconds"})
    lines = [{"jobId": f"a-{i}", "tenant": "a", "body": {"action": "Update"}} for i in range(1200)]
    lines += [{"jobId": f"b-{i}", "tenant": "b", "body": {"action": "Update"}} for i in range(50)]
    source = write_lines(tmp_path / "in.jsonl", lines)
    results = tmp_path / "results.jsonl"
    done = await run_cli(
        *run_args(source, emulator.base_url, results),
        "--no-progress",
        env={"GRAPH_TOKEN": TOKEN},
    )
    assert done.code == 0, done.stderr
    assert '"lane.behind"' in done.stderr
    assert '"run.reading_deferred"' in done.stderr  # lane a's later lines were read again
    rows = read_results(results)
    assert sorted(row["line"] for row in rows) == list(range(1, 1251))
    assert all(row["status"] == "succeeded" for row in rows)
    stats = emulator.stats()
    assert stats["distinct_succeeded"] == 1250
    assert stats["duplicate_succeeded"] == 0  # none sent twice


def _finished(results: Path, prefix: str) -> int:
    if not results.exists():
        return 0
    return sum(1 for row in read_results(results) if row["jobId"].startswith(prefix))
