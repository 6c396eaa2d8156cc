"""`consume azure-queue://...` on Azurite, beside the Redis Streams row of `bench/consume.py` (issue 17).

    uv run python -m bench.consume_azure               # 1 round; merges into latest.json's consume scenario
    uv run python -m bench.consume_azure --rounds 3

The jobs of `run` and Redis at 20 ms latency, concurrency 64, but 2,000 of them, not 20,000: sent to a
fresh queue on Azurite first (not measured), then `patch-worker consume azure-queue://... --until-empty`
drains it. Its figure is the jobs divided by the span from the first to the last result in QUEUE-results,
by the insertion times Azure gives them (whole seconds: up to a second either way). Azurite
(`tests/azurite.py`, npm) runs on this machine, one Node.js process: an Azure queue takes one message per
request and a result costs two (write it, delete the job), so its figure is Azurite's and this machine's,
not Azure's. Azurite answered about 400 sends/s here (2 vCPUs shared) and slows as its queue grows: a
round of 20,000 did not end in 15 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from azure.storage.queue.aio import QueueClient

from bench.common import consumer_figures, emulator, run_cli, use_bytecode_cache, write_jobs
from tests.azurite import Azurite, run_azurite

JOBS = 2_000
CONCURRENCY = 64
IDLE_S = 0.3
SENDERS = 64


@contextlib.contextmanager
def azurite_server(folder: Path) -> Iterator[Azurite]:
    """Azurite's queue service on a free port, in memory, for the bench's life."""
    yield from run_azurite(folder)


async def fill(connection_string: str, queue: str, jobs: list[bytes]) -> None:
    """A fresh queue holding every one of `jobs` (input lines), one message each."""
    lines = iter(jobs)

    async def sender(client: QueueClient) -> None:
        for line in lines:
            await client.send_message(line.decode())

    async with QueueClient.from_connection_string(connection_string, queue) as client:
        await client.create_queue()
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))


async def result_span(connection_string: str, queue: str) -> tuple[int, float]:
    """How many results QUEUE-results holds, and the seconds from the first one's insertion to the last's."""
    times = []
    async with QueueClient.from_connection_string(connection_string, f"{queue}-results") as client:
        pages = client.receive_messages(messages_per_page=32, visibility_timeout=3600)
        async for page in pages.by_page():
            times.extend([message.inserted_on async for message in page])
    stamps = [stamp.timestamp() for stamp in times if stamp is not None]
    return len(times), (max(stamps) - min(stamps)) if stamps else 0.0


def consume_azure(azurite: Azurite, base_url: str, source: Path) -> dict[str, Any]:
    """One measured `consume --until-empty` over a fresh queue filled with `source`'s lines."""
    queue = f"bench{uuid.uuid4().hex[:12]}"
    asyncio.run(fill(azurite.connection_string, queue, source.read_bytes().splitlines()))
    timed = run_cli(
        [
            "consume",
            f"azure-queue://{queue}",
            "--base-url",
            base_url,
            "--concurrency",
            str(CONCURRENCY),
            "--until-empty",
            "--idle-s",
            str(IDLE_S),
        ],
        env={
            "PATCH_WORKER_RUN__EVENT_LOOP": "asyncio",
            "PATCH_WORKER_QUEUE__BLOCK_S": "0.1",
            "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        },
    )
    done, span_s = asyncio.run(result_span(azurite.connection_string, queue))
    return consumer_figures(timed, done, span_s)


def measure(tmp: Path, rounds: int, base_url: str | None = None) -> list[dict[str, Any]]:
    """`rounds` measured consumers of JOBS jobs each (an emulator at 20 ms latency started unless given)."""
    source = write_jobs(tmp / "consume-azure.jsonl", JOBS)
    folder = tmp / "azurite"
    folder.mkdir()
    with azurite_server(folder) as azurite, contextlib.ExitStack() as stack:
        if base_url is None:
            base_url = stack.enter_context(emulator("--latency-ms", "20", "--record-limit", "1000")).base_url
        return [consume_azure(azurite, base_url, source) for _ in range(rounds)]


def main() -> None:
    """Measure, print, and merge into latest.json's consume scenario (and the README) when it has one."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="rounds (default: %(default)s)")
    ns = parser.parse_args()
    import orjson

    from bench.run import RESULTS, median_by, publish_scenario

    use_bytecode_cache()
    with tempfile.TemporaryDirectory(prefix="patch-worker-bench-") as tmp:
        runs = measure(Path(tmp), ns.rounds)
    azure = median_by(runs, "spanS")
    print({key: azure[key] for key in ("jobs", "jobsPerSecond", "cliJobsPerSecond")}, file=sys.stderr)
    latest = RESULTS / "latest.json"
    if latest.exists() and (figures := orjson.loads(latest.read_bytes())["scenarios"].get("consume")):
        figures["azure"] = azure
        figures["rounds"]["azure"] = runs
        publish_scenario("consume", figures)


if __name__ == "__main__":
    main()
