"""`patch-worker run` with two tenants under a quota: per-lane figures in the summary, attempts per job."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.conftest import read_results, run_cli, write_lines
from worker.emulator.server import RunningEmulator


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
