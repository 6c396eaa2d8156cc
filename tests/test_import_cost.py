"""Start-up: `run` imports only what a run needs (a module-set check, not a timing one).

Every import is start-up CPU that a one-shot container job pays in full. The emulator, the service, the
YAML parser (only with --config), rich (the progress bar and the summary table, only on a terminal; and
never for structlog: see `worker/__init__.py`), tenacity (at the first retry), redis, prometheus and msal
(client credentials only) are deferred until a path needs them; this keeps it so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, TOKEN, cli_env

#: Runs the CLI (argv after `-c CODE`) and writes the names of every module it imported as the last line of stderr.
MODULES = """
import atexit, runpy, sys
atexit.register(lambda: sys.stderr.write("\\nmodules=" + " ".join(sorted(sys.modules)) + "\\n"))
sys.argv = ["worker", *sys.argv[1:]]
runpy.run_module("worker", run_name="__main__")
"""
NOT_FOR_RUN = (
    "worker.emulator",
    "worker.service",
    "worker.demo",
    "yaml",
    "rich",
    "tenacity",
    "redis",
    "prometheus_client",
    "msal",
    "httpx",
)


def imported_by(tmp_path: Path, *args: str) -> set[str]:
    """The modules a real CLI process imported for `args`."""
    done = subprocess.run(
        [sys.executable, "-c", MODULES, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=cli_env({"GRAPH_TOKEN": TOKEN}),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stderr.rsplit("modules=", 1)[1].split())


def deferred_in(modules: set[str]) -> list[str]:
    """The deferred modules (or their submodules) that were imported anyway."""
    return sorted(name for name in modules if any(name == p or name.startswith(p + ".") for p in NOT_FOR_RUN))


def test_a_run_imports_nothing_it_does_not_need(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("")  # an empty input: the start-up the issue measures (no request is made)
    results = str(tmp_path / "results.jsonl")
    modules = imported_by(tmp_path, "run", str(source), "--results", results, "--base-url", "http://127.0.0.1:9/beta")
    assert {"worker.validate", "worker.send.http"} <= modules  # the check sees the modules of the run itself
    assert deferred_in(modules) == []


def test_a_config_file_brings_the_yaml_parser(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("run:\n  concurrency: 3\n")
    source = tmp_path / "in.jsonl"
    source.write_text("")
    modules = imported_by(tmp_path, "validate", str(source), "--config", str(config))
    assert "yaml" in modules
    assert deferred_in(modules) == ["yaml", *sorted(m for m in modules if m.startswith("yaml."))]
