"""Usage and configuration errors: exit code 2 and one clear line, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TOKEN, run_cli, write_lines


async def test_missing_credentials(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    results = tmp_path / "results.jsonl"  # not the default in the repository: a stray one there is another error
    done = await run_cli("run", str(source), "--base-url", "http://127.0.0.1:9/beta", "--results", str(results))
    assert done.code == 2
    assert "GRAPH_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


async def test_missing_input_file(tmp_path: Path) -> None:
    done = await run_cli("run", str(tmp_path / "nope.jsonl"), env={"GRAPH_TOKEN": TOKEN})
    assert done.code == 2
    assert "cannot open input" in done.stderr
    assert "Traceback" not in done.stderr


async def test_results_in_missing_directory(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    done = await run_cli(
        "run",
        str(source),
        "--results",
        str(tmp_path / "no" / "such" / "dir.jsonl"),
        env={"GRAPH_TOKEN": TOKEN},
    )
    assert done.code == 2
    assert "cannot write results file" in done.stderr


async def test_bad_environment_value_names_the_key(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"action": "Update"}])
    done = await run_cli("run", str(source), env={"GRAPH_TOKEN": TOKEN, "PATCH_WORKER_RUN__CONCURRENCY": "0"})
    assert done.code == 2
    assert "run.concurrency" in done.stderr


async def test_bad_config_file_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("graph:\n  base_url: ftp://example\n")
    done = await run_cli("validate", str(tmp_path), "--config", str(config))
    assert done.code == 2
    assert "graph.base_url" in done.stderr


async def test_unknown_flag_is_usage_error() -> None:
    done = await run_cli("run", "--no-such-flag")
    assert done.code == 2
    assert "usage:" in done.stderr


async def test_help_teaches() -> None:
    done = await run_cli("run", "--help")
    assert done.code == 0
    for phrase in ("--results", "--concurrency", "exit codes", "GRAPH_TOKEN", "envelope"):
        assert phrase in done.stdout
