"""The throttling matrix (issue 13): patch-worker with no --rate against every quota shape, beside the naive
aiohttp + tenacity client.

    uv run python -m bench.throttling                    # every cell, full size: about 15 minutes
    uv run python -m bench.throttling --quick            # N = 1,500 (the seed's cell 15): a few minutes
    uv run python -m bench.throttling --quick --cells bucket-1,seed   # one or a few cells

Each cell starts the emulator in its own process with that quota (`--quota-rule` per tenant, and one for
the app), then runs on the same input: (a) `python -m worker run FILE --concurrency 32 --no-progress` as a
subprocess, no --rate; (b) the naive client (`bench/naive.py`), each after a reset of the emulator. Per
client: completion time / ideal (the whole CLI for patch-worker, its run phase beside it) and the share of
requests answered 429, from the emulator's own counts.

A client still running at `--max-factor` x ideal + 20 s (default 3x) is stopped: the cell shows ">= that"
and the 429 share so far (a controller stuck at 1 request/s would otherwise hold a cell for half an hour).

The cells and their ideals (the slowest tenant's (N_t - B_t) / Q_t, or the app's) are in bench/cells.py.
Writes bench/results/throttling.{json,md} and throttling.png (the cells marked for plotting).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.cells import CELLS, DEFAULT_TENANT, Cell, interleave
from bench.common import REPO, emulator, emulator_call, run_cli, use_bytecode_cache, worker_args, write_jobs
from bench.naive import naive_run, tenant_token
from bench.plot import plot_rates
from bench.quota import Timeline, recorded, share_429

RESULTS = REPO / "bench" / "results"
CONCURRENCY = 32
MAX_VS_IDEAL = 1.10
MAX_FACTOR = 3.0  # a client is stopped at MAX_FACTOR x ideal + CAP_SLACK_S
CAP_SLACK_S = 20.0


def _client_figures(root: str, seconds: float, ideal: float, *, timed_out: bool = False) -> dict[str, Any]:
    total, throttled = share_429(root)
    stats = emulator_call(root + "/_emulator/stats")
    return {
        "seconds": round(seconds, 2),
        "timedOut": timed_out,  # stopped at the cap: time / ideal is at least vsIdeal
        "vsIdeal": round(seconds / ideal, 3) if ideal else None,
        "requests": total,
        "share429": round(throttled / max(total, 1), 4),
        "distinctSucceeded": stats["distinct_succeeded"],  # jobs that got a 200 (the naive client gives up)
        "byTenant": stats.get("by_tenant_status", {}),
    }


@dataclass
class _Run:
    """What one cell needs while it runs."""

    cell: Cell
    lines: dict[str, int]
    tmp: Path
    concurrency: int
    cap_s: float
    timelines: dict[str, Timeline] = field(default_factory=dict)

    @property
    def tenants(self) -> list[str]:
        return interleave(self.lines)

    def config_args(self) -> list[str]:
        named = [tenant for tenant in self.lines if tenant != DEFAULT_TENANT]
        if not named:
            return []
        config = self.tmp / f"{self.cell.name}.yaml"
        config.write_text("tenants:\n" + "".join(f"  {t}:\n    token: {tenant_token(t)}\n" for t in named))
        return ["--config", str(config)]


def _patch_worker(run: _Run, root: str, base_url: str, source: Path, ideal: float) -> dict[str, Any]:
    emulator_call(root + "/_emulator/reset", "POST")
    started = time.monotonic()
    args = worker_args(source, base_url, run.tmp / "results.jsonl", run.concurrency, *run.config_args())
    try:
        timed = run_cli(args, timeout_s=run.cap_s)
    except subprocess.TimeoutExpired:
        figures = _client_figures(root, run.cap_s, ideal, timed_out=True)
        figures.update(runS=None, runVsIdeal=None, succeeded=None, exit=None)
    else:
        summary = timed.json_line("run.summary")
        figures = _client_figures(root, timed.seconds, ideal)
        figures.update(
            runS=summary["elapsedS"],
            runVsIdeal=round(summary["elapsedS"] / ideal, 3) if ideal else None,
            succeeded=summary["succeeded"],
            exit=timed.code,
        )
    if run.cell.plot:
        run.timelines["patchWorker"] = Timeline(started, recorded(root, started))
    return figures


def _naive(run: _Run, root: str, base_url: str, ideal: float) -> dict[str, Any]:
    emulator_call(root + "/_emulator/reset", "POST")
    started = time.monotonic()
    tenants = run.tenants
    named = None if set(tenants) == {DEFAULT_TENANT} else tenants
    try:
        seconds = asyncio.run(
            asyncio.wait_for(naive_run(base_url, len(tenants), run.concurrency, tenants=named), run.cap_s)
        )
    except TimeoutError:
        figures = _client_figures(root, run.cap_s, ideal, timed_out=True)
    else:
        figures = _client_figures(root, seconds, ideal)
    if run.cell.plot:
        run.timelines["naive"] = Timeline(started, recorded(root, started))
    return figures


def run_cell(
    cell: Cell, *, quick: bool, tmp: Path, concurrency: int = CONCURRENCY, max_factor: float = MAX_FACTOR
) -> tuple[dict[str, Any], _Run]:
    """Both clients against one emulator with the cell's quota; the figures and the run (its timelines)."""
    lines = cell.sized(quick)
    ideal = cell.ideal_s(lines)
    run = _Run(cell, lines, tmp, concurrency, cap_s=max_factor * ideal + CAP_SLACK_S)
    source = write_jobs(tmp / f"{cell.name}.jsonl", sum(run.lines.values()), tenants=run.tenants)
    with emulator(*cell.emulator_flags()) as emu:
        pw = _patch_worker(run, emu.root, emu.base_url, source, ideal)
        naive = _naive(run, emu.root, emu.base_url, ideal)
    met = not pw["timedOut"] and (pw["vsIdeal"] or 0.0) <= MAX_VS_IDEAL and pw["share429"] <= cell.max_429
    figures = {
        "cell": cell.name,
        "title": cell.title,
        "shape": cell.describe(),
        "lines": sum(run.lines.values()),
        "linesByTenant": run.lines,
        "idealS": round(ideal, 2),
        "bound": {"vsIdeal": MAX_VS_IDEAL, "share429": cell.max_429},
        "patchWorker": pw,
        "naive": naive,
        "met": met,
    }
    return figures, run


