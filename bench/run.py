"""Every benchmark scenario of issue 9 in one command; writes bench/results/latest.{json,md}, quota.png and
throttling.png (issue 13's matrix, `bench/throttling.py`).

    uv run python -m bench.run            # full: about 25 minutes on 2 cores (15 of them the throttling matrix)
    uv run python -m bench.run --quick    # smaller inputs, one round: about 8 minutes
    uv run python -m bench.run --only a,b # some scenarios (a b c d quota batch limiter throttling)

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
from bench.plot import plot_quota
from bench.quota import Timeline
from bench.quota import scenario as quota_scenario
from bench.throttling import matrix, matrix_table

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


def say(message: str) -> None:
    """Progress on stderr (the results go to files)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median_by(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose `key` is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: float(run[key]))
    return ordered[(len(ordered) - 1) // 2]


def patch_worker(
    source: Path, base_url: str, tmp: Path, concurrency: int = CONCURRENCY, *extra: str, loop: str = "asyncio"
) -> dict[str, Any]:
    """One measured `patch-worker run` (default log level): CLI wall, run phase, CPU, RSS, summary.

    On asyncio's own loop unless told otherwise, as the raw loop and the other clients run: like for like.
    """
    timed = run_cli(
        worker_args(source, base_url, tmp / "results.jsonl", concurrency, *extra),
        env={"PATCH_WORKER_RUN__EVENT_LOOP": loop},
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
        "exit": timed.code,
        "httpStatus": summary["httpStatus"],
    }


def raw_loop(base_url: str, jobs: int) -> dict[str, Any]:
    """One measured run of bench.raw in its own process."""
    timed = run_measured(
        [
            sys.executable,
            "-m",
            "bench.raw",
            "--base-url",
            base_url,
            "--jobs",
            str(jobs),
            "--concurrency",
            str(CONCURRENCY),
        ]
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


def throughput(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """(a) 20 ms latency, concurrency 64: patch-worker end to end vs the raw aiohttp loop."""
    jobs = sizes.throughput_jobs
    source = write_jobs(tmp / "throughput.jsonl", jobs)
    with emulator("--latency-ms", "20", "--record-limit", "1000") as emu:
        pw_runs, raw_runs = alternate(
            sizes.rounds,
            lambda: with_emulator_cpu(emu, lambda: patch_worker(source, emu.base_url, tmp)),
            lambda: with_emulator_cpu(emu, lambda: raw_loop(emu.base_url, jobs)),
        )
    pw, raw = median_by(pw_runs, "elapsedS"), median_by(raw_runs, "elapsedS")
    pw_cli = median_by(pw_runs, "cliS")
    return {
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
        "rounds": {"patchWorker": pw_runs, "raw": raw_runs},
    }


# ---------------------------------------------------------------------------------------------- (b)
def cpu(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """(b) CPU seconds per 1,000 jobs against a zero-latency emulator: the client process alone."""
    jobs = sizes.cpu_jobs
    source = write_jobs(tmp / "cpu.jsonl", jobs)
    empty = tmp / "empty.jsonl"
    empty.write_bytes(b"")
    with emulator("--record-limit", "1000") as emu:
        pw_start = patch_worker(empty, emu.base_url, tmp)
        uv_start = patch_worker(empty, emu.base_url, tmp, loop="uvloop")
        raw_start = raw_loop(emu.base_url, 0)
        pw_runs, raw_runs, uv_runs = alternate(
            sizes.rounds,
            lambda: with_emulator_cpu(emu, lambda: patch_worker(source, emu.base_url, tmp)),
            lambda: with_emulator_cpu(emu, lambda: raw_loop(emu.base_url, jobs)),
            lambda: with_emulator_cpu(emu, lambda: patch_worker(source, emu.base_url, tmp, loop="uvloop")),
        )
    pw, raw, uv = median_by(pw_runs, "cpuS"), median_by(raw_runs, "processCpuS"), median_by(uv_runs, "cpuS")
    per_1k = 1000 / jobs
    pw_per_1k, raw_per_1k, uv_per_1k = pw["cpuS"] * per_1k, raw["processCpuS"] * per_1k, uv["cpuS"] * per_1k
    pw_marginal = (pw["cpuS"] - pw_start["cpuS"]) * per_1k
    uv_marginal = (uv["cpuS"] - uv_start["cpuS"]) * per_1k
    raw_marginal = (raw["processCpuS"] - raw_start["processCpuS"]) * per_1k
    return {
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


# ---------------------------------------------------------------------------------------------- (c)
def rss(sizes: Sizes, tmp: Path, _out: Path) -> dict[str, Any]:
    """(c) peak RSS of patch-worker for a small and a big input (zero latency, every line sent)."""
    small = write_jobs(tmp / "rss-small.jsonl", sizes.rss_small)
    big = write_jobs(tmp / "rss-big.jsonl", sizes.rss_big)
    with emulator("--record-limit", "1000") as emu:
        small_run = patch_worker(small, emu.base_url, tmp)
        say(f"  (c) {sizes.rss_small} lines: {small_run['maxRssMB']} MB; now {sizes.rss_big} lines")
        big_run = patch_worker(big, emu.base_url, tmp)
        stats = emulator_call(emu.root + "/_emulator/stats")
    big.unlink()
    return {
        "smallLines": sizes.rss_small,
        "bigLines": sizes.rss_big,
        "small": small_run,
        "big": big_run,
        "ratio": round(big_run["maxRssMB"] / small_run["maxRssMB"], 3),
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
            [sys.executable, "-m", "bench.peer", "--base-url", v1, "--jobs", str(source),
             "--concurrency", str(CONCURRENCY), *flags]
        )  # fmt: skip
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
    "b": cpu,
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


def targets(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 9 (and of issues 3 and 4 for the (e) scenarios): figure, bound, met."""
    rows: list[dict[str, Any]] = []

    def row(name: str, figure: str, bound: str, met: bool) -> None:
        rows.append({"target": name, "figure": figure, "bound": bound, "met": met})

    if a := scenarios.get("a"):
        row("(a) throughput vs raw aiohttp (run phase)", f"{a['ratio']:.2f}", ">= 0.90", a["ratio"] >= 0.90)
        row("(a) throughput vs raw aiohttp (whole CLI)", f"{a['ratioCli']:.2f}", ">= 0.90", a["ratioCli"] >= 0.90)
    if b := scenarios.get("b"):
        row("(b) CPU per 1,000 jobs vs raw (whole process)", f"{b['ratio']:.2f}x", "<= 1.3x", b["ratio"] <= 1.3)
        row(
            "(b) CPU per 1,000 jobs vs raw (start-up subtracted)",
            f"{b['ratioMarginal']:.2f}x",
            "<= 1.3x",
            b["ratioMarginal"] <= 1.3,
        )
    if c := scenarios.get("c"):
        big = c["big"]["maxRssMB"]
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
            f"| consume ({label}): {q['jobs']:,} jobs, {q['latencyMs']} ms latency, concurrency {q['concurrency']},"
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


def markdown(report: dict[str, Any]) -> str:
    """The table the README shows."""
    m, s = report["machine"], report["scenarios"]
    lines = [
        "# patch-worker benchmarks",
        "",
        f"`{report['command']}` ({report['mode']} mode) · {report['date']} · {report['wallS'] / 60:.1f} min",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpuModel']}), {m['memoryGiB']} GiB, {m['platform']}, "
        f"Python {m['python']}, aiohttp {m['aiohttp']}; load average at start {m['loadAverageAtStart'][0]} "
        "(the machine is shared: every ratio compares two runs made side by side in this one run).",
        "",
        "| scenario | patch-worker | reference | ratio |",
        "|---|---|---|---|",
    ]
    if a := s.get("a"):
        pw, raw = a["patchWorker"], a["raw"]
        lines.append(
            f"| (a) throughput: {a['jobs']:,} jobs, 20 ms latency, concurrency 64 (ideal {a['idealJobsPerSecond']:,}/s)"
            f" | {_n(pw['jobsPerSecond'])} jobs/s (run phase); {_n(pw['cliJobsPerSecond'])} jobs/s whole CLI"
            f" | raw aiohttp loop: {_n(raw['jobsPerSecond'])} jobs/s (request phase)"
            f" | **{a['ratio']:.2f}** (run phase); {a['ratioCli']:.2f} (whole CLI) |"
        )
    if b := s.get("b"):
        pw, raw = b["patchWorker"], b["raw"]
        lines.append(
            f"| (b) CPU s per 1,000 jobs: {b['jobs']:,} jobs, zero latency"
            f" | {pw['cpuPer1kS']:.3f} s ({pw['marginalCpuPer1kS']:.3f} s without start-up"
            f" of {pw['startupCpuS']:.2f} s)"
            f" | raw: {raw['cpuPer1kS']:.3f} s ({raw['marginalCpuPer1kS']:.3f} s without start-up"
            f" of {raw['startupCpuS']:.2f} s)"
            f" | **{b['ratio']:.2f}x** (whole process); {b['ratioMarginal']:.2f}x (start-up subtracted) |"
        )
        if uv := b.get("uvloop"):
            lines.append(
                f"| (b) the same on uvloop (`[fast]` extra, in the container image)"
                f" | {uv['cpuPer1kS']:.3f} s ({uv['marginalCpuPer1kS']:.3f} s without start-up)"
                f" | raw on asyncio: {raw['cpuPer1kS']:.3f} s"
                f" | **{uv['ratio']:.2f}x**; {uv['vsAsyncio']:.2f}x of patch-worker on asyncio |"
            )
    if c := s.get("c"):
        lines.append(
            f"| (c) peak RSS, zero latency, every line sent"
            f" | {c['bigLines']:,} lines: {c['big']['maxRssMB']:.0f} MB ({_n(c['big']['jobsPerSecond'])} jobs/s)"
            f" | {c['smallLines']:,} lines: {c['small']['maxRssMB']:.0f} MB"
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
        "- CPU and peak RSS: `wait4` on the client's own process (user + system time; ru_maxrss).",
        "  Start-up CPU: the same client with an empty input. Bytecode is compiled once into a cache before",
        "  timing (as an installed package has it), so no run pays for compiling its imports.",
        "- Peer (`bench/peer.py`): msgraph-sdk-python's GraphServiceClient with its default middleware",
        "  (RetryHandler included) and default httpx client, a static token, base_url set to the emulator;",
        "  `audit_logs.provisioning.by_provisioning_object_summary_id(id).patch(model)`. Its clock starts after",
        '  one warm-up request. The body uses valid enum values (the SDK cannot send the seed\'s "String").',
        "- consume (`bench/consume.py`): the same jobs XADDed to a fresh Redis stream first, then",
        "  `consume redis://... --until-empty`; its rate is jobs over the span from the first to the last",
        "  result in NAME:results; its whole CLI includes connecting and the `--idle-s 0.3` wait before exiting.",
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
    report["targets"] = targets(report["scenarios"])
    ns.out.mkdir(parents=True, exist_ok=True)
    (ns.out / "latest.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    publish(report, ns.out)


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
