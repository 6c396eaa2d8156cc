"""Instructions per job of patch-worker source trees, counted by cachegrind: an A/B that load does not move.

CPU time on this shared 2-core machine moves by ±5 % between identical runs (an A/A of 6 paired rounds gave
0.95 once), more than most single cuts are worth. Instructions executed in user space, for the same number
of jobs, are the same from run to run within ~0.1 %, so a cut of 0.5 % shows. They leave out the kernel's
share (socket calls, epoll) and cache effects: they say whether a cut pays, not how much CPU it saves, and
are no figure for the bench table.

    uv run python -m bench.instructions [--jobs 4000] [--dataset nested] TREE [TREE ...]

Each TREE is a directory holding a `worker` package (this repository, or `git archive REV | tar -x -C DIR`
of another revision); all run with this environment's interpreter and libraries against one emulator
(zero latency, concurrency 64). Per job: (a run of N jobs - a run of an empty file) / N. Needs valgrind;
a run of 4,000 jobs takes ~50 s under it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import TOKEN, emulator, use_bytecode_cache, worker_args, write_jobs
from bench.nested import write_nested_jobs

# `python -c LAUNCH ARGS` runs the `worker` package of one tree, whatever the current directory
LAUNCH = (
    "import runpy, sys; sys.path.insert(0, {tree!r}); sys.argv = ['worker', *sys.argv[1:]]; "
    "runpy.run_module('worker', run_name='__main__')"
)
CACHEGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]


def _env() -> dict[str, str]:
    return {**os.environ, "GRAPH_TOKEN": TOKEN, "PATCH_WORKER_RUN__EVENT_LOOP": "asyncio"}


def instructions(command: list[str]) -> int:
    """The instructions `command` executed in user space (cachegrind's `I refs`)."""
    done = subprocess.run(
        [*CACHEGRIND, *command],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"the run under cachegrind failed ({done.returncode}): {done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    """Command-line entry: one line per tree."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("trees", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--dataset", choices=["seed", "nested"], default="nested")
    ns = parser.parse_args()
    use_bytecode_cache()
    with tempfile.TemporaryDirectory() as tmp_name, emulator("--record-limit", "1000") as emu:
        tmp = Path(tmp_name)
        write = write_nested_jobs if ns.dataset == "nested" else write_jobs
        source, empty = write(tmp / "jobs.jsonl", ns.jobs), tmp / "empty.jsonl"
        empty.write_bytes(b"")
        for tree in ns.trees:
            launch = [sys.executable, "-c", LAUNCH.format(tree=str(tree.resolve()))]
            empty_run = [*launch, *worker_args(empty, emu.base_url, tmp / "r", 64)]
            # a first run compiles the tree's modules into the bytecode cache, as bench.run does
            subprocess.run(empty_run, env=_env(), capture_output=True, check=False)
            start = instructions(empty_run)
            run = instructions([*launch, *worker_args(source, emu.base_url, tmp / "r", 64)])
            per_job = (run - start) / ns.jobs
            print(f"{tree}: start-up {start / 1e9:.3f} G, {per_job / 1e3:.1f} k instructions per job", flush=True)


if __name__ == "__main__":
    main()