def _warm_up(tmp: Path) -> None:
    """One patch-worker start on an empty input, so every module is compiled before any cell is timed."""
    empty = tmp / "empty.jsonl"
    empty.write_bytes(b"")
    with emulator("--record-limit", "1000") as emu:
        run_cli(worker_args(empty, emu.base_url, tmp / "warm.jsonl", 1))


def matrix(
    *,
    quick: bool,
    out: Path,
    cells: list[str] | None = None,
    concurrency: int = CONCURRENCY,
    max_factor: float = MAX_FACTOR,
    say: Any = None,
) -> dict[str, Any]:
    """Run the chosen cells (all by default); plot the marked ones into `out`/throttling.png."""
    chosen = [cell for cell in CELLS if cells is None or cell.name in cells]
    report: dict[str, Any] = {"mode": "quick" if quick else "full", "concurrency": concurrency, "cells": []}
    report["maxFactor"] = max_factor
    plotted: list[tuple[str, dict[str, Timeline], float]] = []
    with tempfile.TemporaryDirectory(prefix="patch-worker-throttling-") as tmp:
        _warm_up(Path(tmp))
        for cell in chosen:
            started = time.perf_counter()
            figures, run = run_cell(cell, quick=quick, tmp=Path(tmp), concurrency=concurrency, max_factor=max_factor)
            figures["cellS"] = round(time.perf_counter() - started, 1)
            report["cells"].append(figures)
            if say is not None:
                say(f"  {cell.name}: {_summary_line(figures)}")
            if run.timelines:
                plotted.append((cell.name, run.timelines, cell.quota_per_s))
    if plotted:
        report["plot"] = plot_rates(plotted, out / "throttling.png").name
    return report


def _times(client: dict[str, Any], lines: int) -> str:
    """Time / ideal: ">= x" when the client was stopped at the cap, and how many jobs never got a 200
    when it finished without them (the naive client gives a job up after 50 attempts)."""
    text = f"{'>= ' if client['timedOut'] else ''}{client['vsIdeal']:.2f}x"
    missing = lines - client["distinctSucceeded"]
    return text if client["timedOut"] or missing <= 0 else f"{text}, {missing:,} jobs given up"


def _run_phase(client: dict[str, Any]) -> str:
    return "" if client.get("runVsIdeal") is None else f" ({client['runVsIdeal']:.2f}x)"


