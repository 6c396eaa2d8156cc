"""Run the real CLI against the hostile server, measuring the child's own peak RSS (its VmHWM)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO, TOKEN, cli_env, read_results, write_lines

PATH = "/auditLogs/provisioning/c094201e-201e-c094-1e20-94c01e2094c0"

#: Runs the CLI (argv after `-c CODE`) and writes its own peak RSS in KiB as the last line of stderr: VmHWM, the
#: high-water mark of this process's memory. Not getrusage/wait4's ru_maxrss: Linux carries that over an exec
#: from the parent that forked it, so a child of a test process grown to 200 MB reported 200 MB whatever it
#: used itself (checked: a 9 MB child of a 300 MB parent reports 310 MB).
PEAK_RSS = """
import runpy, sys
sys.argv = ["worker", *sys.argv[1:]]
try:
    runpy.run_module("worker", run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\npeak-rss-kib={peak}\\n")
"""


def peak_rss_kib(stderr: str) -> int:
    """The peak RSS a `PEAK_RSS` run reported on its stderr."""
    return int(stderr.rsplit("peak-rss-kib=", 1)[1].split(maxsplit=1)[0])


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
    code, stderr, elapsed = await asyncio.to_thread(
        _run, command, tmp_path, {"GRAPH_TOKEN": TOKEN, **(env or {})}, timeout
    )
    rows = read_results(results) if results.exists() else []
    return Measured(code, stderr, rows, peak_rss_kib(stderr) / 1024, elapsed)


def _run(args: list[str], tmp_path: Path, env: dict[str, str], timeout: float) -> tuple[int, str, float]:
    err_path = tmp_path / "stderr.txt"
    started = time.monotonic()
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", PEAK_RSS, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=cli_env(env),
            cwd=REPO,
        )
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the run did not end within {timeout} s: {err_path.read_text()[-2000:]}") from None
    return proc.returncode, err_path.read_text(), time.monotonic() - started
