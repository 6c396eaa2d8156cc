"""Run the real CLI against the hostile server, measuring the child's peak RSS with wait4."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO, TOKEN, cli_env, read_results, write_lines

PATH = "/auditLogs/provisioning/c094201e-201e-c094-1e20-94c01e2094c0"


@dataclass(frozen=True)
class Measured:
    """A finished CLI run: exit code, output, results, and the child's peak RSS in MB."""

    code: int
    stderr: str
    results: list[dict[str, Any]]
    peak_rss_mb: float
    elapsed_s: float


def updates(tmp_path: Path, count: int) -> Path:
    """`count` valid envelope lines for one tenant."""
    body = {"action": "Update", "durationInMilliseconds": 5}
    return write_lines(tmp_path / "in.jsonl", [{"path": PATH, "body": body} for _ in range(count)])


async def run_measured(
    tmp_path: Path, base_url: str, lines: int, *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> Measured:
    """`python -m worker run` on `lines` lines against `base_url`, in a thread so the server keeps serving."""
    source = updates(tmp_path, lines)
    results = tmp_path / "results.jsonl"
    command = ["run", str(source), "--base-url", base_url, "--results", str(results), "--log-format", "json", *args]
    code, stderr, rss_kb, elapsed = await asyncio.to_thread(
        _run_and_wait4, command, tmp_path, {"GRAPH_TOKEN": TOKEN, **(env or {})}, timeout
    )
    rows = read_results(results) if results.exists() else []
    return Measured(code, stderr, rows, rss_kb / 1024, elapsed)


def _run_and_wait4(args: list[str], tmp_path: Path, env: dict[str, str], timeout: float) -> tuple[int, str, int, float]:
    err_path = tmp_path / "stderr.txt"
    started = time.monotonic()
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=cli_env(env), cwd=REPO,
        )  # fmt: skip
        while True:  # wait4, not wait: only it gives this child's own peak RSS
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                raise AssertionError(f"the run did not end within {timeout} s: {err_path.read_text()[-2000:]}")
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err_path.read_text(), usage.ru_maxrss, time.monotonic() - started
