"""Which rate limiter paces a lane: aiolimiter's AsyncLimiter against patch-worker's own Pacer.

Both are set to exactly the server's quota Q and drive the same client: 32 workers sharing one
iterator, each taking a limiter slot before every PATCH and, on a 429, sleeping the answer's
Retry-After (fractional) before taking a new slot. The emulator (its own process) keeps a token bucket
of Q per second per tenant; it runs twice: with a bucket of one second of Q (a server that tolerates a
burst as big as aiolimiter's) and with a bucket of 5 requests (a server that does not). Reported per
limiter and server: completion time / (N/Q) and the share of requests answered 429. A second, HTTP-free
part measures what one acquire costs (CPU µs, 64 tasks for 2 s, a rate far above what Graph allows).

    uv run python -m bench.limiter [--quota 200] [--jobs 2000]

The Pacer has jobs aiolimiter does not do (its rate changes while it runs as the lane learns the quota;
a throttle gate holds it until a moment; a $batch takes n slots at once), so the question measured here
is only whether aiolimiter paces at least as well at a fixed rate; if it did, the Pacer could wrap it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from aiolimiter import AsyncLimiter

from bench.common import BODY, TOKEN, emulator, emulator_call
from worker.schedule.pacer import Pacer

CONCURRENCY = 32
SMALL_SERVER_BUCKET = 5

Acquire = Callable[[], Awaitable[Any]]


def limiters(rate: float) -> dict[str, Acquire]:
    """A fresh acquire function per contender, each set to `rate` per second."""
    return {
        "patch-worker Pacer (burst 1)": Pacer(rate, burst=1.0).acquire,
        "aiolimiter AsyncLimiter(Q, 1 s)": AsyncLimiter(rate, 1.0).acquire,
        "aiolimiter AsyncLimiter(1, 1/Q s)": AsyncLimiter(1, 1.0 / rate).acquire,
    }


async def paced_run(base_url: str, jobs: int, acquire: Acquire) -> float:
    """PATCH `jobs` seed bodies through `acquire`, retrying 429s after their Retry-After; wall seconds."""
    body = orjson.dumps(BODY)
    url = base_url + "/auditLogs/provisioning"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    pending = iter(range(jobs))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

        async def worker() -> None:
            for _ in pending:
                request_headers = {**headers, "client-request-id": str(uuid.uuid4())}
                while True:
                    await acquire()
                    async with session.patch(url, data=body, headers=request_headers) as response:
                        await response.read()
                        if response.status != 429:
                            break
                        retry_after = float(response.headers.get("Retry-After", "1"))
                    await asyncio.sleep(retry_after)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


def pacing(quota: float, jobs: int) -> list[dict[str, Any]]:
    """Every limiter against a tolerant and a strict server bucket."""
    rows: list[dict[str, Any]] = []
    for bucket in (quota, SMALL_SERVER_BUCKET):
        flags = ("--quota", str(quota), "--quota-burst", str(bucket), "--retry-after", "fractional")
        with emulator(*flags, "--record-limit", "1000") as emu:
            for name, acquire in limiters(quota).items():
                emulator_call(emu.root + "/_emulator/reset", "POST")
                time.sleep(bucket / quota)  # the server's bucket refills fully before each contender
                seconds = asyncio.run(paced_run(emu.base_url, jobs, acquire))
                stats = emulator_call(emu.root + "/_emulator/stats")
                total, throttled = int(stats["total"]), int(stats["by_status"].get("429", 0))
                rows.append(
                    {
                        "limiter": name,
                        "serverBucket": bucket,
                        "seconds": round(seconds, 2),
                        "vsIdeal": round(seconds / (jobs / quota), 3),
                        "requests": total,
                        "share429": round(throttled / total, 4),
                    }
                )
    return rows


async def _acquire_cost(acquire: Acquire, seconds: float) -> tuple[int, float, float]:
    """Acquires done by 64 tasks in `seconds`, with the CPU and wall seconds they took."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def task() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await acquire()
            done += 1

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(task() for _ in range(64)))
    return done, time.process_time() - cpu, time.perf_counter() - wall


def acquire_cost(rate: float = 20_000.0, seconds: float = 2.0) -> list[dict[str, Any]]:
    """CPU µs per acquire at `rate` per second (no HTTP), and the rate actually reached."""
    rows = []
    for name, acquire in limiters(rate).items():
        done, cpu, wall = asyncio.run(_acquire_cost(acquire, seconds))
        rows.append(
            {
                "limiter": name,
                "rate": rate,
                "acquires": done,
                "cpuMicrosPerAcquire": round(cpu / done * 1e6, 1),
                "reachedVsRate": round(done / wall / rate, 3),
            }
        )
    return rows


def scenario(quota: float, jobs: int) -> dict[str, Any]:
    """Both parts, as bench.run reports them."""
    return {"quota": quota, "jobs": jobs, "pacing": pacing(quota, jobs), "acquireCost": acquire_cost()}


def main() -> None:
    """Command-line entry: prints one JSON object."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--quota", type=float, default=200.0)
    parser.add_argument("--jobs", type=int, default=2000)
    ns = parser.parse_args()
    print(orjson.dumps(scenario(ns.quota, ns.jobs), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
