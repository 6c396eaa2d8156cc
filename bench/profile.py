"""Where patch-worker's CPU goes, per job: the CLI profiled against a zero-latency emulator.

    uv run python -m bench.profile [--jobs 50000] [--sampler py-spy|cprofile] [--top 25] [--dataset nested]
                                   [--loop uvloop]

py-spy (a sampling profiler, run through `uvx py-spy` when it is not installed) barely disturbs the run;
its samples are grouped by stage: the HTTP exchange (what the raw aiohttp loop also pays), line
validation, the per-job scheduling around the send (executor, lane, retry wrapper), recording
(results, summary, log line), the reader thread, and start-up imports. cProfile (stdlib) instead gives
exact call counts but inflates small calls. Bytecode is cached as in bench.run.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.common import TOKEN, emulator, run_measured, worker_args, write_jobs
from bench.nested import write_nested_jobs

# A sample belongs to the first stage (in this order) that any frame of its stack matches.
STAGES: list[tuple[str, str]] = [
    ("start-up imports", r"^_find_and_load"),
    ("reader thread (JsonlSource._read_block)", r"^Thread\._bootstrap"),
    ("validation (parse_line)", r"^parse_input_line|^parse_line"),
    ("recording (results, summary, log line)", r"^ResultsRecorder\.record"),
    (
        "HTTP exchange (aiohttp, transport)",
        r"^GraphClient\._send|^_SelectorSocketTransport|^ClientRequest\.write_bytes|^ResponseHandler",
    ),
    ("per-job scheduling (executor, lane, retry, queue)", r"^LanePools\._work"),
    ("pipeline feed (reading, queue put)", r"^Pipeline\._feed"),
]


def stage_of(frames: list[str]) -> str:
    """The stage of one sampled stack."""
    for name, pattern in STAGES:
        if any(re.search(pattern, frame) for frame in frames):
            return name
    return "event loop and other"


def py_spy_command() -> list[str] | None:
    """py-spy on PATH, else through uvx, else None."""
    if found := shutil.which("py-spy"):
        return [found]
    if found := shutil.which("uvx"):
        return [found, "py-spy"]
    return None


def summarize_py_spy(raw: Path, jobs: int, cpu_s: float, top: int) -> None:
    """Print the share and µs per job of each stage and of the busiest leaf functions."""
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        if frames[-1].startswith("_worker (concurrent/futures/thread.py"):
            continue  # an idle executor thread waiting for work
        count = int(count_text)
        total += count
        stages[stage_of(frames)] += count
        leaves[frames[-1]] += count
    per_job_us = cpu_s / jobs * 1e6
    print(f"\n{jobs} jobs, {cpu_s:.2f} s CPU = {per_job_us:.1f} µs per job; {total} samples\n")
    print("stage                                                share   µs/job")
    for name, count in stages.most_common():
        print(f"{name:52s} {count / total:6.1%} {count / total * per_job_us:8.1f}")
    print(f"\nbusiest functions (own time)\n{'share':>6s} {'µs/job':>7s}  function")
    for name, count in leaves.most_common(top):
        print(f"{count / total:6.1%} {count / total * per_job_us:7.1f}  {name}")


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--sampler", choices=["py-spy", "cprofile"], default="py-spy")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", type=Path, help="also save the raw profile here")
    parser.add_argument(
        "--dataset", choices=["seed", "nested"], default="seed", help="the seed's body, or data set 2 (bench.nested)"
    )
    parser.add_argument(
        "--loop", choices=["asyncio", "uvloop"], default="asyncio", help="the event loop (bench (b) uses asyncio's)"
    )
    ns = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "patch-worker-bench-pycache")
    spy = py_spy_command() if ns.sampler == "py-spy" else None
    if ns.sampler == "py-spy" and spy is None:
        sys.exit("py-spy not found (install it, or have uvx on PATH), or use --sampler cprofile")
    with tempfile.TemporaryDirectory() as tmp_name, emulator("--record-limit", "1000") as emu:
        tmp = Path(tmp_name)
        write = write_nested_jobs if ns.dataset == "nested" else write_jobs
        source = write(tmp / "jobs.jsonl", ns.jobs)
        args = worker_args(source, emu.base_url, tmp / "results.jsonl", 64)
        # a first, unmeasured run compiles every module into the bytecode cache
        (tmp / "empty.jsonl").write_bytes(b"")
        run_measured([sys.executable, "-m", "worker", *worker_args(tmp / "empty.jsonl", emu.base_url, tmp / "r", 64)])
        env = {"GRAPH_TOKEN": TOKEN, "PATCH_WORKER_RUN__EVENT_LOOP": ns.loop}
        if spy is not None:
            out = tmp / "profile.txt"
            command = [*spy, "record", "-f", "raw", "-r", "500", "-o", str(out), "--", sys.executable, "-m", "worker"]
            timed = run_measured([*command, *args], env=env)
            # py-spy's own CPU is included in the wrapper's rusage: take the child's from a plain run
            plain = run_measured([sys.executable, "-m", "worker", *args], env=env)
            summarize_py_spy(out, ns.jobs, plain.cpu_s, ns.top)
            if ns.keep:
                shutil.copy(out, ns.keep)
        else:
            out = tmp / "profile.prof"
            timed = run_measured([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "worker", *args], env=env)
            stats = pstats.Stats(str(out))
            print(f"\n{ns.jobs} jobs under cProfile ({timed.cpu_s:.2f} s CPU, inflated by the profiler)")
            stats.sort_stats("tottime").print_stats(ns.top)
            stats.sort_stats("cumulative").print_stats(ns.top)
            if ns.keep:
                shutil.copy(out, ns.keep)
        if timed.code not in (0, 1):
            sys.exit(f"the profiled run failed: {timed.stderr[-2000:]}")


if __name__ == "__main__":
    main()
