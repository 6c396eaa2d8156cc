"""Every benchmark scenario of issue 9 in one command; writes bench/results/latest.{json,md}, quota.png and
throttling.png (issue 13's matrix, `bench/throttling.py`).

    uv run python -m bench.run            # full: about 25 minutes on 2 cores (15 of them the throttling matrix)
    uv run python -m bench.run --quick    # smaller inputs, one round: about 8 minutes
    uv run python -m bench.run --only a,b # some scenarios (a b a2 b2 startup c d quota batch limiter throttling)
    uv run python -m bench.run --only a,a2,b,b2,startup,c --merge  # into latest.json's other figures

(a) and (b) run on two data sets: the seed's example body repeated (a, b) and data set 2 (a2, b2,
`bench/nested.py`): realistic nested bodies of 0.3-1.5 KB, envelopes and bare bodies mixed.

Every comparison is a ratio of two figures measured in the same run, against the same emulator process
(a separate process, as are both clients). Clients that are compared run alternately, `rounds` times each,
and the median round is reported: the machine is shared and noisy. CPU time and peak RSS of a client are
read from `wait4` on that child alone.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from bench.common import (
    BODY,
    REPO,
    Emulator,
    Timed,
    cpu_seconds,
    emulator,
    emulator_call,
    run_cli,
    run_measured,
    use_bytecode_cache,
    worker_args,
    write_jobs,
)
from bench.consume import scenario as consume_scenario
from bench.limiter import scenario as limiter_scenario
from bench.nested import write_nested_jobs
from bench.plot import plot_quota
from bench.quota import Timeline
from bench.quota import scenario as quota_scenario
from bench.throttling import matrix, matrix_table
from tests.hostile.helpers import PEAK_RSS, peak_rss_kib
from worker.schedule.concurrency import SLOW_START_FAST_FROM, SLOW_START_GROWTH, SLOW_START_WINDOW

RESULTS = REPO / "bench" / "results"
# A full run of every scenario writes its tables between these lines of the README.
README_START = "<!-- bench:start (written by `uv run python -m bench.run`; do not edit by hand) -->"
README_END = "<!-- bench:end -->"
CONCURRENCY = 64


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is in one mode."""

    rounds: int
    throughput_jobs: int
    cpu_jobs: int
    rss_small: int
    rss_big: int
    peer_jobs: int
    quota_jobs: int
    batch_jobs: int
    limiter_jobs: int
    throttling_quick: bool  # the matrix's own quick sizes (N = 1,500) rather than its full ones (N = 6,000)
    startup_rounds: int = 7
    slow_start_jobs: int = 2_000  # short runs: slow start's loss is a fixed time, the noise grows with the run
    slow_start_rounds: int = 15


FULL = Sizes(
    rounds=5,
    throughput_jobs=20_000,
    cpu_jobs=30_000,
    rss_small=10_000,
    rss_big=1_000_000,
    peer_jobs=2_000,
    quota_jobs=6_000,
    batch_jobs=2_000,
    limiter_jobs=2_000,
    throttling_quick=False,
)
QUICK = Sizes(
    rounds=1,
    throughput_jobs=20_000,
    cpu_jobs=20_000,
    rss_small=10_000,
    rss_big=200_000,
    peer_jobs=500,
    quota_jobs=3_000,
    batch_jobs=800,
    limiter_jobs=800,
    throttling_quick=True,
)


# Each data set: its name in the tables, and how its input file is written.
DATASETS: dict[str, tuple[str, Callable[[Path, int], Path]]] = {
    "seed": ("the seed's body (1.3 KB), envelopes", write_jobs),
    "nested": ("data set 2: nested bodies of 0.3-1.5 KB, envelopes and bare bodies", write_nested_jobs),
}
CORE_IMPORTS = "import aiohttp, pydantic, tenacity, structlog"


def say(message: str) -> None:
    """Progress on stderr (the results go to files)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median_by(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose `key` is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: float(run[key]))
    return ordered[(len(ordered) - 1) // 2]


# `python -c NO_SLOW_START ARGS` is `python -m worker ARGS` with every lane at full concurrency from its
# first request (slow start off): what slow start costs an unthrottled run is the difference.
NO_SLOW_START = """
import runpy, sys
import worker.schedule.concurrency as concurrency
_init = concurrency.AdaptiveLimit.__init__
def _full_at_once(self, **kwargs):
    _init(self, **{**kwargs, "slow_start": False})
