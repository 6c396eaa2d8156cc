"""Many tenants: a lane costs memory only while it has work (5,000 tenants once took 418 MB)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO, TOKEN, cli_env, read_results

TENANTS = 5000

#: Runs the CLI and reports its own peak RSS (KiB) on stderr, whatever else ran in the test process.
PEAK_RSS = """
import resource, runpy, sys
sys.argv = ["worker", *sys.argv[1:]]
try:
    runpy.run_module("worker", run_name="__main__")
finally:
    sys.stderr.write(f"\\npeak-rss-kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
"""


@pytest.fixture
async def emulator_process() -> AsyncIterator[str]:
    """The emulator in a process of its own: how fast it answers must not depend on the state of the test
    process (an in-process emulator at the end of a long suite answered slowly, and the CLI's peak grew)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker.emulator", "--port", "0", "--token", TOKEN,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
        assert "listening on " in line, line
        yield line.split("listening on ", 1)[1].split(";")[0].strip()
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=20)


@pytest.mark.timeout(300)
async def test_five_thousand_tenants_stay_under_200_mb(
    emulator_process: str, tmp_path: Path, token_env: dict[str, str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b"".join(
            orjson.dumps({"jobId": f"{t}-{r}", "tenant": f"tenant-{t}", "body": {"action": "Update"}}) + b"\n"
            for r in range(2)
            for t in range(TENANTS)
        )
    )
    results = tmp_path / "results.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PEAK_RSS, "run", str(source), "--base-url", emulator_process,
        "--results", str(results), "--no-progress",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env=cli_env(token_env), cwd=REPO,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, err.decode()[-2000:]
    peak_mib = int(err.decode().rsplit("peak-rss-kib=", 1)[1].split()[0]) / 1024
    assert peak_mib < 200, f"peak RSS {peak_mib:.0f} MiB"  # 124-182 MiB measured (437 before), by load
    assert len(read_results(results)) == 2 * TENANTS
