"""`patch-worker run` as a real subprocess against the emulator on 127.0.0.1."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from tests.conftest import EXAMPLES, TOKEN, read_results, run_args, run_cli, write_lines
from worker.emulator.running import RunningEmulator

# The offending field of every deliberately bad line in examples/updates.jsonl.
BAD_LINES = {
    6: "",  # not JSON: the whole line
    7: "actionn",
    8: "body.activityDateTime",
    9: "durationInMilliseconds",
    10: "servicePrincipal.@odata.type",
    11: "path",
    12: "action",
    13: "",  # a JSON array
    14: "tennant",
    15: "durationInMilliseconds",
}


async def test_examples_exit_1_with_one_result_per_line(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"
    done = await run_cli(*run_args(EXAMPLES, emulator.base_url, results), env=token_env)
    assert done.code == 1, done.stderr
    rows = read_results(results)
    line_count = len(EXAMPLES.read_bytes().splitlines())
    assert sorted(row["line"] for row in rows) == list(range(1, line_count + 1))
    by_line = {row["line"]: row for row in rows}
    for line, row in by_line.items():
        expected = "rejected" if line in BAD_LINES else "succeeded"
        assert row["status"] == expected, row
    summary = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert summary["succeeded"] == line_count - len(BAD_LINES)
    assert summary["rejected"] == len(BAD_LINES)


async def test_seed_example_reaches_graph_unchanged(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"
    await run_cli(*run_args(EXAMPLES, emulator.base_url, results), env=token_env)
    seed_line = orjson.loads(EXAMPLES.read_bytes().splitlines()[0])
    seed_result = next(row for row in read_results(results) if row["line"] == 1)
    received = [r for r in emulator.requests() if r.client_request_id == seed_result["clientRequestId"]]
    assert len(received) == 1
    assert received[0].path == "/auditLogs/provisioning"
    assert received[0].body == seed_line  # same names, nothing added, nulls untouched


async def test_every_bad_line_names_its_line_and_field(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"
    await run_cli(*run_args(EXAMPLES, emulator.base_url, results), env=token_env)
    by_line = {row["line"]: row for row in read_results(results)}
    for line, field in BAD_LINES.items():
        row = by_line[line]
        error = row["error"]
        assert isinstance(error, dict), row
        locs = [item["loc"] for item in error["detail"]]
        assert field in locs, (line, locs)
        assert error["message"], row
        assert row["httpStatus"] is None
        assert row["attempts"] == 0


async def test_envelope_goes_to_its_path_and_null_clears(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    lines = [
        {
            "jobId": "a",
            "path": "/auditLogs/provisioning/abc-1",
            "body": {"statusInfo": None, "action": "Update"},
        },
    ]
    source = write_lines(tmp_path / "in.jsonl", lines)
    results = tmp_path / "results.jsonl"
    done = await run_cli(*run_args(source, emulator.base_url, results), env=token_env)
    assert done.code == 0, done.stderr
    (received,) = emulator.requests()
    assert received.path == "/auditLogs/provisioning/abc-1"
    assert received.body == {"statusInfo": None, "action": "Update"}
    (row,) = read_results(results)
    assert row["jobId"] == "a"
    assert row["status"] == "succeeded"
    assert row["httpStatus"] == 200
    assert row["clientRequestId"] == received.client_request_id


async def test_stdin_and_gzip_inputs(emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path) -> None:
    """gzip is told by its magic bytes: a .gz file, one without the suffix, and gzip on stdin all work."""
    body = b'{"action": "Update"}\n{"action": "Delete"}\n'
    gz, unnamed = tmp_path / "in.jsonl.gz", tmp_path / "in.jsonl"
    gz.write_bytes(gzip.compress(body))
    unnamed.write_bytes(gzip.compress(body))
    inputs = (("-", body), (str(gz), None), (str(unnamed), None), ("-", gzip.compress(body)))
    for number, (source, stdin) in enumerate(inputs):
        results = tmp_path / f"results-{number}.jsonl"
        done = await run_cli(
            "run",
            source,
            "--base-url",
            emulator.base_url,
            "--results",
            str(results),
            env=token_env,
            stdin=stdin,
        )
        assert done.code == 0, done.stderr
        assert [row["status"] for row in read_results(results)] == ["succeeded", "succeeded"]
    assert len(emulator.requests()) == 8


async def test_results_to_stdout_put_the_summary_on_stderr(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    done = await run_cli("run", str(source), "--base-url", emulator.base_url, "--results", "-", env=token_env)
    assert done.code == 0
    (row,) = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert row["status"] == "succeeded"
    assert '"run.summary"' in done.stderr


async def test_failed_job_reports_status_and_graph_code(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    results = tmp_path / "results.jsonl"
    done = await run_cli(
        *run_args(source, emulator.base_url, results),
        env={"GRAPH_TOKEN": "not-the-right-token"},
    )
    assert done.code == 2  # a refused static token stops the run (systemic), see test_systemic_cli
    (row,) = read_results(results)
    assert row["status"] == "failed"
    assert row["httpStatus"] == 401
    assert row["error"]["kind"] == "InvalidAuthenticationToken"
    assert "not-the-right-token" not in done.stderr + results.read_text()


async def test_token_never_logged(emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    done = await run_cli(
        *run_args(EXAMPLES, emulator.base_url, results),
        "--log-level",
        "debug",
        env=token_env,
    )
    assert '"job.succeeded"' in done.stderr  # debug really logged every job
    assert TOKEN not in done.stderr + done.stdout + results.read_text()


async def test_dry_run_and_validate_send_nothing(emulator: RunningEmulator, tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    dry = await run_cli("run", str(EXAMPLES), "--dry-run", "--base-url", emulator.base_url, "--results", str(results))
    assert dry.code == 1, dry.stderr
    assert {row["status"] for row in read_results(results)} == {"rejected"}
    checked = await run_cli("validate", str(EXAMPLES))
    assert checked.code == 1
    rejected = [orjson.loads(line) for line in checked.stdout.splitlines() if '"jobId"' in line]
    assert sorted(row["line"] for row in rejected) == sorted(BAD_LINES)
    assert emulator.requests() == []
    valid = write_lines(tmp_path / "ok.jsonl", [{"action": "Update"}])
    assert (await run_cli("validate", str(valid))).code == 0


async def test_batch_mode_gives_the_same_results(
    emulator: RunningEmulator, token_env: dict[str, str], tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"
    done = await run_cli(
        "run",
        str(EXAMPLES),
        "--batch-size",
        "20",
        "--base-url",
        emulator.base_url,
        "--results",
        str(results),
        env=token_env,
    )
    assert done.code == 1, done.stderr
    by_line = {row["line"]: row for row in read_results(results)}
    assert len(by_line) == len(EXAMPLES.read_bytes().splitlines())
    for line, row in by_line.items():
        assert row["status"] == ("rejected" if line in BAD_LINES else "succeeded")
    assert emulator.stats()["batches"] >= 1
    seed_line = orjson.loads(EXAMPLES.read_bytes().splitlines()[0])
    (seed,) = [r for r in emulator.requests() if r.client_request_id == by_line[1]["clientRequestId"]]
    assert seed.body == seed_line
