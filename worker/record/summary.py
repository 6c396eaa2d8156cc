"""Counts kept while a run goes, and the final summary (a table on a TTY, one JSON line otherwise)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson
from rich.console import Console
from rich.table import Table

from worker.jobs import Outcome


@dataclass(slots=True)
class RunSummary:
    """What happened in a run, cheap to update once per job."""

    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    by_status: Counter[str] = field(default_factory=Counter)
    by_http_status: Counter[int] = field(default_factory=Counter)
    by_error: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    retried_jobs: int = 0
    interrupted: bool = False
    valid: int = 0
    lanes: list[dict[str, Any]] = field(default_factory=list)
    resumed: int = 0
    not_done: int = 0
    stopped_by: str | None = None  # the systemic failure that halted the run (worker.send.systemic)
    _previous_sent: int = 0

    def mark_interrupted(self) -> None:
        """A signal asked the run to stop: jobs not started are left for a resumed run."""
        self.interrupted = True

    def add_previous(self, previous: Counter[str]) -> None:
        """Count results an earlier run of the same --state already recorded."""
        self.by_status.update(previous)
        self.resumed = sum(previous.values())
        self._previous_sent = previous["succeeded"] + previous["failed"]

    @property
    def sent_this_run(self) -> int:
        """Jobs this run finished (succeeded or failed)."""
        return self.by_status["succeeded"] + self.by_status["failed"] - self._previous_sent

    def finish(self) -> None:
        """Stop the clock."""
        self.finished = time.monotonic()

    def add(self, outcome: Outcome) -> None:
        """Count one final outcome."""
        self.by_status[outcome.status] += 1
        if outcome.http_status is not None:
            self.by_http_status[outcome.http_status] += 1
        if outcome.error is not None:
            self.by_error[outcome.error.kind] += 1
        self.attempts += outcome.attempts
        if outcome.attempts > 1:
            self.retried_jobs += 1

    @property
    def total(self) -> int:
        """Jobs and rejected lines seen so far."""
        return sum(self.by_status.values())

    @property
    def elapsed_s(self) -> float:
        """Wall time of the run so far (or in all, once finished)."""
        return (self.finished or time.monotonic()) - self.started

    @property
    def all_succeeded(self) -> bool:
        """True when nothing failed or was rejected."""
        return self.by_status["failed"] == 0 and self.by_status["rejected"] == 0

    def as_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (the non-TTY summary line)."""
        elapsed = self.elapsed_s
        sent = self.by_status["succeeded"] + self.by_status["failed"]
        return {
            "event": "run.summary",
            "total": self.total,
            "succeeded": self.by_status["succeeded"],
            "failed": self.by_status["failed"],
            "rejected": self.by_status["rejected"],
            "attempts": self.attempts,
            "retriedJobs": self.retried_jobs,
            "httpStatus": {str(code): count for code, count in sorted(self.by_http_status.items())},
            "errors": dict(self.by_error.most_common()),
            "elapsedS": round(elapsed, 3),
            "jobsPerSecond": round(sent / elapsed, 1) if elapsed > 0 else 0.0,
            "valid": self.valid,
            "interrupted": self.interrupted,
            "resumedFromState": self.resumed,
            "notDone": self.not_done,
            "notSent": self.by_error["not_sent"],
            "stoppedBy": self.stopped_by,
            "lanes": self.lanes,
        }


def print_summary(summary: RunSummary, stream: TextIO, *, title: str = "patch-worker run") -> None:
    """A table when `stream` is a terminal, else one JSON line (for scripts and log collectors)."""
    data = summary.as_dict()
    if not stream.isatty():
        stream.write(orjson.dumps(data).decode() + "\n")
        stream.flush()
        return
    table = Table(title=title, show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key in (
        "total",
        "succeeded",
        "failed",
        "rejected",
        "attempts",
        "retriedJobs",
        "elapsedS",
        "jobsPerSecond",
    ):
        table.add_row(key, str(data[key]))
    if data["httpStatus"]:
        table.add_row("httpStatus", ", ".join(f"{code}: {n}" for code, n in data["httpStatus"].items()))
    if data["errors"]:
        table.add_row("errors", ", ".join(f"{kind}: {n}" for kind, n in data["errors"].items()))
    for lane in summary.lanes:
        table.add_row(
            f"lane {lane['lane']}",
            f"{lane['effectiveRate']}/s, {lane['throttled']} throttled, paused {lane['pausedS']}s",
        )
    if summary.resumed:
        table.add_row("resumed", f"{summary.resumed} lines were already done")
    if summary.stopped_by:
        table.add_row("stopped", f"{data['notSent']} lines not sent: {summary.stopped_by}")
    if summary.interrupted:
        table.add_row("interrupted", f"yes: {summary.not_done} jobs not done; run again with the same --state")
    Console(file=stream).print(table)
