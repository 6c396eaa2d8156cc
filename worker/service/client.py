"""`patch-worker submit`: stream a JSONL file to a running service, optionally wait for its end.

The body is a chunked generator (the file is never held in memory), with a progress bar on a terminal.
Exit codes follow `run`: 0 every job succeeded; 1 some failed or were rejected (or the batch was
cancelled); 2 usage, connection or authentication error.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import orjson
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from worker.errors import PatchWorkerError

CHUNK = 256 * 1024
FINAL = frozenset({"succeeded", "failed", "cancelled"})
#: While waiting, the service may be restarting (a rolling update): keep asking this long before giving up.
UNREACHABLE_FOR_S = 120.0


class SubmitError(PatchWorkerError):
    """The service could not be reached, refused the key, or refused the upload (exit 2)."""


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """What to send where, and whether to wait."""

    path: Path
    server: str
    api_key: str
    name: str | None = None
    wait: bool = False
    poll_s: float = 1.0
    results: Path | None = None
    progress: bool = True


async def submit(request: SubmitRequest, out: TextIO) -> dict[str, Any]:
    """Upload, print the batch id; with `wait`, poll until the batch ends and return its final status."""
    try:
        size = request.path.stat().st_size
    except OSError as exc:
        raise SubmitError(f"cannot read {request.path}: {exc.strerror or exc}") from None
    base = request.server.rstrip("/")
    headers = {"Authorization": f"Bearer {request.api_key}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        created = await _upload(session, base, request, size)
        out.write(created["id"] + "\n")
        out.flush()
        if not request.wait:
            return created
        status = await _wait(session, base + created["links"]["self"], request.poll_s)
        if request.results is not None:
            await _download(session, base + created["links"]["results"], request.results)
        return status


async def _upload(session: aiohttp.ClientSession, base: str, request: SubmitRequest, size: int) -> dict[str, Any]:
    params = {} if request.name is None else {"name": request.name}
    with _progress(size, enabled=request.progress) as advance:
        try:
            async with session.post(
                base + "/v1/batches",
                data=_chunks(request.path, advance),
                params=params,
                headers={"Content-Type": "application/x-ndjson"},
            ) as response:
                body = await _json(response)
        except aiohttp.ClientError as exc:
            raise SubmitError(f"cannot reach {base}: {exc}") from None
    if response.status != 202:
        raise SubmitError(f"the service refused the upload: {_describe(response.status, body)}")
    return body


async def _chunks(path: Path, advance: Callable[[int], None]) -> AsyncIterator[bytes]:
    stream = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(stream.read, CHUNK):
            advance(len(chunk))
            yield chunk
    finally:
        stream.close()


async def _wait(session: aiohttp.ClientSession, url: str, poll_s: float) -> dict[str, Any]:
    unreachable_since: float | None = None
    while True:
        try:
            async with session.get(url) as response:
                body = await _json(response)
            unreachable_since = None
        except aiohttp.ClientError as exc:
            unreachable_since = unreachable_since or time.monotonic()
            if time.monotonic() - unreachable_since > UNREACHABLE_FOR_S:
                raise SubmitError(f"lost the service while waiting: {exc}") from None
            await asyncio.sleep(poll_s)
            continue
        if response.status != 200:
            raise SubmitError(f"cannot read the batch's status: {_describe(response.status, body)}")
        if body["state"] in FINAL:
            return body
        await asyncio.sleep(poll_s)


async def _download(session: aiohttp.ClientSession, url: str, target: Path) -> None:
    try:
        async with session.get(url) as response:
            if response.status != 200:
                raise SubmitError(f"cannot read the results: {_describe(response.status, await _json(response))}")
            with target.open("wb") as out:
                async for chunk in response.content.iter_chunked(CHUNK):
                    out.write(chunk)
    except aiohttp.ClientError as exc:
        raise SubmitError(f"cannot read the results: {exc}") from None
    except OSError as exc:
        raise SubmitError(f"cannot write {target}: {exc.strerror or exc}") from None


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    raw = await response.read()
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"error": {"code": "not_json", "message": raw[:200].decode(errors="replace")}}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _describe(status: int, body: dict[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        return f"HTTP {status} {error.get('code')}: {error.get('message')}"
    return f"HTTP {status}"


class _progress:  # noqa: N801 (a context manager used like a function)
    """A progress bar over the bytes sent, on a terminal."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._bar: Progress | None = None
        if enabled and sys.stderr.isatty():
            self._bar = Progress(
                TextColumn("[bold]upload"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task("upload", total=total)

    def __enter__(self) -> Callable[[int], None]:
        bar = self._bar
        if bar is None:
            return lambda _n: None
        bar.start()
        return lambda n: bar.advance(self._task, n)

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def exit_code(status: dict[str, Any]) -> int:
    """0 when the batch succeeded (or was only submitted), 1 when it failed or was cancelled."""
    return 0 if status.get("state") in (None, "queued", "running", "succeeded") else 1


def print_status(status: dict[str, Any], stream: TextIO) -> None:
    """A table on a terminal, else one JSON line."""
    if not stream.isatty():
        stream.write(orjson.dumps({"event": "batch.summary", **status}).decode() + "\n")
        stream.flush()
        return
    table = Table(title=f"batch {status['id']}", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("state", str(status["state"]))
    table.add_row("total", str(status["total"]))
    for key, value in status["counts"].items():
        table.add_row(key, str(value))
    if status.get("error"):
        table.add_row("error", str(status["error"]["message"]))
    Console(file=stream).print(table)
