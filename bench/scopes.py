"""A mixed file across two throttling scopes (issue 19): user updates (directory) and provisioning updates
(reports) in one run, against the emulator enforcing Graph's documented limits of both scopes.

    uv run python -m bench.scopes                      # 10,000 users + 60 provisioning, full size: ~9 minutes
    uv run python -m bench.scopes --directory-scale 30 0.1 --reports-scale 5 1 --users 600 --provisioning 20

The emulator runs `worker.emulator.graph_limits` (per scope: windows divided by TIME, limits times
COUNT); patch-worker runs with no --rate, every line in one file, one tenant. Per scope, from the
emulator's own records: when its last update succeeded (from the CLI's start), against its ideal N / Q
at the scope's steady rate (the issue's: 10,000 users at the write window's 3,000 per 150 s take 500 s,
60 provisioning updates at 5 per 10 s 120 s; the resource-unit bucket never binds). Beside it the floor
no client can beat, bursting a whole window at each window's start: W * floor((N - 1) / L) (450 s, 110 s).

Bounds: each scope within 1.10x of its ideal, <= 2 % of all requests answered 429. Writes
bench/results/scopes.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.cells import interleave
from bench.common import REPO, emulator, emulator_call, run_measured, use_bytecode_cache, worker_args
from bench.common import TOKEN as BENCH_TOKEN
from worker.emulator.graph_limits import Scale, graph_rules

RESULTS = REPO / "bench" / "results"
MAX_VS_IDEAL = 1.10
MAX_429 = 0.02
WRITES, WRITE_WINDOW_S = 3000.0, 150.0  # the directory's write window per app and tenant
REPORTS, REPORTS_WINDOW_S = 5.0, 10.0  # the reports group's fixed window per app and tenant
USER_BODY = {"department": "Finance", "jobTitle": "Analyst"}
PROVISIONING_BODY = {"action": "Update", "statusInfo": {"status": "success"}}


@dataclass(frozen=True)
class Mix:
    """The cell: line counts and how the limits are scaled."""

    users: int = 10_000
    provisioning: int = 60
    directory_scale: Scale = (1.0, 1.0)  # (time, count): windows / time, limits x count
    reports_scale: Scale = (1.0, 1.0)
    concurrency: int = 32
    retry_after: str = "seconds"  # the emulator's Retry-After shape (scaled-down windows: "fractional")

    def _windows(self) -> dict[str, tuple[int, float, float]]:
        """Per scope: its lines, and its binding window's limit and length (scaled)."""
        (write_times, write_counts), (report_times, report_counts) = self.directory_scale, self.reports_scale
        return {
            "directory": (self.users, max(1.0, round(WRITES * write_counts)), WRITE_WINDOW_S / write_times),
            "reports": (self.provisioning, max(1.0, round(REPORTS * report_counts)), REPORTS_WINDOW_S / report_times),
        }

    def ideals(self) -> dict[str, float]:
        """Each scope's ideal completion time, N / Q at its steady rate, in seconds."""
        return {scope: lines * window_s / limit for scope, (lines, limit, window_s) in self._windows().items()}

    def floors(self) -> dict[str, float]:
        """The fastest any client can finish each scope: a whole window at each window's start."""
        return {scope: window_s * ((lines - 1) // limit) for scope, (lines, limit, window_s) in self._windows().items()}

    def emulator_flags(self) -> list[str]:
        """One --quota-rule per documented rule, scaled."""
        flags = ["--retry-after", self.retry_after]
        scales = {"directory": self.directory_scale, "reports": self.reports_scale}
        for rule in graph_rules(scales=scales):
            flags += ["--quota-rule", orjson.dumps(rule.to_dict()).decode()]
        return flags


def write_mixed(path: Path, mix: Mix) -> Path:
    """Users and provisioning updates for one tenant, each scope's lines spread evenly through the file."""
    kinds = interleave({"directory": mix.users, "reports": mix.provisioning})
    with path.open("wb") as out:
        for index, kind in enumerate(kinds):
            if kind == "directory":
                line = {"jobId": f"u{index}", "path": f"/users/{uuid.uuid4()}", "body": USER_BODY}
            else:
                line = {"jobId": f"p{index}", "path": f"/auditLogs/provisioning/obj-{index}", "body": PROVISIONING_BODY}
            out.write(orjson.dumps(line) + b"\n")
    return path


def _scope_of(path: str) -> str:
    return "reports" if path.startswith("/auditLogs/") else "directory"


def _figures(root: str, started: float, mix: Mix) -> dict[str, Any]:
    """Per scope: when its last success came, its requests and 429s, from the emulator's records."""
    records = emulator_call(root + "/_emulator/requests")
    scopes: dict[str, dict[str, Any]] = {}
    floors = mix.floors()
    for scope, ideal in mix.ideals().items():
        mine = [r for r in records if _scope_of(r["path"]) == scope]
        done = [float(r["time"]) - started for r in mine if 200 <= int(r["status"]) < 300]
        throttled = sum(int(r["status"]) == 429 for r in mine)
        seconds = max(done, default=float("nan"))
        scopes[scope] = {
            "lines": mix.users if scope == "directory" else mix.provisioning,
            "succeeded": len(done),
            "requests": len(mine),
            "answered429": throttled,
            "seconds": round(seconds, 2),
            "idealS": round(ideal, 2),
            "vsIdeal": round(seconds / ideal, 3) if ideal else None,
            "floorS": round(floors[scope], 2),
            "vsFloor": round(seconds / floors[scope], 3) if floors[scope] else None,
        }
    total = sum(scope["requests"] for scope in scopes.values())
    throttled = sum(scope["answered429"] for scope in scopes.values())
    return {"scopes": scopes, "requests": total, "share429": round(throttled / max(total, 1), 4)}


def run_mix(mix: Mix, tmp: Path, timeout_s: float | None = None) -> dict[str, Any]:
    """The cell once: the emulator with both scopes' limits, the mixed file, the whole CLI timed."""
    source = write_mixed(tmp / "mixed.jsonl", mix)
    limit = timeout_s or 3 * max(mix.ideals().values()) + 60
    with emulator("--record-limit", str(2 * (mix.users + mix.provisioning) + 1000), *mix.emulator_flags()) as emu:
        args = worker_args(source, emu.base_url, tmp / "results.jsonl", mix.concurrency)
        started = time.monotonic()
        done = run_measured([sys.executable, "-m", "worker", *args], env={"GRAPH_TOKEN": BENCH_TOKEN}, timeout_s=limit)
        if done.code not in (0, 1):
            raise RuntimeError(f"patch-worker exited {done.code}: {done.stderr[-2000:]}")
        figures = _figures(emu.root, started, mix)
    summary = done.json_line("run.summary")
    figures.update(cliS=round(done.seconds, 2), exit=done.code, succeeded=summary["succeeded"], lanes=summary["lanes"])
    figures["met"] = figures["share429"] <= MAX_429 and all(
        (scope["vsIdeal"] or 0.0) <= MAX_VS_IDEAL and scope["succeeded"] >= scope["lines"]
        for scope in figures["scopes"].values()
    )
    return figures


def markdown(report: dict[str, Any]) -> str:
    """bench/results/scopes.md: one row per scope."""
    lines = [
        "# Mixed scopes",
        "",
        f"{report['date']}, `{report['command']}`, load average at start {report['loadAverageAtStart'][0]}.",
        f"Limits: Graph's documented ones; (windows /, limits x): directory {report['directoryScale']},"
        f" reports {report['reportsScale']}."
        f" Bounds: each scope <= {MAX_VS_IDEAL:.2f}x its ideal, <= {MAX_429:.0%} of requests answered 429.",
        "",
        "| scope | lines | ideal N / Q | finished | time / ideal | floor (whole windows) | time / floor"
        " | answered 429 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, scope in report["scopes"].items():
        floor = f"{scope['vsFloor']:.2f}x" if scope["vsFloor"] else "-"
        lines.append(
            f"| {name} | {scope['lines']:,} | {scope['idealS']:.1f} s | {scope['seconds']:.1f} s"
            f" | {scope['vsIdeal']:.2f}x | {scope['floorS']:.1f} s | {floor}"
            f" | {scope['answered429']} of {scope['requests']:,} |"
        )
    lines += [
        "",
        f"Overall: {report['share429']:.2%} of {report['requests']:,} requests answered 429; whole CLI"
        f" {report['cliS']:.1f} s; met: {'yes' if report['met'] else 'no'}.",
    ]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--provisioning", type=int, default=60)
    for scope in ("directory", "reports"):
        parser.add_argument(
            f"--{scope}-scale",
            type=float,
            nargs=2,
            default=(1.0, 1.0),
            metavar=("TIME", "COUNT"),
            help=f"{scope}'s windows divided by TIME, limits times COUNT (default: 1 1)",
        )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--retry-after", default="seconds", help="the emulator's Retry-After shape")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser


def main() -> None:
    """Command-line entry: run the cell, write scopes.{json,md}, print the table."""
    ns = _parser().parse_args()
    use_bytecode_cache()
    mix = Mix(
        ns.users, ns.provisioning, tuple(ns.directory_scale), tuple(ns.reports_scale), ns.concurrency, ns.retry_after
    )
    report: dict[str, Any] = {
        "command": " ".join(["uv run python -m bench.scopes", *sys.argv[1:]]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadAverageAtStart": [round(x, 2) for x in os.getloadavg()],
        "directoryScale": list(mix.directory_scale),
        "reportsScale": list(mix.reports_scale),
    }
    with tempfile.TemporaryDirectory(prefix="patch-worker-scopes-") as tmp:
        report |= run_mix(mix, Path(tmp))
    ns.out.mkdir(parents=True, exist_ok=True)
    (ns.out / "scopes.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    text = markdown(report)
    (ns.out / "scopes.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
