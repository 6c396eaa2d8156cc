"""Consumers as real processes, and reading what they left in Redis."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

from tests.conftest import REPO, TOKEN, cli_env

STREAM = "jobs"


class Consumer:
    """`patch-worker consume` in its own process; its stdout and stderr go to files (a chatty log never blocks it)."""

    def __init__(self, proc: asyncio.subprocess.Process, out: Path, err: Path) -> None:
        self.proc = proc
        self.out = out
        self.err = err

    @classmethod
    async def start(
        cls, folder: Path, name: str, redis_url: str, base_url: str, *extra: str, env: dict[str, str] | None = None
    ) -> Consumer:
        """Start one consumer of STREAM against `base_url`."""
        out, err = folder / f"{name}.out", folder / f"{name}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "worker",
                "consume",
                redis_url,
                "--stream",
                STREAM,
                "--base-url",
                base_url,
                "--log-format",
                "json",
                *extra,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=cli_env({"GRAPH_TOKEN": TOKEN, **(env or {})}),
                cwd=REPO,
            )
        return cls(proc, out, err)

    async def finish(self, timeout: float = 60) -> int:
        """Wait for the process to end; its exit code."""
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await self.finish(timeout)

    def kill(self) -> None:
        """SIGKILL: no drain, nothing settled after this instant."""
        self.proc.send_signal(signal.SIGKILL)

    def summary(self) -> dict[str, Any]:
        """The run.summary line it printed."""
        lines = [line for line in self.out.read_bytes().splitlines() if line.startswith(b"{")]
        assert lines, f"no summary; stderr: {self.err.read_text()[-2000:]}"
        found: dict[str, Any] = orjson.loads(lines[-1])
        return found


async def add(client: aioredis.Redis, data: bytes, field: str = "job") -> str:
    """XADD one job to STREAM, as a producer does; its entry id."""
    entry: Any = await client.xadd(STREAM, {field: data})
    return str(entry.decode())


async def results(client: aioredis.Redis, stream: str = STREAM) -> list[dict[str, Any]]:
    """Every result in STREAM:results, parsed."""
    entries: Any = await client.xrange(f"{stream}:results")
    return [orjson.loads(fields[b"result"]) for _, fields in entries]


async def dead(client: aioredis.Redis) -> list[dict[str, str]]:
    """Every entry of STREAM:dead, as text."""
    entries: Any = await client.xrange(f"{STREAM}:dead")
    return [{key.decode(): value.decode() for key, value in fields.items()} for _, fields in entries]
