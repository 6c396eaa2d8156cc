"""How fast the web page's server-side paging answers on big data (issue 18): figures for the README.

    uv run python -m bench.web_paging                 # 10,000 batches, one of 1,000,000 result lines
    uv run python -m bench.web_paging --lines 100000  # smaller

It fills a fresh embedded state directory directly (the SQLite index and one results file), starts the real
service on it against the emulator, and times the HTTP requests the page makes, median of 5.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

from worker.emulator.config import EmulatorConfig
from worker.emulator.running import start_emulator
from worker.service.batches import Batch, State, new_batch_id, now
from worker.service.embedded.store import BatchStore
from worker.service.server import running_service
from worker.settings import load_settings

KEY = "bench-key"
TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {KEY}"}


def result(line: int) -> bytes:
    """A result line; one in 100 failed (throttled), the rest succeeded."""
    failed = line % 100 == 0
    return orjson.dumps(
        {
            "jobId": f"job-{line}",
            "line": line,
            "status": "failed" if failed else "succeeded",
            "httpStatus": 429 if failed else 204,
            "attempts": 1,
            "elapsedMs": 12.5,
            "clientRequestId": None,
            "error": {"kind": "throttled", "message": "Too many requests", "detail": None} if failed else None,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )


async def fill(state: Path, batches: int, lines: int) -> str:
    """`batches` finished batches (every 100th failed), the newest with a results file of `lines` lines."""
    store = BatchStore(state)
    await store.open()
    moment = now()
    big = ""
    for index in range(batches):
        big = new_batch_id()
        kind: State = "failed" if index % 100 == 0 else "succeeded"
        await store.insert(Batch(id=big, state="queued", created=moment, updated=moment, total=lines))
        await store.set_state(big, kind)
    folder = store.batch_dir(big)
    folder.mkdir(parents=True)
    with (folder / "results.jsonl").open("wb") as out:
        for start in range(1, lines + 1, 10_000):
            out.write(b"".join(result(line) for line in range(start, min(start + 10_000, lines + 1))))
    await store.set_counts(big, {"succeeded": lines - lines // 100, "failed": lines // 100}, lines)
    await store.close()
    return big


async def timed(client: aiohttp.ClientSession, path: str) -> tuple[float, int]:
    """Median milliseconds of 5 GETs, and the size of the answer."""
    times, size = [], 0
    for _ in range(5):
        started = time.perf_counter()
        async with client.get(path, headers=AUTH) as response:
            assert response.status == 200, await response.text()
            size = len(await response.read())
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), size


async def main(batches: int, lines: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder)
        big = await fill(state, batches, lines)
        emulator_config = EmulatorConfig(accepted_tokens=frozenset({TOKEN}))
        async with await start_emulator(emulator_config) as emulator:
            settings = load_settings(
                None,
                {
                    "graph": {"base_url": emulator.base_url},
                    "auth": {"token": TOKEN},
                    "service": {"api_key": KEY, "state_dir": state, "port": 0},
                },
            )
            async with running_service(settings) as service, aiohttp.ClientSession(service.url) as client:
                deep = lines - 1000
                for label, path in (
                    (f"batch list, first page of 50 ({batches:,} batches)", "/v1/batches?limit=50"),
                    ("batch list, state=failed (1 in 100)", "/v1/batches?limit=50&state=failed"),
                    ("batch list, state=running (none: scans its budget)", "/v1/batches?limit=50&state=running"),
                    (f"failed lines, first page of 50 ({lines:,} lines)", f"/v1/batches/{big}/lines?limit=50"),
                    (f"failed lines, page at line {deep:,}", f"/v1/batches/{big}/lines?limit=50&cursor={deep}"),
                    ("rejected lines (none: reads the whole file)", f"/v1/batches/{big}/lines?status=rejected"),
                ):
                    ms, size = await timed(client, path)
                    print(f"| {label} | {ms:,.0f} ms | {size / 1024:,.1f} KiB |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.batches, arguments.lines))
