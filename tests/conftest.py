"""Shared fixtures: a real emulator on 127.0.0.1 and a way to run the real CLI as a subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import orjson
import pytest

from worker.emulator.config import EmulatorConfig
from worker.emulator.running import RunningEmulator, start_emulator

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "updates.jsonl"
TOKEN = "test-token-4f1c9a"


#: how a test that cannot get a tool begins its skip reason; under CI (CI=true) such a skip is a failure
MISSING = "missing dependency: "


def missing_dependency(what: str, install: str) -> NoReturn:
    """Skip a test whose tool cannot be had here, saying the exact command that installs it.

    `pytest_runtest_makereport` below turns this skip into a failure under CI: CI must run every test.
    """
    pytest.skip(f"{MISSING}{what}; install it with: {install}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI, a test skipped for a missing dependency fails instead: nothing may go untested there."""
    report: pytest.TestReport = yield
    if report.skipped and os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if MISSING in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped under CI, which must run every test: {reason}"
    return report


@dataclass(frozen=True)
class CliResult:
    """What a finished CLI process left behind."""

    code: int
    stdout: str
    stderr: str


async def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None, timeout: float = 60
) -> CliResult:
    """Run `python -m worker ARGS` as a real subprocess, without blocking the event loop (the emulator)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(env),
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    assert proc.returncode is not None
    return CliResult(proc.returncode, out.decode(), err.decode())


def run_args(source: Path, base_url: str, results: Path) -> tuple[str, ...]:
    """`run SOURCE --base-url URL --results RESULTS`: the start of most CLI runs against an emulator."""
    return ("run", str(source), "--base-url", base_url, "--results", str(results))


async def start_cli(*args: str) -> asyncio.subprocess.Process:
    """Start `python -m worker ARGS` with GRAPH_TOKEN=TOKEN, for tests that signal it; read it with communicate()."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env({"GRAPH_TOKEN": TOKEN}),
        cwd=REPO,
    )


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The CLI's environment: ours without PATCH_WORKER_* and GRAPH_TOKEN, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATCH_WORKER_", "GRAPH_TOKEN", "AZURE_"))}
    env.update(extra or {})
    return env


def read_results(path: Path) -> list[dict[str, Any]]:
    """Every line of a results file, parsed."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def write_lines(path: Path, lines: Sequence[object]) -> Path:
    """Write objects (or raw strings) as JSONL."""
    with path.open("wb") as out:
        for line in lines:
            out.write(line.encode() if isinstance(line, str) else orjson.dumps(line))
            out.write(b"\n")
    return path


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    """A fresh emulator on a free port that accepts TOKEN."""
    async with await start_emulator(EmulatorConfig(accepted_tokens=frozenset({TOKEN}), seed=1)) as running:
        yield running


@pytest.fixture
def token_env() -> dict[str, str]:
    """Environment that gives the CLI the emulator's token."""
    return {"GRAPH_TOKEN": TOKEN}