concurrency.AdaptiveLimit.__init__ = _full_at_once
sys.argv = ["worker", *sys.argv[1:]]
runpy.run_module("worker", run_name="__main__")
"""


def patch_worker(
    source: Path,
    base_url: str,
    tmp: Path,
    concurrency: int = CONCURRENCY,
    *extra: str,
    loop: str = "asyncio",
    launcher: tuple[str, ...] = ("-m", "worker"),
    peak: bool = False,
) -> dict[str, Any]:
    """One measured `patch-worker run` (default log level): CLI wall, run phase, CPU, RSS, summary.

    On asyncio's own loop unless told otherwise, as the raw loop and the other clients run: like for like.
    With `peak`, the process also reports its own peak RSS (VmHWM, `peakRssMB`: see tests/hostile/helpers.py).
    """
    timed = run_cli(
        worker_args(source, base_url, tmp / "results.jsonl", concurrency, *extra),
        env={"PATCH_WORKER_RUN__EVENT_LOOP": loop},
        launcher=("-c", PEAK_RSS) if peak else launcher,
    )
    summary = timed.json_line("run.summary")
    sent = int(summary["succeeded"]) + int(summary["failed"])
    return {
        "cliS": round(timed.seconds, 3),
        "elapsedS": summary["elapsedS"],
        "jobs": sent,
        "succeeded": summary["succeeded"],
        "jobsPerSecond": round(sent / summary["elapsedS"], 1) if summary["elapsedS"] else 0.0,
        "cliJobsPerSecond": round(sent / timed.seconds, 1),
        "cpuS": round(timed.cpu_s, 3),
        "maxRssMB": round(timed.max_rss_mb, 1),
        **({"peakRssMB": round(peak_rss_kib(timed.stderr) / 1024, 1)} if peak else {}),
        "exit": timed.code,
        "httpStatus": summary["httpStatus"],
    }


def raw_loop(base_url: str, jobs: int, source: Path | None = None) -> dict[str, Any]:
    """One measured run of bench.raw in its own process: `jobs` seed bodies, or the lines of `source`."""
    what = ["--jobs", str(jobs)] if source is None else ["--input", str(source)]
    timed = run_measured(
        [sys.executable, "-m", "bench.raw", "--base-url", base_url, *what, "--concurrency", str(CONCURRENCY)]
    )
    figures = _checked(timed, "bench.raw")
    return {
        **figures,
        "processS": round(timed.seconds, 3),
        "processCpuS": round(timed.cpu_s, 3),
        "maxRssMB": round(timed.max_rss_mb, 1),
    }


def _checked(timed: Timed, name: str) -> dict[str, Any]:
    if timed.code != 0:
        raise RuntimeError(f"{name} exited {timed.code}: {timed.stderr[-2000:]}")
    return timed.json_line()


def with_emulator_cpu(emu: Emulator, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`measure()`, plus the emulator's CPU seconds during it (is the server the limit?)."""
    before = cpu_seconds(emu.process.pid)
    figures = measure()
    return {**figures, "emulatorCpuS": round(cpu_seconds(emu.process.pid) - before, 2)}


