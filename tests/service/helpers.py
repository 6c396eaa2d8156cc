"""Helpers for the service tests: settings for an in-process service, an API client, waiting for a batch."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.conftest import REPO, TOKEN, cli_env
from tests.polling import until
from worker.emulator.running import RunningEmulator
from worker.service.server import RunningService, running_service
from worker.settings import Settings, load_settings

API_KEY = "service-key-7d1e0c5a"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
NDJSON = {"Content-Type": "application/x-ndjson"}
FINAL = ("succeeded", "failed", "cancelled")
SERVE_ENV = {"GRAPH_TOKEN": TOKEN, "PATCH_WORKER_SERVICE__API_KEY": API_KEY, "PATCH_WORKER_LOG__FORMAT": "json"}


def service_settings(base_url: str, state_dir: Path, **service: Any) -> Settings:
    """Settings for a service on a free port against the emulator, with fast retries."""
    return load_settings(
        None,
        {
            "graph": {"base_url": base_url},
            "auth": {"token": TOKEN},
            "retry": {"backoff_initial_s": 0.01, "backoff_max_s": 0.05},
            "service": {"api_key": API_KEY, "state_dir": state_dir, "port": 0, **service},
        },
    )


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[tuple[RunningService, aiohttp.ClientSession]]:
    """The service in this process, and a client session pointed at it."""
    async with running_service(settings) as service, aiohttp.ClientSession(service.url) as client:
        yield service, client


async def upload(client: aiohttp.ClientSession, body: bytes, **params: str) -> dict[str, Any]:
    """POST a body as a batch; the 202 answer."""
    async with client.post("/v1/batches", data=body, headers={**AUTH, **NDJSON}, params=params) as response:
        assert response.status == 202, await response.text()
        created: dict[str, Any] = await response.json()
        assert response.headers["Location"] == created["links"]["self"]
        return created


async def status(client: aiohttp.ClientSession, batch_id: str) -> dict[str, Any]:
    """GET one batch."""
    async with client.get(f"/v1/batches/{batch_id}", headers=AUTH) as response:
        assert response.status == 200, await response.text()
        found: dict[str, Any] = await response.json()
        return found


async def wait_for_state(
    client: aiohttp.ClientSession, batch_id: str, states: tuple[str, ...] = FINAL, timeout: float = 30
) -> dict[str, Any]:
    """Poll a batch until it is in one of `states`."""
    found: dict[str, Any] = {}

    async def reached() -> bool:
        found.update(await status(client, batch_id))
        return found["state"] in states

    await until(reached, f"batch {batch_id} in {states} (last seen: {found})", timeout)
    return found


async def results(client: aiohttp.ClientSession, batch_id: str) -> list[dict[str, Any]]:
    """The batch's results, parsed."""
    async with client.get(f"/v1/batches/{batch_id}/results", headers=AUTH) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/x-ndjson"
        return [orjson.loads(line) for line in (await response.read()).splitlines()]


def numbered(count: int) -> bytes:
    """Valid bare bodies whose jobId makes each PATCH recognisable at the emulator."""
    return b"".join(orjson.dumps({"jobId": f"job-{i}", "action": "Update"}) + b"\n" for i in range(1, count + 1))


class ServeProcess:
    """A `patch-worker serve` subprocess and the URL it listens on."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str) -> None:
        self.proc = proc
        self.url = url

    @classmethod
    async def start(cls, state: Path, emulator: RunningEmulator, *extra: str, env: dict[str, str] | None = None):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "worker",
            "serve",
            "--port",
            "0",
            "--state-dir",
            str(state),
            "--base-url",
            emulator.base_url,
            *extra,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(env or SERVE_ENV),
            cwd=REPO,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line.startswith(b"patch-worker serving on "):
            _, err = await proc.communicate()
            raise AssertionError(f"serve did not start: {line!r} {err.decode()}")
        return cls(proc, line.decode().rsplit(" ", 1)[1].strip())

    async def finish(self, timeout: float = 60) -> tuple[int, str]:
        _, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        assert self.proc.returncode is not None
        return self.proc.returncode, err.decode()


async def wait_for_done(client: aiohttp.ClientSession, batch_id: str, at_least: int, timeout: float = 30) -> None:
    """Poll a batch until it has at least `at_least` results."""

    async def done() -> bool:
        return int((await status(client, batch_id))["done"]) >= at_least

    await until(done, f"batch {batch_id} with {at_least} results", timeout)


def assert_cancelled_results(rows: list[dict[str, Any]], total: int, sent: int) -> None:
    """One result per line: `sent` jobs succeeded (they reached Graph), every other one failed as cancelled."""
    assert sorted(row["line"] for row in rows) == list(range(1, total + 1))
    succeeded = [row for row in rows if row["status"] == "succeeded"]
    cancelled = [row for row in rows if row["status"] == "failed"]
    assert len(succeeded) == sent
    assert len(cancelled) == total - sent
    for row in cancelled:
        assert row["error"]["kind"] == "cancelled"
        assert (row["attempts"], row["httpStatus"], row["clientRequestId"]) == (0, None, None)
        assert row["jobId"] == str(row["line"])  # bare bodies: the job id is the line number


async def wait_gone(client: aiohttp.ClientSession, batch_id: str, timeout: float = 10) -> None:
    """Poll until the batch is unknown (404): deleted after its retention."""

    async def gone() -> bool:
        async with client.get(f"/v1/batches/{batch_id}", headers=AUTH) as response:
            return response.status == 404

    await until(gone, f"batch {batch_id} deleted", timeout)
