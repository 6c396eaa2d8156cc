"""Quota scenario: the emulator allows Q requests/s per tenant; N jobs. Completion time / (N/Q), 429 share.

patch-worker against a naive client (aiohttp + tenacity, fixed concurrency) in the same run.
    uv run python -m bench.quota [--quota 200] [--jobs 6000] [--retry-after seconds]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.common import emulator, emulator_call, run_cli, write_jobs
from bench.naive import naive_run


def _share_429(root: str) -> tuple[int, int]:
    stats = emulator_call(root + "/_emulator/stats")
    return int(stats["total"]), int(stats["by_status"].get("429", 0))


def scenario(quota: float, jobs: int, retry_after: str, concurrency: int) -> dict[str, Any]:
    """Run both clients against one emulator (reset in between); return the figures."""
    ideal = jobs / quota
    figures: dict[str, Any] = {"quota": quota, "jobs": jobs, "idealS": ideal, "retryAfter": retry_after}
    with tempfile.TemporaryDirectory() as tmp, emulator("--quota", str(quota), "--retry-after", retry_after) as emu:
        source = write_jobs(Path(tmp) / "jobs.jsonl", jobs)
        timed = run_cli(
            ["run", str(source), "--base-url", emu.base_url, "--results", str(Path(tmp) / "r.jsonl"),
             "--concurrency", str(concurrency), "--no-progress", "--log-level", "warning"]
        )  # fmt: skip
        total, throttled = _share_429(emu.root)
        figures["patchWorker"] = {
            "seconds": round(timed.seconds, 2),
            "vsIdeal": round(timed.seconds / ideal, 3),
            "requests": total,
            "share429": round(throttled / total, 4),
            "exit": timed.code,
        }
        emulator_call(emu.root + "/_emulator/reset", "POST")
        seconds = asyncio.run(naive_run(emu.base_url, jobs, concurrency))
        total, throttled = _share_429(emu.root)
        figures["naive"] = {
            "seconds": round(seconds, 2),
            "vsIdeal": round(seconds / ideal, 3),
            "requests": total,
            "share429": round(throttled / total, 4),
        }
    return figures


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quota", type=float, default=200.0)
    parser.add_argument("--jobs", type=int, default=6000)
    parser.add_argument("--retry-after", default="seconds")
    parser.add_argument("--concurrency", type=int, default=32)
    ns = parser.parse_args()
    print(scenario(ns.quota, ns.jobs, ns.retry_after, ns.concurrency))


if __name__ == "__main__":
    main()