def alternate(rounds: int, *measures: Callable[[], dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Run measurements alternately (A B C, C B A, A B C, ...) so drift in the machine's load hits all."""
    runs: list[list[dict[str, Any]]] = [[] for _ in measures]
    for index in range(rounds):
        order = range(len(measures)) if index % 2 == 0 else reversed(range(len(measures)))
        for position in order:
            runs[position].append(measures[position]())
    return runs


# ---------------------------------------------------------------------------------------------- (a)
def warm_up(tmp: Path) -> None:
    """Run each client once on an empty input so every module is compiled into PYCACHE before timing."""
    empty = tmp / "empty.jsonl"
    empty.write_bytes(b"")
    with emulator("--record-limit", "1000") as emu:
        patch_worker(empty, emu.base_url, tmp)
        raw_loop(emu.base_url, 0)


def raw_input(dataset: str, source: Path) -> Path | None:
    """What the raw loop is given: the seed data set as a count of seed bodies (as it always was), data
    set 2 as the very file patch-worker reads (its envelopes have their own paths)."""
    return None if dataset == "seed" else source


def paired_median(tops: list[dict[str, Any]], top: str, bottoms: list[dict[str, Any]], bottom: str) -> float:
    """The median of each round's `tops[i][top] / bottoms[i][bottom]`: runs made side by side, which the
    machine's drift hits alike."""
    ratios = sorted(a[top] / b[bottom] for a, b in zip(tops, bottoms, strict=True))
    middle = len(ratios) // 2
    return float(ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2)


def throughput(sizes: Sizes, tmp: Path, _out: Path, dataset: str = "seed") -> dict[str, Any]:
    """(a) 20 ms latency, concurrency 64: patch-worker end to end vs the raw aiohttp loop."""
    jobs = sizes.throughput_jobs
    source = DATASETS[dataset][1](tmp / f"throughput-{dataset}.jsonl", jobs)
    raw_source = raw_input(dataset, source)
    with emulator("--latency-ms", "20", "--record-limit", "1000") as emu:
        pw_runs, raw_runs = alternate(
            sizes.rounds,
            lambda: with_emulator_cpu(emu, lambda: patch_worker(source, emu.base_url, tmp)),
            lambda: with_emulator_cpu(emu, lambda: raw_loop(emu.base_url, jobs, raw_source)),
        )
    pw, raw = median_by(pw_runs, "elapsedS"), median_by(raw_runs, "elapsedS")
    pw_cli = median_by(pw_runs, "cliS")
    return {
        "dataset": dataset,
        "jobs": jobs,
        "latencyMs": 20,
        "concurrency": CONCURRENCY,
        "idealJobsPerSecond": round(CONCURRENCY / 0.020),
        "patchWorker": pw,
        "raw": raw,
        # used for the target: patch-worker's own run phase (summary elapsedS: reading, validation,
        # sending, results and logs) against the raw loop's request phase
        "ratio": round(raw["elapsedS"] / pw["elapsedS"], 3),
        # stricter: the whole patch-worker CLI (interpreter start, imports, settings) against the request phase
        "ratioCli": round(raw["elapsedS"] / pw_cli["cliS"], 3),
        # process to process: both wall times include interpreter start and imports
        "ratioProcess": round(median_by(raw_runs, "processS")["processS"] / pw_cli["cliS"], 3),
        # the same, as the median of each round's own ratio (the two runs of a round are side by side)
        "ratioProcessPaired": round(paired_median(raw_runs, "processS", pw_runs, "cliS"), 3),
        "rounds": {"patchWorker": pw_runs, "raw": raw_runs},
    }


# ---------------------------------------------------------------------------------------------- (b)
def cpu(sizes: Sizes, tmp: Path, _out: Path, dataset: str = "seed") -> dict[str, Any]:
    """(b) CPU seconds per 1,000 jobs against a zero-latency emulator: the client process alone."""
    jobs = sizes.cpu_jobs
    source = DATASETS[dataset][1](tmp / f"cpu-{dataset}.jsonl", jobs)
    raw_source = raw_input(dataset, source)
    empty = tmp / "empty.jsonl"
    empty.write_bytes(b"")
    with emulator("--record-limit", "1000") as emu:
        pw_start = patch_worker(empty, emu.base_url, tmp)
        uv_start = patch_worker(empty, emu.base_url, tmp, loop="uvloop")
        raw_start = raw_loop(emu.base_url, 0)
        pw_runs, raw_runs, uv_runs = alternate(
            sizes.rounds,
            lambda: with_emulator_cpu(emu, lambda: patch_worker(source, emu.base_url, tmp)),
            lambda: with_emulator_cpu(emu, lambda: raw_loop(emu.base_url, jobs, raw_source)),
            lambda: with_emulator_cpu(emu, lambda: patch_worker(source, emu.base_url, tmp, loop="uvloop")),
        )
    pw, raw, uv = median_by(pw_runs, "cpuS"), median_by(raw_runs, "processCpuS"), median_by(uv_runs, "cpuS")
    per_1k = 1000 / jobs
    pw_per_1k, raw_per_1k, uv_per_1k = pw["cpuS"] * per_1k, raw["processCpuS"] * per_1k, uv["cpuS"] * per_1k
    pw_marginal = (pw["cpuS"] - pw_start["cpuS"]) * per_1k
    uv_marginal = (uv["cpuS"] - uv_start["cpuS"]) * per_1k
    raw_marginal = (raw["processCpuS"] - raw_start["processCpuS"]) * per_1k
    return {
        "dataset": dataset,
        "jobs": jobs,
        "latencyMs": 0,
        "concurrency": CONCURRENCY,
        "patchWorker": {
            **pw,
            "cpuPer1kS": round(pw_per_1k, 4),
            "startupCpuS": pw_start["cpuS"],
            "marginalCpuPer1kS": round(pw_marginal, 4),
        },
        "raw": {
            **raw,
            "cpuPer1kS": round(raw_per_1k, 4),
            "requestPhaseCpuPer1kS": round(raw["cpuS"] * per_1k, 4),
            "startupCpuS": raw_start["processCpuS"],
            "marginalCpuPer1kS": round(raw_marginal, 4),
        },
        # used for the target: whole-process CPU of each client (start-up included) per 1,000 jobs
        "ratio": round(pw_per_1k / raw_per_1k, 3),
        # the same, as the median of each round's own ratio
        "ratioPaired": round(paired_median(pw_runs, "cpuS", raw_runs, "processCpuS"), 3),
        # start-up subtracted (each client's CPU for an empty input): the per-job cost alone
        "ratioMarginal": round(pw_marginal / raw_marginal, 3),
        # patch-worker on uvloop (the [fast] extra; the container image has it): what it adds
        "uvloop": {
            **uv,
            "cpuPer1kS": round(uv_per_1k, 4),
            "startupCpuS": uv_start["cpuS"],
            "marginalCpuPer1kS": round(uv_marginal, 4),
            "ratio": round(uv_per_1k / raw_per_1k, 3),
            "vsAsyncio": round(uv_per_1k / pw_per_1k, 3),
        },
        "rounds": {"patchWorker": pw_runs, "raw": raw_runs, "uvloop": uv_runs},
    }


def startup(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """Start-up: the CPU of a run of an empty file against that of importing the four core libraries."""
    empty = tmp / "empty.jsonl"
    empty.write_bytes(b"")
    core = [sys.executable, "-c", CORE_IMPORTS]
    with emulator("--record-limit", "1000") as emu:
        pw_runs, import_runs = alternate(
            sizes.startup_rounds,
            lambda: patch_worker(empty, emu.base_url, tmp),
            lambda: {"cpuS": round(run_measured(core).cpu_s, 3)},
        )
    pw, imports = median_by(pw_runs, "cpuS")["cpuS"], median_by(import_runs, "cpuS")["cpuS"]
    return {
        "rounds": sizes.startup_rounds,
        "emptyRunCpuS": pw,
        "coreImportsCpuS": imports,
        "aboveImportsS": round(pw - imports, 3),
        "pairedAboveImportsS": round(
            sorted(p["cpuS"] - i["cpuS"] for p, i in zip(pw_runs, import_runs, strict=True))[(len(pw_runs) - 1) // 2], 3
        ),
        "bound": round(max(0.35, imports + 0.08), 3),
        "runs": {"patchWorker": [run["cpuS"] for run in pw_runs], "imports": [run["cpuS"] for run in import_runs]},
    }


def _slow_start_theory(elapsed_s: float, latency_s: float = 0.020) -> float:
    """The share of a run of `elapsed_s` that slow start costs in theory: its rounds (2, 4, 8, 16 below the
    concurrency: `worker.schedule.concurrency`), one round trip each, less the requests they sent, at full
    concurrency's pace."""
    rounds, sent, window = 0, 0, SLOW_START_WINDOW
    while window < CONCURRENCY:
        growth = SLOW_START_GROWTH if window >= SLOW_START_FAST_FROM else 2
        rounds, sent, window = rounds + 1, sent + window, window * growth
    lost_s = rounds * latency_s - sent / (CONCURRENCY / latency_s)
    return lost_s / elapsed_s


def slow_start(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """What slow start (a lane's first requests in rounds of 2, 4, 8, 16 ...) costs an unthrottled run: 20 ms
    latency, concurrency 64, the same run with every lane at full concurrency at once beside it.

    The loss is a fixed time (a few round trips) while the machine's noise grows with a run's length: it is
    measured as seconds on many short runs, then stated as a share of (a)'s run of `throughput_jobs`."""
    jobs = sizes.slow_start_jobs
    source = write_jobs(tmp / "slow-start.jsonl", jobs)
    at_once_launcher = ("-c", NO_SLOW_START)
    with emulator("--latency-ms", "20", "--record-limit", "1000") as emu:
        gentle, at_once = alternate(
            sizes.slow_start_rounds,
            lambda: patch_worker(source, emu.base_url, tmp),
            lambda: patch_worker(source, emu.base_url, tmp, launcher=at_once_launcher),
        )
    differences = sorted(g["elapsedS"] - a["elapsedS"] for g, a in zip(gentle, at_once, strict=True))
    lost_s = differences[(len(differences) - 1) // 2]
    pace = median_by(at_once, "elapsedS")["jobsPerSecond"]  # jobs/s at full concurrency
    long_run_s = sizes.throughput_jobs / pace
    return {
        "jobs": jobs,
        "latencyMs": 20,
        "concurrency": CONCURRENCY,
        "slowStart": median_by(gentle, "elapsedS"),
        "atOnce": median_by(at_once, "elapsedS"),
        "lostS": round(lost_s, 4),  # the median of each round's own difference of run phases
        "longRunJobs": sizes.throughput_jobs,
        # the share of a run of `longRunJobs` at the pace measured at full concurrency
        "loss": round(lost_s / long_run_s, 4),
        "lossInTheory": round(_slow_start_theory(long_run_s), 4),
        "rounds": {"slowStart": gentle, "atOnce": at_once},
    }


# ---------------------------------------------------------------------------------------------- (c)
def rss(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """(c) peak RSS (VmHWM) of patch-worker for a small and a big input (zero latency, every line sent)."""
    small = write_jobs(tmp / "rss-small.jsonl", sizes.rss_small)
    big = write_jobs(tmp / "rss-big.jsonl", sizes.rss_big)
    with emulator("--record-limit", "1000") as emu:
        small_run = patch_worker(small, emu.base_url, tmp, peak=True)
        say(f"  (c) {sizes.rss_small} lines: {small_run['peakRssMB']} MB; now {sizes.rss_big} lines")
        big_run = patch_worker(big, emu.base_url, tmp, peak=True)
        stats = emulator_call(emu.root + "/_emulator/stats")
    big.unlink()
    return {
        "smallLines": sizes.rss_small,
        "bigLines": sizes.rss_big,
        "small": small_run,
        "big": big_run,
        "ratio": round(big_run["peakRssMB"] / small_run["peakRssMB"], 3),
        "emulatorRequests": stats["total"],
    }


# ---------------------------------------------------------------------------------------------- (d)
def sdk_body() -> dict[str, Any]:
    """The seed body with valid enum values: the SDK cannot represent the seed's literal "String" in its
    enum properties (it drops or mangles them and the strict emulator answers 400)."""
    body = copy.deepcopy(BODY)
    body["initiatedBy"]["initiatorType"] = "application"
    body["statusInfo"]["status"] = "success"
    body["provisioningSteps"][0]["provisioningStepType"] = "export"
    return body


def peer(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """(d) msgraph-sdk-python against patch-worker, same jobs, same concurrency, /auditLogs/provisioning/{id}."""
    jobs = sizes.peer_jobs
    source = write_jobs(tmp / "peer.jsonl", jobs, body=sdk_body(), item_paths=True)

    def sdk(*flags: str) -> dict[str, Any]:
        timed = run_measured(
            [
                sys.executable,
                "-m",
                "bench.peer",
                "--base-url",
                v1,
                "--jobs",
                str(source),
                "--concurrency",
                str(CONCURRENCY),
                *flags,
            ]
        )
        return {**_checked(timed, "bench.peer"), "processS": round(timed.seconds, 3), "maxRssMB": timed.max_rss_mb}

    with emulator("--latency-ms", "20", "--record-limit", "1000") as emu:
        v1 = emu.root + "/v1.0"
        pw = patch_worker(source, v1, tmp)
        per_line = sdk()
        prebuilt = sdk("--prebuilt")
    best = max(per_line, prebuilt, key=lambda run: float(run["jobsPerSecond"]))
    return {
        "jobs": jobs,
        "latencyMs": 20,
        "concurrency": CONCURRENCY,
        "path": "/v1.0/auditLogs/provisioning/{id}",
        "sdkVersion": _version("msgraph-sdk"),
        "patchWorker": pw,
        "sdkPerLine": per_line,
        "sdkPrebuilt": prebuilt,
        # used for the target: patch-worker's run phase against the SDK's best variant
        "ratio": round(pw["jobsPerSecond"] / best["jobsPerSecond"], 2),
        "ratioCli": round(pw["cliJobsPerSecond"] / best["jobsPerSecond"], 2),
    }


# ---------------------------------------------------------------------------------------------- (e)
def quota(sizes: Sizes, _tmp: Path, out: Path) -> dict[str, Any]:
    """(e) the quota scenario of issue 3 (bench/quota.py), with its timeline plotted."""
    timelines: dict[str, Timeline] = {}
    figures = quota_scenario(200.0, sizes.quota_jobs, "seconds", 32, timelines=timelines)
    png = plot_quota(timelines, 200.0, sizes.quota_jobs, out / "quota.png")
    figures["plot"] = png.name
    # patch-worker's lane state at each throttle (t: seconds from its start), as plotted
    figures["laneEvents"] = [
        {key: round(value, 3) if isinstance(value, float) else value for key, value in event.items()}
        for event in timelines["patchWorker"].lane_events
    ]
    return figures


def batch_flag_available() -> bool:
    """True when `patch-worker run --help` offers --batch-size."""
    done = subprocess.run(
        [sys.executable, "-m", "worker", "run", "--help"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return "--batch-size" in done.stdout


def batch(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """(e) issue 4's scenario: 50 ms per HTTP request, 4 connections: --batch-size 20 vs 1, same jobs."""
    if not batch_flag_available():
        return {"skipped": "patch-worker run has no --batch-size flag yet"}
    jobs = sizes.batch_jobs
    source = write_jobs(tmp / "batch.jsonl", jobs)
    with emulator("--latency-ms", "50", "--record-limit", "1000") as emu:
        single = patch_worker(source, emu.base_url, tmp, 4, "--batch-size", "1")
        batched = patch_worker(source, emu.base_url, tmp, 4, "--batch-size", "20")
        stats = emulator_call(emu.root + "/_emulator/stats")
    return {
        "jobs": jobs,
        "latencyMs": 50,
        "concurrency": 4,
        "batchSize1": single,
        "batchSize20": batched,
        "ratio": round(batched["jobsPerSecond"] / single["jobsPerSecond"], 2),
        "emulatorBatches": stats.get("batches"),
    }


def limiter(sizes: Sizes, _tmp: Path, _out: Path) -> dict[str, Any]:
    """aiolimiter against patch-worker's Pacer at a fixed rate (bench/limiter.py)."""
    return limiter_scenario(200.0, sizes.limiter_jobs)


def throttling(sizes: Sizes, _tmp: Path, out: Path) -> dict[str, Any]:
    """Issue 13's matrix (bench/throttling.py): every quota shape, no --rate, the naive client beside it."""
    return matrix(quick=sizes.throttling_quick, out=out, say=say)


def consume(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """Issue 17: `consume` from a Redis stream against `run` on the same 20,000 jobs (bench/consume.py)."""
    return consume_scenario(tmp, sizes.rounds, lambda source, url: patch_worker(source, url, tmp))


SCENARIOS: dict[str, Callable[[Sizes, Path, Path], dict[str, Any]]] = {
    "a": throughput,
    "a2": partial(throughput, dataset="nested"),
    "b": cpu,
    "b2": partial(cpu, dataset="nested"),
    "startup": startup,
    "slowstart": slow_start,
    "c": rss,
    "d": peer,
    "quota": quota,
    "batch": batch,
    "limiter": limiter,
    "throttling": throttling,
    "consume": consume,
}


# ---------------------------------------------------------------------------------------------- report
def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu_model = None
    meminfo = None
    try:
        cpu_model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        total_kb = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        meminfo = round(int(total_kb.split()[1]) / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpuModel": cpu_model,
        "memoryGiB": meminfo,
        "python": platform.python_version(),
        "aiohttp": _version("aiohttp"),
        "loadAverageAtStart": [round(x, 2) for x in os.getloadavg()],
    }


def _closeness_targets(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 20's targets (on both data sets): whole process against the raw loop, CPU, start-up."""
    rows: list[dict[str, Any]] = []

    def row(name: str, figure: str, bound: str, met: bool) -> None:
        rows.append({"target": name, "figure": figure, "bound": bound, "met": met})

    for key in ("a", "a2"):
        if a := scenarios.get(key):
            on = f"({key}, {a.get('dataset', 'seed')})"
            whole = a.get("ratioProcessPaired", a["ratioProcess"])
            row(f"{on} jobs/s vs raw aiohttp, both whole processes", f"{whole:.2f}", ">= 0.95", whole >= 0.95)
            row(f"{on} jobs/s vs raw aiohttp (run phase)", f"{a['ratio']:.2f}", ">= 0.90", a["ratio"] >= 0.90)
    for key in ("b", "b2"):
        if b := scenarios.get(key):
            on = f"({key}, {b.get('dataset', 'seed')})"
            whole = b.get("ratioPaired", b["ratio"])
            row(f"{on} CPU per 1,000 jobs vs raw (whole process)", f"{whole:.2f}x", "<= 1.10x", whole <= 1.1)
            marginal = b["ratioMarginal"]
            row(f"{on} CPU per 1,000 jobs vs raw (start-up subtracted)", f"{marginal:.2f}x", "<= 1.3x", marginal <= 1.3)
    if st := scenarios.get("startup"):
        figure = f"{st['emptyRunCpuS']:.2f} s ({st['aboveImportsS']:+.2f} s vs the core imports)"
        met = st["emptyRunCpuS"] <= st["bound"]
        row("start-up: CPU of a run of an empty file", figure, f"<= {st['bound']:.2f} s", met)
    if ss := scenarios.get("slowstart"):
        name = f"slow start: share of an unthrottled run of {ss.get('longRunJobs', ss['jobs']):,} jobs lost"
        row(name, f"{ss['loss']:.1%}", "<= 1 %", ss["loss"] <= 0.01)
    return rows


def targets(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 9 (and of issues 3 and 4 for the (e) scenarios): figure, bound, met."""
    rows: list[dict[str, Any]] = []

    def row(name: str, figure: str, bound: str, met: bool) -> None:
        rows.append({"target": name, "figure": figure, "bound": bound, "met": met})

    rows += _closeness_targets(scenarios)
    if c := scenarios.get("c"):
        big = _peak(c["big"])
        row(f"(c) peak RSS, {c['bigLines']:,} lines", f"{big:.0f} MB", "< 150 MB", big < 150)
        row(
            f"(c) RSS {c['bigLines']:,} vs {c['smallLines']:,} lines",
            f"{c['ratio']:.2f}x",
            "<= 1.2x",
            c["ratio"] <= 1.2,
        )
    if d := scenarios.get("d"):
        row("(d) jobs/s vs msgraph-sdk-python (its best variant)", f"{d['ratio']:.1f}x", "> 1x", d["ratio"] > 1)
    if q := scenarios.get("quota"):
        pw = q["patchWorker"]
        row(f"quota: completion vs N/Q (N={q['jobs']:,})", f"{pw['vsIdeal']:.2f}x", "<= 1.10x", pw["vsIdeal"] <= 1.10)
        row("quota: share of requests answered 429", f"{pw['share429']:.1%}", "<= 2 %", pw["share429"] <= 0.02)
    if (e := scenarios.get("batch")) and "skipped" not in e:
        row("batch: jobs/s, --batch-size 20 vs 1", f"{e['ratio']:.1f}x", ">= 10x", e["ratio"] >= 10)
    if q := scenarios.get("consume"):
        row("consume (Redis Streams) vs run, jobs/s", f"{q['ratio']:.2f}", ">= 0.80", q["ratio"] >= 0.80)
    if t := scenarios.get("throttling"):
        met = sum(1 for cell in t["cells"] if cell["met"])
        cells = len(t["cells"])
        row("throttling matrix: cells within their bounds", f"{met} of {cells}", "all", met == cells)
    return rows


def _peak(run: dict[str, Any]) -> float:
    """A run's own peak RSS in MB: VmHWM where measured, else wait4's ru_maxrss (older reports)."""
    return float(run.get("peakRssMB", run["maxRssMB"]))


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _limiter_table(lim: dict[str, Any]) -> list[str]:
    """aiolimiter vs the Pacer: pacing against two server buckets, and the cost of one acquire."""
    lines = [
        "",
        f"Rate limiter at exactly the quota (Q = {lim['quota']:g}/s, {lim['jobs']:,} jobs, 32 workers, a 429 waits"
        " its Retry-After; `bench/limiter.py`):",
        "",
        "| limiter | server bucket = 1 s of Q: time / ideal, 429s | server bucket = 5: time / ideal, 429s"
        " | CPU per acquire |",
        "|---|---|---|---|",
    ]
    cost = {row["limiter"]: row for row in lim["acquireCost"]}
    for name in cost:
        cells = [
            f"{row['vsIdeal']:.2f}x, {row['share429']:.1%}"
            for bucket in sorted({r["serverBucket"] for r in lim["pacing"]}, reverse=True)
            for row in lim["pacing"]
            if row["limiter"] == name and row["serverBucket"] == bucket
        ]
        lines.append(f"| {name} | {' | '.join(cells)} | {cost[name]['cpuMicrosPerAcquire']:.1f} µs |")
    return lines


def _consume_rows(q: dict[str, Any]) -> list[str]:
    """Issue 17's row: each queue's consume against run on the same jobs (Azure's once measured)."""
    run, rows = q["run"], []
    for name, label in (("redis", "Redis Streams"), ("azure", "Azure Storage Queue")):
        figures = q.get(name)
        if figures is None:
            rows.append(f"| consume ({label}) | not measured yet | | |")
            continue
        rows.append(
            f"| consume ({label}): {figures['jobs']:,} jobs, {q['latencyMs']} ms latency,"
            f" concurrency {q['concurrency']},"
            f" median of {len(q['rounds'][name])} rounds"
            f" | {_n(figures['jobsPerSecond'])} jobs/s (first to last result);"
            f" {_n(figures['cliJobsPerSecond'])} jobs/s whole CLI"
            f" | run: {_n(run['jobsPerSecond'])} jobs/s (run phase)"
            f" | **{figures['jobsPerSecond'] / run['jobsPerSecond']:.2f}** |"
        )
    return rows


def _tables_below(scenarios: dict[str, Any]) -> list[str]:
    """The tables after the main one: the rate limiters, the throttling matrix."""
    lines: list[str] = []
    if lim := scenarios.get("limiter"):
        lines += _limiter_table(lim)
    if t := scenarios.get("throttling"):
        lines += ["", *matrix_table(t)]
    return lines


def _measured_line(report: dict[str, Any]) -> list[str]:
    """When each scenario was measured, for a report merged from several runs (`--merge`)."""
    measured: dict[str, str] = report.get("measured", {})
    if len(set(measured.values())) < 2:
        return []
    dates: dict[str, list[str]] = {}
    for name, date in measured.items():
        dates.setdefault(date, []).append(name)
    return ["Merged runs: " + "; ".join(f"{', '.join(names)} on {date}" for date, names in sorted(dates.items())), ""]


def _slow_start_row(ss: dict[str, Any]) -> str:
    """Slow start's cost: seconds lost on short runs, as a share of a long one."""
    lost = f"{ss['lostS'] * 1000:.0f} ms lost, " if "lostS" in ss else ""
    return (
        f"| slow start's cost: {ss['jobs']:,} jobs, 20 ms latency, concurrency 64, no throttling"
        f" | slow start: {_n(ss['slowStart']['jobsPerSecond'])} jobs/s (run phase)"
        f" | every lane at full concurrency at once: {_n(ss['atOnce']['jobsPerSecond'])} jobs/s"
        f" | {lost}**{ss['loss']:.1%}** of a run of {ss.get('longRunJobs', ss['jobs']):,} jobs"
        f" (in theory {ss.get('lossInTheory', 0.0):.1%}) |"
    )


def _throughput_rows(key: str, a: dict[str, Any]) -> list[str]:
    """(a) on one data set: the whole-process ratio first (what a user waits for), the run phase beside it."""
    pw, raw = a["patchWorker"], a["raw"]
    whole = a.get("ratioProcessPaired", a["ratioProcess"])
    return [
        f"| ({key}) throughput, {DATASETS[a.get('dataset', 'seed')][0]}: {a['jobs']:,} jobs, 20 ms latency,"
        f" concurrency 64 (ideal {a['idealJobsPerSecond']:,}/s)"
        f" | {_n(pw['jobs'] / pw['cliS'])} jobs/s whole process; {_n(pw['jobsPerSecond'])} jobs/s run phase"
        f" | raw aiohttp loop: {_n(raw['requests'] / raw['processS'])} jobs/s whole process;"
        f" {_n(raw['jobsPerSecond'])} jobs/s request phase"
        f" | **{whole:.2f}** (whole processes; {a['ratioProcess']:.2f} as a ratio of the medians);"
        f" {a['ratio']:.2f} (run phase) |"
    ]


def _cpu_rows(key: str, b: dict[str, Any]) -> list[str]:
    """(b) on one data set: whole-process CPU per 1,000 jobs, start-up subtracted beside it; uvloop."""
    pw, raw = b["patchWorker"], b["raw"]
    rows = [
        f"| ({key}) CPU s per 1,000 jobs, {DATASETS[b.get('dataset', 'seed')][0]}: {b['jobs']:,} jobs, zero latency"
        f" | {pw['cpuPer1kS']:.3f} s ({pw['marginalCpuPer1kS']:.3f} s without start-up"
        f" of {pw['startupCpuS']:.2f} s)"
        f" | raw: {raw['cpuPer1kS']:.3f} s ({raw['marginalCpuPer1kS']:.3f} s without start-up"
        f" of {raw['startupCpuS']:.2f} s)"
        f" | **{b.get('ratioPaired', b['ratio']):.2f}x** (whole process); {b['ratioMarginal']:.2f}x"
        " (start-up subtracted) |"
    ]
    if uv := b.get("uvloop"):
        rows.append(
            f"| ({key}) the same on uvloop (`[fast]` extra, in the container image)"
            f" | {uv['cpuPer1kS']:.3f} s ({uv['marginalCpuPer1kS']:.3f} s without start-up)"
            f" | raw on asyncio: {raw['cpuPer1kS']:.3f} s"
            f" | **{uv['ratio']:.2f}x**; {uv['vsAsyncio']:.2f}x of patch-worker on asyncio |"
        )
    return rows


def markdown(report: dict[str, Any]) -> str:
    """The table the README shows."""
    m, s = report["machine"], report["scenarios"]
    lines = [
        "# patch-worker benchmarks",
        "",
        f"`{report['command']}` ({report['mode']} mode) · {report['date']} · {report['wallS'] / 60:.1f} min",
        "",
        *_measured_line(report),
        f"Machine: {m['cpus']} CPUs ({m['cpuModel']}), {m['memoryGiB']} GiB, {m['platform']}, "
        f"Python {m['python']}, aiohttp {m['aiohttp']}; load average at start {m['loadAverageAtStart'][0]} "
        "(the machine is shared: every ratio compares two runs made side by side in this one run).",
        "",
        "| scenario | patch-worker | reference | ratio |",
        "|---|---|---|---|",
    ]
    lines += [row for key in ("a", "a2") if (a := s.get(key)) for row in _throughput_rows(key, a)]
    lines += [row for key in ("b", "b2") if (b := s.get(key)) for row in _cpu_rows(key, b)]
    if ss := s.get("slowstart"):
        lines.append(_slow_start_row(ss))
    if st := s.get("startup"):
        lines.append(
            f"| start-up: CPU of a run of an empty file (median of {st['rounds']}, alternated)"
            f" | {st['emptyRunCpuS']:.2f} s | `{CORE_IMPORTS}`: {st['coreImportsCpuS']:.2f} s"
            f" | **{st['aboveImportsS']:+.2f} s** |"
        )
    if c := s.get("c"):
        lines.append(
            f"| (c) peak RSS, zero latency, every line sent"
            f" | {c['bigLines']:,} lines: {_peak(c['big']):.0f} MB ({_n(c['big']['jobsPerSecond'])} jobs/s)"
            f" | {c['smallLines']:,} lines: {_peak(c['small']):.0f} MB"
            f" | **{c['ratio']:.2f}x** |"
        )
    if d := s.get("d"):
        pw, line, pre = d["patchWorker"], d["sdkPerLine"], d["sdkPrebuilt"]
        lines.append(
            f"| (d) peer: {d['jobs']:,} jobs to {d['path']}, 20 ms latency, concurrency 64"
            f" | {_n(pw['jobsPerSecond'])} jobs/s"
            f" | msgraph-sdk {d['sdkVersion']}: {_n(pre['jobsPerSecond'])} jobs/s (models built beforehand),"
            f" {_n(line['jobsPerSecond'])} jobs/s (model built from each line)"
            f" | **{d['ratio']:.1f}x** |"
        )
    if q := s.get("quota"):
        pw, naive = q["patchWorker"], q["naive"]
        lines.append(
            f"| (e) quota: Q = {q['quota']:g}/s, N = {q['jobs']:,} (ideal {q['idealS']:.0f} s)"
            f" | {pw['vsIdeal']:.2f}x of ideal, {pw['share429']:.1%} answered 429"
            f" | naive aiohttp + tenacity: {naive['vsIdeal']:.2f}x, {naive['share429']:.1%} answered 429"
            f" | 429 share **{naive['share429'] / max(pw['share429'], 1e-9):.0f}x** lower |"
        )
    if e := s.get("batch"):
        if "skipped" in e:
            lines.append(f"| (e) batch | skipped: {e['skipped']} | | |")
        else:
            lines.append(
                f"| (e) batch: {e['jobs']:,} jobs, 50 ms per HTTP request, 4 connections"
                f" | --batch-size 20: {_n(e['batchSize20']['jobsPerSecond'])} jobs/s"
                f" | --batch-size 1: {_n(e['batchSize1']['jobsPerSecond'])} jobs/s"
                f" | **{e['ratio']:.1f}x** |"
            )
    if q := s.get("consume"):
        lines += _consume_rows(q)
    lines += _tables_below(s)
    lines += ["", "| target | figure | bound | met |", "|---|---|---|---|"]
    lines += [
        f"| {t['target']} | {t['figure']} | {t['bound']} | {'yes' if t['met'] else '**no**'} |"
        for t in report["targets"]
    ]
    lines += [
        "",
        "How each figure is taken:",
        "- Every client runs in its own process; the emulator (`python -m worker.emulator`) in another.",
        "  patch-worker runs as `python -m worker run FILE --concurrency N --no-progress` at its default log",
        "  level, writing results, with envelope lines it validates, on asyncio's own event loop",
        "  (`PATCH_WORKER_RUN__EVENT_LOOP=asyncio`) like every other client; one row shows it on uvloop.",
        "- Run phase: patch-worker's own `elapsedS` from its `run.summary` line (reading, validation, sending,",
        "  results, fsync). Whole CLI: the wall time of the process, interpreter start and imports included.",
        "- Raw loop (`bench/raw.py`): 64 long-lived workers sharing one iterator, one ClientSession with",
        "  patch-worker's connector and timeout settings and the same headers (a fresh client-request-id each).",
        "- CPU: `wait4` on the client's own process (user + system time). Peak RSS in (c): the process's own",
        "  VmHWM, read from /proc by the process itself as it ends (wait4's ru_maxrss in the other rows).",
        "  Start-up CPU: the same client with an empty input. Bytecode is compiled once into a cache before",
        "  timing (as an installed package has it), so no run pays for compiling its imports.",
        "- Whole processes: each client's wall time from outside, interpreter start, imports and reading its",
        "  input included; data set 2 (`bench/nested.py`) is the same file for both. Ratios are the median of",
        "  each round's own ratio (the two runs of a round are side by side).",
        "- Slow start's cost: the same CLI with every lane at full concurrency from its first request",
        "  (`NO_SLOW_START`), alternated on short runs (the loss is a fixed time; the noise grows with a run),",
        "  the median difference taken as a share of a long run at the pace measured; beside it the cost in",
        "  theory: rounds of 2, 4, 8, 16 requests (`concurrency.py`), one round trip each, less what they sent.",
        "- Peer (`bench/peer.py`): msgraph-sdk-python's GraphServiceClient with its default middleware",
        "  (RetryHandler included) and default httpx client, a static token, base_url set to the emulator;",
        "  `audit_logs.provisioning.by_provisioning_object_summary_id(id).patch(model)`. Its clock starts after",
        '  one warm-up request. The body uses valid enum values (the SDK cannot send the seed\'s "String").',
        "- consume (`bench/consume.py`): the same jobs XADDed to a fresh Redis stream first, then",
        "  `consume redis://... --until-empty`; its rate is jobs over the span from the first to the last",
        "  result in NAME:results; its whole CLI includes connecting and the `--idle-s 0.3` wait before exiting.",
        "  Azure (`bench/consume_azure.py`): 2,000 of the jobs sent to a fresh queue on Azurite (local, one Node.js",
        "  process, ~400 requests/s here; one request per message, two per result; slower as its queue grows),",
        "  span by the results' insertion times (whole seconds).",
        f"- {report['rounds']} round(s) per compared pair, alternated; the median round is shown.",
        "",
        "![quota scenario over time](quota.png)" if "quota" in s else "",
        "",
        "![throttling matrix over time](throttling.png)" if "plot" in s.get("throttling", {}) else "",
    ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--quick", action="store_true", help="smaller inputs and one round (about 8 minutes)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.json and latest.md go")
    parser.add_argument(
        "--merge", action="store_true", help="put the measured scenarios into latest.json beside its others"
    )
    parser.add_argument(
        "--render", action="store_true", help="measure nothing: write latest.md (and the README) from latest.json"
    )
    ns = parser.parse_args()
    if ns.render:
        publish(orjson.loads((ns.out / "latest.json").read_bytes()), ns.out)
        return
    chosen = [name.strip() for name in ns.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")
    sizes = QUICK if ns.quick else FULL
    command = "uv run python -m bench.run" + (" --quick" if ns.quick else "")
    if set(chosen) != set(SCENARIOS):
        command += f" --only {','.join(chosen)}"
    use_bytecode_cache()
    started = time.perf_counter()
    report: dict[str, Any] = {
        "command": command,
        "mode": "quick" if ns.quick else "full",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "sizes": asdict(sizes),
        "rounds": sizes.rounds,
        "scenarios": {},
        "scenarioSeconds": {},
    }
    with tempfile.TemporaryDirectory(prefix="patch-worker-bench-") as tmp:
        say("warm-up: compiling every client's modules once")
        warm_up(Path(tmp))
        for name in chosen:
            say(f"scenario {name} ...")
            scenario_started = time.perf_counter()
            report["scenarios"][name] = SCENARIOS[name](sizes, Path(tmp), ns.out)
            report["scenarioSeconds"][name] = round(time.perf_counter() - scenario_started, 1)
            say(f"scenario {name} done in {report['scenarioSeconds'][name]} s")
    report["wallS"] = round(time.perf_counter() - started, 1)
    if ns.merge and (ns.out / "latest.json").exists():
        report = merged(orjson.loads((ns.out / "latest.json").read_bytes()), report)
    report["targets"] = targets(report["scenarios"])
    ns.out.mkdir(parents=True, exist_ok=True)
    (ns.out / "latest.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    publish(report, ns.out)


def merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` with the scenarios of `new` in place of its own (each scenario's date kept in `measured`);
    the mode stays full only if both runs were."""
    report = {**old, "machine": new["machine"]}
    report["scenarios"] = {**old["scenarios"], **new["scenarios"]}
    report["scenarioSeconds"] = {**old.get("scenarioSeconds", {}), **new["scenarioSeconds"]}
    report["measured"] = {
        **dict.fromkeys(old["scenarios"], old["date"]),
        **old.get("measured", {}),
        **dict.fromkeys(new["scenarios"], new["date"]),
    }
    if new["mode"] != "full":
        report["mode"] = new["mode"]
    return report


def publish(report: dict[str, Any], out: Path) -> None:
    """latest.md next to latest.json; a full run of every scenario also goes into the README."""
    text = markdown(report)
    (out / "latest.md").write_text(text)
    print(text)
    if report["mode"] == "full" and set(report["scenarios"]) == set(SCENARIOS) and out == RESULTS:
        update_readme(text)
        say("README.md: the Performance figures are updated")


def publish_scenario(name: str, figures: dict[str, Any], out: Path = RESULTS) -> None:
    """Put one scenario's fresh figures into latest.json and publish it again.

    For a scenario measured on its own (`python -m bench.throttling` at full size): once latest.json holds
    a full run of every scenario, the README gets the new table without measuring everything again.
    """
    path = out / "latest.json"
    report = orjson.loads(path.read_bytes())
    report["scenarios"][name] = figures
    report["targets"] = targets(report["scenarios"])
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    publish(report, out)


def update_readme(latest_md: str) -> None:
    """Put latest.md (without its title; the plot's path from the repo root) between the README's markers."""
    readme = REPO / "README.md"
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise RuntimeError(f"README.md has no {README_START} ... {README_END} block")
    body = latest_md.split("\n", 1)[1].strip()
    for png in ("quota.png", "throttling.png"):
        body = body.replace(f"]({png})", f"](bench/results/{png})")
    readme.write_text(text[: start + len(README_START)] + "\n" + body + "\n" + text[end:])


if __name__ == "__main__":
    main()
