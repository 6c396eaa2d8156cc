"""The exit codes of every command (a public contract: see `worker.cli`) and the one a run's summary earns."""

from __future__ import annotations

from worker.record.summary import RunSummary

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_STOPPED = 2  # a systemic failure stopped the run: nothing would have succeeded


def exit_code(summary: RunSummary) -> int:
    """A run's exit code: stopped by a systemic failure beats interrupted, which beats some jobs failed."""
    if summary.stopped_by:
        return EXIT_STOPPED
    if summary.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.all_succeeded else EXIT_FAILED
