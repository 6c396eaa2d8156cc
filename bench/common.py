"""Shared benchmark parts: the emulator in its own process, input files, measured child processes.

CPU time and peak RSS of a measured command are taken from `os.wait4` on that process alone, by a tiny
wrapper parent: `RUSAGE_CHILDREN`'s `ru_maxrss` is the largest of every child reaped so far, and a child
forked from a big parent starts with the parent's RSS as its peak (see `_WRAPPER`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

REPO = Path(__file__).resolve().parent.parent
# Children compile bytecode once into this cache (outside the repo and the venv) and reuse it, as an
# installed package does: with PYTHONDONTWRITEBYTECODE set (as on these machines) every start would
# compile aiohttp, pydantic, structlog... from source again, ~1 s of CPU that no deployment pays.
PYCACHE = Path(tempfile.gettempdir()) / "patch-worker-bench-pycache"
TOKEN = "bench-token"
BODY: dict[str, Any] = orjson.loads((REPO / "examples" / "updates.jsonl").read_bytes().splitlines()[0])


def use_bytecode_cache() -> None:
    """Let every child process of this benchmark compile into, and reuse, PYCACHE."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)


@dataclass
class Emulator:
    """An emulator process and its URLs."""

    process: subprocess.Popen[str]
    base_url: str

    @property
    def root(self) -> str:
        """The URL without /beta (the inspection routes live there)."""
        return self.base_url.rsplit("/", 1)[0]


@contextmanager
def emulator(*flags: str) -> Iterator[Emulator]:
    """Start `python -m worker.emulator --port 0 FLAGS` and stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.emulator", "--port", "0", "--token", TOKEN, *flags],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r}")
        yield Emulator(process, line.rsplit(" ", 1)[1].strip())
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()  # its pipe: an unclosed one warns (and fails a test run with -W error)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def emulator_call(url: str, method: str = "GET", body: Any = None) -> Any:
    """A call to the emulator's inspection routes."""

    async def call() -> Any:
        async with aiohttp.ClientSession() as session, session.request(method, url, json=body) as response:
            return orjson.loads(await response.read())

    return asyncio.run(call())


def write_jobs(
    path: Path,
    count: int,
    *,
    tenants: Sequence[str] = ("default",),
    body: dict[str, Any] | None = None,
    item_paths: bool = False,
) -> Path:
    """`count` envelope lines with the seed body (or `body`), spread round-robin over `tenants`.

    With `item_paths` each envelope names its own object: `/auditLogs/provisioning/obj-N`.
    """
    body_json = orjson.Fragment(orjson.dumps(BODY if body is None else body))
    with path.open("wb") as out:
        for index in range(count):
            envelope: dict[str, Any] = {"jobId": f"job-{index}", "tenant": tenants[index % len(tenants)]}
            if item_paths:
                envelope["path"] = f"/auditLogs/provisioning/obj-{index}"
            envelope["body"] = body_json
            out.write(orjson.dumps(envelope) + b"\n")
    return path


@dataclass
class Timed:
    """A finished child: wall time, exit code, CPU seconds and peak RSS of that child alone, its output."""

    seconds: float
    code: int
    cpu_s: float
    max_rss_mb: float
    stdout: str
    stderr: str = ""

    def json_line(self, event: str | None = None) -> dict[str, Any]:
        """The last JSON object line of stdout (with `"event": event` when given)."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                data: dict[str, Any] = orjson.loads(line)
                if event is None or data.get("event") == event:
                    return data
        raise ValueError(f"no JSON line{' ' + event if event else ''} in the output: {self.stdout[-500:]!r}")


# A tiny parent for the measured command. The measured process's peak RSS must not include its parent's:
# on Linux a child's ru_maxrss starts from the RSS of the process it was forked from (kept across exec),
# so a command spawned straight from this (large) benchmark process would report at least our own RSS.
# This wrapper (python -S, a few MB) spawns the command, waits for it and writes its rusage to a file.
_WRAPPER = """
import os, sys
report, argv = sys.argv[1], sys.argv[2:]
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    out.write("%d %r %r %d" % (os.waitstatus_to_exitcode(status), usage.ru_utime, usage.ru_stime, usage.ru_maxrss))
"""


def run_measured(command: Sequence[str], env: dict[str, str] | None = None, timeout_s: float = 1800.0) -> Timed:
    """Run `command` from the repo root; CPU and peak RSS are those of that process alone (see _WRAPPER)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "rusage"
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-S", "-c", _WRAPPER, str(report), *command],
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {})},
            cwd=REPO,
            start_new_session=True,  # a timeout ends the wrapper and the command together
        )
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if process.returncode != 0 or not report.exists():
            raise RuntimeError(f"measuring wrapper failed ({process.returncode}): {stderr[-2000:]}")
        code, utime, stime, maxrss_kb = report.read_text().split()
        return Timed(
            seconds=seconds,
            code=int(code),
            cpu_s=float(utime) + float(stime),
            max_rss_mb=int(maxrss_kb) / 1024,  # kilobytes on Linux
            stdout=stdout,
            stderr=stderr,
        )


def consumer_figures(timed: Timed, done: int, span_s: float) -> dict[str, Any]:
    """A `consume` process's figures: `done` results from the first to the last in `span_s`, and the whole CLI."""
    summary = timed.json_line("run.summary")
    return {
        "cliS": round(timed.seconds, 3),
        "spanS": round(span_s, 3),
        "jobs": done,
        "succeeded": summary["succeeded"],
        "jobsPerSecond": round(done / span_s, 1) if span_s else 0.0,
        "cliJobsPerSecond": round(done / timed.seconds, 1),
        "cpuS": round(timed.cpu_s, 3),
        "maxRssMB": round(timed.max_rss_mb, 1),
        "exit": timed.code,
    }


def run_cli(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    timeout_s: float = 1800.0,
    launcher: Sequence[str] = ("-m", "worker"),
) -> Timed:
    """Run `python -m worker ARGS` (or `python LAUNCHER ARGS`) with GRAPH_TOKEN set; exit codes other than 0
    and 1 raise, and so does a run past `timeout_s` (subprocess.TimeoutExpired, the process killed)."""
    done = run_measured(
        [sys.executable, *launcher, *args], env={"GRAPH_TOKEN": TOKEN, **(env or {})}, timeout_s=timeout_s
    )
    if done.code not in (0, 1):
        raise RuntimeError(f"patch-worker exited {done.code}: {done.stderr[-2000:]}")
    return done


def worker_args(source: Path, base_url: str, results: Path, concurrency: int, *extra: str) -> list[str]:
    """`run SOURCE` against the emulator without a progress bar (each round replaces the last one's results)."""
    return [
        "run",
        str(source),
        "--base-url",
        base_url,
        "--results",
        str(results),
        "--overwrite",
        "--concurrency",
        str(concurrency),
        "--no-progress",
        *extra,
    ]
