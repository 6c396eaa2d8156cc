"""The event loop a run uses: uvloop when installed (it is, in the dev environment), asyncio on request."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import EXAMPLES, REPO, TOKEN, cli_env, read_results, run_args, run_cli
from worker import loop as event_loop
from worker.emulator.running import RunningEmulator
from worker.errors import ConfigError


def _started(stderr: str) -> dict[str, object]:
    """The run.started log line."""
    lines = [orjson.loads(line) for line in stderr.splitlines() if '"run.started"' in line]
    assert len(lines) == 1, stderr
    started: dict[str, object] = lines[0]
    return started


@pytest.mark.parametrize(("choice", "expected"), [("auto", "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio")])
async def test_a_run_says_which_loop_and_gives_the_same_results(
    emulator: RunningEmulator, tmp_path: Path, choice: str, expected: str
) -> None:
    results = tmp_path / "results.jsonl"
    done = await run_cli(
        *run_args(EXAMPLES, emulator.base_url, results),
        "--no-progress",
        env={"GRAPH_TOKEN": TOKEN, "PATCH_WORKER_RUN__EVENT_LOOP": choice},
    )
    assert done.code == 1, done.stderr  # the examples hold bad lines on purpose
    assert _started(done.stderr)["eventLoop"] == expected
    assert [r["status"] for r in read_results(results)].count("succeeded") == 5


def test_requiring_uvloop_without_it_is_a_configuration_error() -> None:
    # a real interpreter where `import uvloop` fails, as on a machine without the [fast] extra
    code = "import sys; sys.modules['uvloop'] = None; from worker.cli.dispatch import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", code, "validate", str(EXAMPLES)],
        env=cli_env({"PATCH_WORKER_RUN__EVENT_LOOP": "uvloop"}),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "uvloop is not installed" in done.stderr
    assert "pip install 'patch-worker[fast]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert "never awaited" not in done.stderr


def test_an_unknown_choice_names_the_setting() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "validate", str(EXAMPLES)],
        env=cli_env({"PATCH_WORKER_RUN__EVENT_LOOP": "trio"}),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "run.event_loop" in done.stderr


def test_run_in_process_on_each_loop() -> None:
    async def name() -> str:
        await asyncio.sleep(0)  # one turn of the loop it runs on
        return event_loop.running_loop_name()

    assert event_loop.run(name(), "asyncio") == "asyncio"
    assert event_loop.run(name(), "auto") == "uvloop"
    assert event_loop.loop_factory("asyncio") is None


def test_missing_uvloop_falls_back_on_auto_and_fails_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` raise ImportError
    assert event_loop.loop_factory("auto") is None
    with pytest.raises(ConfigError, match="uvloop is not installed"):
        event_loop.loop_factory("uvloop")
