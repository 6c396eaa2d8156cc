"""Quota scenario: the emulator allows Q requests/s per tenant; N jobs. Completion time / (N/Q), 429 share.

patch-worker against a naive client (aiohttp + tenacity, fixed concurrency) in the same run. With a
timeline, patch-worker runs with `--log-level info` so its `lane.paused` events (the lane's paced rate
and concurrency limit at each throttle) can be plotted next to what the emulator recorded.
    uv run python -m bench.quota [--quota 200] [--jobs 6000] [--retry-after seconds]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench.common import emulator, emulator_call, run_cli, worker_args, write_jobs
from bench.naive import naive_run


@dataclass
class Timeline:
    """One client's run as seen by the emulator (monotonic seconds from the client's start)."""

    started: float
    requests: list[tuple[float, int]] = field(default_factory=list)  # (time, status)
    lane_events: list[dict[str, Any]] = field(default_factory=list)  # lane.paused: t, rate, limit, pauseS


def share_429(root: str) -> tuple[int, int]:
    """Requests the emulator answered since its last reset, and how many of them with 429."""
    stats = emulator_call(root + "/_emulator/stats")
    return int(stats["total"]), int(stats["by_status"].get("429", 0))


def recorded(root: str, started: float) -> list[tuple[float, int]]:
    """(time since `started`, status) of every request the emulator recorded, oldest first."""
    records = emulator_call(root + "/_emulator/requests")
    return sorted((float(r["time"]) - started, int(r["status"])) for r in records)


def _lane_events(stderr: str, started: float) -> list[dict[str, Any]]:
    """`lane.paused` JSON log lines, their ISO timestamps moved onto this machine's monotonic clock."""
    wall_minus_mono = time.time() - time.monotonic()
    events = []
    for line in stderr.splitlines():
        if not line.startswith("{") or '"lane.paused"' not in line:
            continue
        event = orjson.loads(line)
        at = datetime.fromisoformat(event["timestamp"]).timestamp() - wall_minus_mono - started
        events.append({"t": at, "rate": event.get("rate"), "limit": event.get("limit"), "pauseS": event.get("pauseS")})
    return events


def scenario(
    quota: float, jobs: int, retry_after: str, concurrency: int, *, timelines: dict[str, Timeline] | None = None
) -> dict[str, Any]:
    """Run both clients against one emulator (reset in between); return the figures.

    Pass a dict as `timelines` to get each client's requests over time (and patch-worker's lane events).
    """
    ideal = jobs / quota
    figures: dict[str, Any] = {"quota": quota, "jobs": jobs, "idealS": ideal, "retryAfter": retry_after}
    log_level = "info" if timelines is not None else "warning"
    with tempfile.TemporaryDirectory() as tmp, emulator("--quota", str(quota), "--retry-after", retry_after) as emu:
        source = write_jobs(Path(tmp) / "jobs.jsonl", jobs)
        started = time.monotonic()
        timed = run_cli(worker_args(source, emu.base_url, Path(tmp) / "r.jsonl", concurrency, "--log-level", log_level))
        total, throttled = share_429(emu.root)
        summary = timed.json_line("run.summary")
        figures["patchWorker"] = {
            "seconds": round(timed.seconds, 2),
            "elapsedS": summary["elapsedS"],
            "vsIdeal": round(timed.seconds / ideal, 3),
            "requests": total,
            "share429": round(throttled / total, 4),
            "succeeded": summary["succeeded"],
            "exit": timed.code,
            "logLevel": log_level,
        }
        if timelines is not None:
            timelines["patchWorker"] = Timeline(
                started, recorded(emu.root, started), _lane_events(timed.stderr, started)
            )
        emulator_call(emu.root + "/_emulator/reset", "POST")
        started = time.monotonic()
        seconds = asyncio.run(naive_run(emu.base_url, jobs, concurrency))
        total, throttled = share_429(emu.root)
        figures["naive"] = {
            "seconds": round(seconds, 2),
            "vsIdeal": round(seconds / ideal, 3),
            "requests": total,
            "share429": round(throttled / total, 4),
        }
        if timelines is not None:
            timelines["naive"] = Timeline(started, recorded(emu.root, started))
    return figures


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--quota", type=float, default=200.0)
    parser.add_argument("--jobs", type=int, default=6000)
    parser.add_argument("--retry-after", default="seconds")
    parser.add_argument("--concurrency", type=int, default=32)
    ns = parser.parse_args()
    print(scenario(ns.quota, ns.jobs, ns.retry_after, ns.concurrency))


if __name__ == "__main__":
    main()
