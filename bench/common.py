"""Shared benchmark parts: the emulator in its own process, input files, timing of CLI runs."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
BODY: dict[str, Any] = orjson.loads((REPO / "examples" / "updates.jsonl").read_bytes().splitlines()[0])


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


def emulator_call(url: str, method: str = "GET", body: Any = None) -> Any:
    """A call to the emulator's inspection routes."""

    async def call() -> Any:
        async with aiohttp.ClientSession() as session, session.request(method, url, json=body) as response:
            return await response.json()

    return asyncio.run(call())


def write_jobs(path: Path, count: int, *, tenants: Sequence[str] = ("default",)) -> Path:
    """`count` envelope lines with the seed body, spread round-robin over `tenants`."""
    with path.open("wb") as out:
        for index in range(count):
            tenant = tenants[index % len(tenants)]
            envelope = {"jobId": f"job-{index}", "tenant": tenant, "body": BODY}
            out.write(orjson.dumps(envelope) + b"\n")
    return path


@dataclass
class Timed:
    """A finished command: wall time, exit code, CPU seconds and peak RSS of the child."""

    seconds: float
    code: int
    cpu_s: float
    max_rss_mb: float
    stdout: str


def run_cli(args: Sequence[str], env: dict[str, str] | None = None) -> Timed:
    """Run `python -m worker ARGS`, measuring wall time, CPU and peak RSS of that child alone."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "worker", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "GRAPH_TOKEN": TOKEN, **(env or {})},
        cwd=REPO,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"patch-worker exited {done.returncode}: {done.stderr[-2000:]}")
    return Timed(seconds, done.returncode, cpu, after.ru_maxrss / 1024, done.stdout)
