"""`patch-worker demo`: the shipped examples against the emulator, started in this process."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from worker import loop as event_loop
from worker.app import RunRequest, run_file
from worker.emulator.config import EmulatorConfig
from worker.emulator.running import start_emulator
from worker.record.summary import RunSummary, print_summary
from worker.settings import load_settings

DEMO_TOKEN = "demo-token"  # noqa: S105 - accepted by the demo's own in-process emulator only
PIPED_WIDTH = 160
REPO_EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "updates.jsonl"


def examples_path() -> Path:
    """The shipped examples: the repository's copy, or the one packaged inside the wheel."""
    if REPO_EXAMPLES.is_file():
        return REPO_EXAMPLES
    return Path(str(resources.files("worker") / "examples" / "updates.jsonl"))


async def _demo(input_path: str, results: str) -> RunSummary:
    # A little latency and a few 503s with Retry-After, so retries show in the results.
    config = EmulatorConfig(
        latency_ms=20, error_rate=0.2, error_retry_after=0.2, seed=7, accepted_tokens=frozenset({DEMO_TOKEN})
    )
    async with await start_emulator(config) as emulator:
        settings = load_settings(
            None,
            {
                "graph": {"base_url": emulator.base_url},
                "auth": {"token": DEMO_TOKEN},
                "run": {"results": results},
                "log": {"level": "error"},
            },
        )
        Console(stderr=True, soft_wrap=True).print(
            f"[bold]emulator[/] listening on {emulator.base_url}; running {input_path}"
        )
        return await run_file(settings, RunRequest(input=input_path, results=results, progress=False))


def _console() -> Console:
    """stdout's console; piped, wide enough that the table does not cut field names (rich assumes 80 columns)."""
    return Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH)


def _show_results(results: str) -> None:
    table = Table(title=f"results ({results})")
    for column in ("line", "jobId", "status", "http", "attempts"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    with Path(results).open("rb") as lines:
        rows = sorted((orjson.loads(line) for line in lines), key=lambda row: row["line"])
    for row in rows:
        reason = _reason(row["error"])
        style = {"succeeded": "green", "failed": "red", "rejected": "yellow"}[row["status"]]
        table.add_row(
            str(row["line"]),
            row["jobId"],
            f"[{style}]{row['status']}[/]",
            str(row["httpStatus"] or ""),
            str(row["attempts"]),
            reason,
        )
    _console().print(table)


def _reason(error: dict[str, Any] | None) -> str:
    if error is None:
        return ""
    if isinstance(error["detail"], list):  # a rejected line: one row per field error
        return "\n".join(f"{item['loc'] or '(line)'}: {item['message']}" for item in error["detail"])
    return f"{error['kind']}: {error['message']}"


def run_demo(input_path: str | None, results: str) -> int:
    """Run the demo and show every result; 0 when it ran (its bad lines are there on purpose)."""
    source = input_path or str(examples_path())
    summary = event_loop.run(_demo(source, results))
    _show_results(results)
    print_summary(summary, sys.stdout, title="demo summary")
    code = 0 if summary.all_succeeded else 1
    _console().print(
        f"A real `patch-worker run` of this file would exit {code}: the rejected lines are deliberate. "
        f"Results: {results}"
    )
    return 0
