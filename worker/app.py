"""`patch-worker run`: one file through the pipeline, with results, resume state, progress and signals.

The sending stack and the pipeline core it runs are built in `worker.compose`, shared with the service.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import structlog

from worker.auth.tokens import Credentials, verify_credentials
from worker.compose import DryRun, OwnStack, credentials, process
from worker.loop import running_loop_name
from worker.record.ledger import Ledger
from worker.record.progress import progress_bar
from worker.record.recorder import ResultsRecorder
from worker.record.results import ResultsWriter
from worker.record.summary import RunSummary
from worker.settings import Settings
from worker.signals import stop_on_signals
from worker.sources.jsonl import JsonlSource

log = structlog.get_logger("worker.app")


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to run: the input, where results go, and whether to send anything."""

    input: str
    results: str | None
    dry_run: bool = False
    progress: bool = True
    state: Path | None = None
    log_rejected: bool = True  # False for `validate`: its result lines already show every rejection
    learned_from: Path | None = None  # a dry run's plan reads the rates persisted in this state directory


async def run_file(settings: Settings, request: RunRequest) -> RunSummary:
    """`patch-worker run`: the input through the pipeline with results, resume state, progress and signals."""
    run = settings.run
    log.info(
        "run.started",
        input=str(request.input),
        results=request.results,
        state=request.state and str(request.state),
        dryRun=request.dry_run,
        concurrency=run.concurrency,
        batchSize=run.batch_size,
        rate=run.rate or "learned",
        eventLoop=running_loop_name(),
    )
    tokens = None if request.dry_run else credentials(settings)
    try:
        if tokens is not None:  # a refused credential stops the run here, before any PATCH and any state file
            await verify_credentials(tokens)
        return await _run_file(settings, request, tokens)
    finally:
        if tokens is not None:
            await tokens.aclose()


async def _run_file(settings: Settings, request: RunRequest, tokens: Credentials | None) -> RunSummary:
    ledger = Ledger.open(request.state, request.input, request.results) if request.state else None
    source = JsonlSource(request.input, max_decompressed_ratio=settings.run.max_decompressed_ratio)
    summary = RunSummary()
    writer = _results_writer(request, ledger)
    if ledger is not None:
        summary.add_previous(ledger.previous)
    stop = asyncio.Event()
    try:
        with stop_on_signals(stop, "run", on_first=summary.mark_interrupted):
            async with progress_bar(summary, source, summary.lane_status, enabled=request.progress):
                await process(
                    settings,
                    source,
                    ResultsRecorder(writer, summary, log_rejected=request.log_rejected),
                    sending=DryRun() if tokens is None else OwnStack(tokens),
                    summary=summary,
                    skip=None if ledger is None else ledger.done.__contains__,
                    stop=stop,
                    state_dir=request.state or request.learned_from,
                )
    finally:
        source.close()
        if writer is not None:
            writer.close()
    summary.finish()
    return summary


def _results_writer(request: RunRequest, ledger: Ledger | None) -> ResultsWriter | None:
    if ledger is not None:  # the results file is the ledger: append, one write per line
        return ResultsWriter(str(ledger.results), append=True, each_line=True)
    if request.results is None:
        return None
    return ResultsWriter(request.results)
