"""A lane's learned rate outlives the run: `--state DIR` keeps it, the next run and a dry run's plan start there."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.conftest import TOKEN, run_cli, write_lines
from worker.emulator.running import RunningEmulator


async def test_the_rate_a_run_learned_is_kept_and_planned_with(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.config.update({"quota_per_s": 50, "quota_burst": 5, "retry_after": "fractional"})
    source = write_lines(tmp_path / "in.jsonl", [{"tenant": "contoso", "body": {"action": "Update"}}] * 300)
    state = tmp_path / "state"
    done = await run_cli(
        "run",
        str(source),
        "--state",
        str(state),
        "--base-url",
        emulator.base_url,
        "--no-progress",
        env={"GRAPH_TOKEN": TOKEN},
    )
    assert done.code == 0, done.stderr
    kept = orjson.loads((state / "lanes.json").read_bytes())["lanes"]["contoso"]["reports"]
    assert 20 <= kept["rate"] <= 60  # learned near the quota of 50/s, without being told

    plan = await run_cli("run", str(source), "--dry-run", "--state", str(state), env={"GRAPH_TOKEN": TOKEN})
    lanes = orjson.loads(plan.stdout.splitlines()[-1])["plan"]["lanes"]
    assert lanes == [
        {
            "lane": "contoso",
            "scope": "reports",
            "jobs": 300,
            "rate": kept["rate"],
            "rateSource": "persisted",
            "estimatedS": round(300 / kept["rate"], 1),
        }
    ]


async def test_a_version_1_file_is_read_as_the_reports_scope(tmp_path: Path) -> None:
    """lanes.json from before scopes (one rate a tenant) still starts the provisioning lane where it ended."""
    source = write_lines(tmp_path / "in.jsonl", [{"tenant": "contoso", "body": {"action": "Update"}}] * 10)
    state = tmp_path / "state"
    state.mkdir()
    (state / "lanes.json").write_bytes(orjson.dumps({"version": 1, "lanes": {"contoso": {"rate": 0.5}}}))
    plan = await run_cli("run", str(source), "--dry-run", "--state", str(state), env={"GRAPH_TOKEN": TOKEN})
    lanes = orjson.loads(plan.stdout.splitlines()[-1])["plan"]["lanes"]
    assert [(lane["scope"], lane["rate"], lane["rateSource"]) for lane in lanes] == [("reports", 0.5, "persisted")]