def _summary_line(figures: dict[str, Any]) -> str:
    pw, naive, lines = figures["patchWorker"], figures["naive"], figures["lines"]
    return (
        f"patch-worker {_times(pw, lines)} ({pw['share429']:.1%} 429), naive {_times(naive, lines)} "
        f"({naive['share429']:.1%} 429), ideal {figures['idealS']:.1f} s, met: {'yes' if figures['met'] else 'no'}"
    )


def matrix_table(report: dict[str, Any]) -> list[str]:
    """The matrix as markdown lines (README and throttling.md)."""
    lines = [
        f"Throttling matrix ({report['mode']} mode, `{report.get('command', 'bench/throttling.py')}`): patch-worker"
        " with no `--rate`,"
        f" `--concurrency {report['concurrency']}`, whole CLI timed (run phase in brackets); the naive client"
        " honours each 429's Retry-After. Bounds: <= 1.10x ideal and <= 2 % answered 429 (the seed's quota:"
        f" <= 5 %). A client still running at {report['maxFactor']:g}x ideal + {CAP_SLACK_S:g} s was stopped (>=).",
        "",
        "| cell | quota | N | ideal | patch-worker: time / ideal | answered 429 | naive: time / ideal"
        " | answered 429 | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in report["cells"]:
        pw, naive = cell["patchWorker"], cell["naive"]
        lines.append(
            f"| {cell['title']} | {cell['shape']} | {cell['lines']:,} | {cell['idealS']:.1f} s"
            f" | {_times(pw, cell['lines'])}{_run_phase(pw)}"
            f" | {pw['share429']:.1%} | {_times(naive, cell['lines'])} | {naive['share429']:.1%}"
            f" | {'yes' if cell['met'] else '**no**'} |"
        )
    return lines


def markdown(report: dict[str, Any]) -> str:
    """throttling.md: the table, and the plot when there is one."""
    lines = ["# Throttling matrix", "", f"{report['date']}, load average at start {report['loadAverageAtStart'][0]}"]
    lines += ["", *matrix_table(report)]
    if "plot" in report:
        lines += ["", f"![rates over time]({report['plot']})"]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--quick", action="store_true", help="a quarter of the lines (N = 1,500; the seed's 15)")
    names = ", ".join(cell.name for cell in CELLS)
    parser.add_argument("--cells", default=None, help=f"comma-separated cells (default: all): {names}")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="both clients' (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where throttling.{json,md,png} go")
    parser.add_argument(
        "--max-factor",
        type=float,
        default=MAX_FACTOR,
        help=f"stop a client at this many times ideal + {CAP_SLACK_S:g} s (default: %(default)s)",
    )
    parser.add_argument("--render", action="store_true", help="measure nothing: throttling.md from throttling.json")
    return parser


def main() -> None:
    """Command-line entry. A full run of every cell into bench/results also goes into latest.json and, once
    that holds a full run of every other scenario, into the README (bench.run.publish_scenario)."""
    parser = _parser()
    ns = parser.parse_args()
    if ns.render:
        _write(orjson.loads((ns.out / "throttling.json").read_bytes()), ns.out)
        return
    chosen = None if ns.cells is None else [name.strip() for name in ns.cells.split(",") if name.strip()]
    unknown = sorted(set(chosen or ()) - {cell.name for cell in CELLS})
    if unknown:
        parser.error(f"unknown cell(s) {', '.join(unknown)}; choose from {', '.join(c.name for c in CELLS)}")
    use_bytecode_cache()
    command = "uv run python -m bench.throttling" + (" --quick" if ns.quick else "")
    command += f" --cells {ns.cells}" if ns.cells else ""
    report = {
        "command": command,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadAverageAtStart": [round(x, 2) for x in os.getloadavg()],
    }
    options = {"cells": chosen, "concurrency": ns.concurrency, "max_factor": ns.max_factor}
    report |= matrix(quick=ns.quick, out=ns.out, say=_say, **options)
    ns.out.mkdir(parents=True, exist_ok=True)
    (ns.out / "throttling.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    _write(report, ns.out)
    if not ns.quick and chosen is None and ns.out == RESULTS and (RESULTS / "latest.json").exists():
        from bench.run import publish_scenario  # here: bench.run imports this module

        publish_scenario("throttling", report)


def _write(report: dict[str, Any], out: Path) -> None:
    text = markdown(report)
    (out / "throttling.md").write_text(text)
    print(text)


def _say(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    main()
