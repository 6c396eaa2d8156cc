"""The reference: the fastest plain aiohttp loop we know for PATCHing N bodies (no validation, results or logs).

64 long-lived workers share one iterator over the jobs, through one ClientSession with patch-worker's own
session settings (TCPConnector limits, per-socket timeouts, User-Agent) and the same per-request headers
(Authorization, Content-Type, a fresh client-request-id, return-client-request-id). Run in its own process,
like patch-worker, so both pay the same process cost; it prints one JSON line with the request phase's wall
time and CPU time (the bodies are prepared before the clock starts).

    python -m bench.raw --base-url URL --jobs 20000 [--concurrency 64] [--path /auditLogs/provisioning]
    python -m bench.raw --base-url URL --input FILE.jsonl [--concurrency 64]

With `--input` it sends the lines of a patch-worker input file instead of the seed body: an envelope's
body to its path (re-serialised compactly, as patch-worker does), a bare body as the line is. Reading and
splitting the file is done before the clock starts, but counts in the process's own time and CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import orjson

from bench.common import BODY, TOKEN

USER_AGENT = "patch-worker/0.1"


def seed_jobs(base_url: str, count: int, path: str) -> list[tuple[str, bytes]]:
    """`count` times the seed body to one URL."""
    return [(base_url.rstrip("/") + path, orjson.dumps(BODY))] * count


def file_jobs(base_url: str, source: Path, path: str) -> list[tuple[str, bytes]]:
    """(url, body) of each line of a patch-worker input file (envelopes and bare bodies)."""
    jobs: list[tuple[str, bytes]] = []
    with source.open("rb") as lines:
        for line in lines:
            data = orjson.loads(line)
            if "body" in data:
                jobs.append((base_url.rstrip("/") + data.get("path", path), orjson.dumps(data["body"])))
            else:
                jobs.append((base_url.rstrip("/") + path, line.rstrip(b"\n")))
    return jobs


async def raw_run(work: Sequence[tuple[str, bytes]], concurrency: int) -> dict[str, object]:
    """PATCH every (url, body) with `concurrency` workers; the figures of the request phase."""
    count = len(work)
    authorization = f"Bearer {TOKEN}"
    statuses: Counter[int] = Counter()
    jobs = iter(work)
    # the same settings as worker.send.http.new_session (limit 256 >= the concurrency of 64)
    connector = aiohttp.TCPConnector(limit=256, limit_per_host=256, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=60.0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers={"User-Agent": USER_AGENT}, raise_for_status=False
    ) as session:

        async def worker() -> None:
            for url, body in jobs:
                headers = {
                    "Authorization": authorization,
                    "Content-Type": "application/json",
                    "client-request-id": str(uuid.uuid4()),
                    "return-client-request-id": "true",
                }
                async with session.patch(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] += 1

        cpu_started = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    return {
        "requests": count,
        "elapsedS": round(elapsed, 4),
        "cpuS": round(cpu, 4),
        "jobsPerSecond": round(count / elapsed, 1),
        "httpStatus": {str(code): n for code, n in sorted(statuses.items())},
    }


def main() -> None:
    """Command-line entry: prints one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--jobs", type=int, default=0, help="how many seed bodies to send")
    parser.add_argument("--input", type=Path, help="send the lines of this input file instead")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--path", default="/auditLogs/provisioning")
    ns = parser.parse_args()
    if ns.input is not None:
        work = file_jobs(ns.base_url, ns.input, ns.path)
    else:
        work = seed_jobs(ns.base_url, ns.jobs, ns.path)
    figures = asyncio.run(raw_run(work, ns.concurrency))
    sys.stdout.write(orjson.dumps(figures).decode() + "\n")


if __name__ == "__main__":
    main()
