"""Counts kept while a run goes, and the final summary (a table on a TTY, one JSON line otherwise)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson

from worker.jobs import Outcome

NOT_SENT = "not_sent"  # error.kind of a failed result whose job was never sent (a systemic stop)
#: the table's rows for the headline figures, in reading order
COUNT_LABELS = {
    "lines": "lines read",
    "valid": "valid",
    "rejected": "rejected",
    "sent": "sent",
    "succeeded": "succeeded",
    "failed": "failed",
    "notSent": "not sent",
}


@dataclass(frozen=True, slots=True)
class LaneStatus:
    """What the lanes say right now, for the progress bar: 429s so far and the lanes paused by a Retry-After."""

    throttled: int = 0
    paused: tuple[str, ...] = ()


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
    plan: dict[str, Any] | None = None  # a dry run's plan (see worker.plan)
    lane_status: Callable[[], LaneStatus] = LaneStatus  # live lane figures, set once the run's lanes exist
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
    def not_sent_failures(self) -> int:
        """Failed results of jobs never sent (`error.kind` "not_sent": the run stopped before them)."""
        return self.by_error[NOT_SENT]

    def counts(self) -> dict[str, int]:
        """The headline figures, which add up: lines = valid + rejected, valid = sent + notSent,
        sent = succeeded + failed. Across a resumed run they include what earlier runs recorded."""
        succeeded = self.by_status["succeeded"]
        failed = self.by_status["failed"] - self.not_sent_failures
        not_sent = self.not_sent_failures + self.not_done
        valid = succeeded + failed + not_sent
        rejected = self.by_status["rejected"]
        return {
            "lines": valid + rejected,
            "valid": valid,
            "rejected": rejected,
            "sent": succeeded + failed,
            "succeeded": succeeded,
            "failed": failed,
            "notSent": not_sent,
        }

    @property
    def total(self) -> int:
        """Results recorded so far (jobs and rejected lines): what the progress bar counts as done."""
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
        data: dict[str, Any] = {"event": "run.summary", **self.counts()}
        data.update(
            {
                "attempts": self.attempts,
                "retriedJobs": self.retried_jobs,
                "httpStatus": {str(code): count for code, count in sorted(self.by_http_status.items())},
                "errors": dict(self.by_error.most_common()),
                "elapsedS": round(elapsed, 3),
                "jobsPerSecond": round(self.sent_this_run / elapsed, 1) if elapsed > 0 else 0.0,
                "interrupted": self.interrupted,
                "resumedFromState": self.resumed,
                "notDone": self.not_done,
                "stoppedBy": self.stopped_by,
                "lanes": self.lanes,
            }
        )
        if self.plan is not None:
            data["plan"] = self.plan
        return data


def print_summary(summary: RunSummary, stream: TextIO, *, title: str = "patch-worker run") -> None:
    """A table when `stream` is a terminal, else one JSON line (for scripts and log collectors)."""
    data = summary.as_dict()
    if not stream.isatty():
        stream.write(orjson.dumps(data).decode() + "\n")
        stream.flush()
        return
    # rich only on a terminal: importing it costs ~30 ms of CPU, a tenth of a run's start-up
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key, label in COUNT_LABELS.items():
        table.add_row(label, str(data[key]))
    for key, label in (("attempts", "attempts"), ("retriedJobs", "retried jobs"), ("elapsedS", "elapsed s")):
        table.add_row(label, str(data[key]))
    table.add_row("jobs/s", str(data["jobsPerSecond"]))
    for label, row in _detail_rows(summary, data):
        table.add_row(label, row)
    Console(file=stream).print(table)


def _detail_rows(summary: RunSummary, data: dict[str, Any]) -> list[tuple[str, str]]:
    """The table's optional rows: status codes, error kinds, lanes, the plan, resume, a stop, interruption."""
    rows: list[tuple[str, str]] = []
    if data["httpStatus"]:
        rows.append(("httpStatus", ", ".join(f"{code}: {n}" for code, n in data["httpStatus"].items())))
    if data["errors"]:
        rows.append(("errors", ", ".join(f"{kind}: {n}" for kind, n in data["errors"].items())))
    rows.extend(
        (
            f"lane {lane['lane']}/{lane['scope']}",
            f"{lane['effectiveRate']}/s, {lane['throttled']} throttled, paused {lane['pausedS']}s",
        )
        for lane in summary.lanes
    )
    if summary.plan is not None:
        rows.extend(plan_rows(summary.plan))
    if summary.resumed:
        rows.append(("resumed", f"{summary.resumed} lines were already done"))
    if summary.stopped_by:
        rows.append(("stopped", f"{data['notSent']} lines not sent: {summary.stopped_by}"))
    if summary.interrupted:
        rows.append(("interrupted", f"yes: {summary.not_done} jobs not done; run again with the same --state"))
    return rows


def plan_rows(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """A dry run's plan as table rows: one per lane, then the batch size and the estimate."""
    rows = [
        (
            f"plan: lane {lane['lane']}/{lane['scope']}",
            f"{_jobs_text(lane['jobs'])} at {_rate_text(lane)}, {_duration_text(lane['estimatedS'])}",
        )
        for lane in plan["lanes"]
    ]
    rows.append(("plan: batch size", str(plan["batchSize"])))
    rows.append(("plan: estimated", _duration_text(plan["estimatedS"])))
    return rows


def _jobs_text(jobs: int) -> str:
    return f"{jobs} job" if jobs == 1 else f"{jobs} jobs"


def _rate_text(lane: dict[str, Any]) -> str:
    if lane["rate"] is None:
        return "a rate learned from Graph"
    return f"{lane['rate']}/s ({lane['rateSource']})"


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "duration unknown until the rate is known"
    return f"about {seconds:.0f} s" if seconds < 120 else f"about {seconds / 60:.0f} min"
