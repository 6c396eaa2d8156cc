"""A newcomer's first runs: truthful summaries, no silent overwrite, one-line start-up errors."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson

from tests.conftest import EXAMPLES, REPO, run_args, run_cli, write_lines
from worker.emulator.running import RunningEmulator


def summary_of(stream: str) -> dict[str, object]:
    """The run.summary JSON line of a CLI output."""
    (line,) = [line for line in stream.splitlines() if '"run.summary"' in line]
    summary: dict[str, object] = orjson.loads(line)
    return summary


async def test_validate_examples_counts_every_line_and_says_each_rejection_once() -> None:
    done = await run_cli("validate", str(EXAMPLES))
    assert done.code == 1
    summary = summary_of(done.stderr)
    counts = {key: summary[key] for key in ("lines", "valid", "rejected", "sent", "notSent")}
    assert counts == {"lines": 15, "valid": 5, "rejected": 10, "sent": 0, "notSent": 5}
    rejections = [line for line in done.stdout.splitlines() if '"rejected"' in line]
    assert len(rejections) == 10
    assert "job.rejected" not in done.stderr  # not a log line as well as a result line


async def test_dry_run_prints_the_plan(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [{"tenant": "a", "body": {"action": "Update"}}] * 6 + [{"tenant": "b", "body": {"action": "Update"}}] * 2,
    )
    done = await run_cli("run", str(source), "--dry-run", "--rate", "2", "--batch-size", "5", "--results", "-")
    assert done.code == 0, done.stderr
    plan = summary_of(done.stderr)["plan"]
    assert isinstance(plan, dict)
    assert [(lane["lane"], lane["jobs"], lane["rate"], lane["rateSource"]) for lane in plan["lanes"]] == [
        ("a", 6, 2.0, "given"),
        ("b", 2, 2.0, "given"),
    ]
    assert (plan["batchSize"], plan["estimatedS"]) == (5, 3.0)


async def test_dry_run_without_a_rate_plans_a_learned_one_and_writes_no_file(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    default_results = REPO / "results.jsonl"  # the CLI runs in the repository
    existed = default_results.exists()
    done = await run_cli("run", str(source), "--dry-run")
    assert done.code == 0, done.stderr
    assert default_results.exists() == existed  # a dry run writes no results file unless asked to
    plan = summary_of(done.stdout)["plan"]
    assert isinstance(plan, dict)
    assert plan["lanes"] == [
        {"lane": "default", "scope": "reports", "jobs": 1, "rate": None, "rateSource": "learned", "estimatedS": None}
    ]


async def test_run_summary_adds_up(emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    done = await run_cli(*run_args(EXAMPLES, emulator.base_url, results), env=token_env)
    summary = summary_of(done.stdout)
    assert {key: summary[key] for key in ("lines", "valid", "rejected", "sent", "succeeded", "failed", "notSent")} == {
        "lines": 15,
        "valid": 5,
        "rejected": 10,
        "sent": 5,
        "succeeded": 5,
        "failed": 0,
        "notSent": 0,
    }


async def test_an_existing_results_file_is_refused_not_overwritten(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    results = tmp_path / "results.jsonl"
    results.write_text("earlier results\n")
    args = ("run", str(source), "--base-url", emulator.base_url, "--results", str(results))
    refused = await run_cli(*args, env=token_env)
    assert refused.code == 2
    assert "--state" in refused.stderr
    assert "--overwrite" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert results.read_text() == "earlier results\n"
    assert emulator.requests() == []  # refused before the first PATCH
    replaced = await run_cli(*args, "--overwrite", env=token_env)
    assert replaced.code == 0, replaced.stderr
    assert '"succeeded"' in results.read_text()


async def test_results_to_dev_null_and_a_pipe(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    """Neither can be fsynced: they are written, not refused as existing, and the run succeeds."""
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    done = await run_cli("run", str(source), "--base-url", emulator.base_url, "--results", "/dev/null", env=token_env)
    assert done.code == 0, done.stderr
    assert summary_of(done.stdout)["succeeded"] == 1
    piped = await run_cli(
        "run", str(source), "--base-url", emulator.base_url, "--results", "/dev/stdout", env=token_env
    )
    assert piped.code == 0, piped.stderr  # the CLI's stdout is a pipe here
    assert '"status":"succeeded"' in piped.stdout


async def test_abbreviated_flag_is_refused(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    done = await run_cli("run", str(source), "--dry-run", "--result", str(tmp_path / "r.jsonl"))
    assert done.code == 2
    assert "unrecognized arguments: --result" in done.stderr
    assert not (tmp_path / "r.jsonl").exists()


async def test_malformed_yaml_is_one_line_with_its_position(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("run:\n  concurrency: 3\n bad: [\n")
    done = await run_cli("validate", str(EXAMPLES), "--config", str(config))
    assert done.code == 2
    assert done.stderr.count("\n") == 1
    assert "is not valid YAML" in done.stderr
    assert "line 3, column 2" in done.stderr


async def test_busy_port_is_one_line_naming_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        emulate = await run_cli("emulate", "--port", str(port), timeout=30)
        serve = await run_cli(
            "serve",
            "--port",
            str(port),
            "--state-dir",
            str(tmp_path),
            env={"PATCH_WORKER_SERVICE__API_KEY": "k" * 32, "GRAPH_TOKEN": "t"},
        )
    for done in (emulate, serve):
        assert done.code == 2, done.stderr
        assert f"127.0.0.1:{port}" in done.stderr
        assert "already in use" in done.stderr
        assert "Traceback" not in done.stderr
