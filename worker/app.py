"""Build a one-shot run from Settings and execute it: the composition root of `patch-worker run`."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import structlog

from worker.jobs import FieldError, Job, Rejected
from worker.loop import running_loop_name
from worker.pipeline import Execute, Parse, Pipeline
from worker.plan import LaneRate, build_plan
from worker.record.learned import load_learned, save_learned
from worker.record.ledger import Ledger
from worker.record.progress import lane_status, progress_bar
from worker.record.recorder import Recorder, ResultsRecorder
from worker.record.results import ResultsWriter
from worker.record.summary import RunSummary
from worker.schedule.lanes import LaneLimits, LaneSender, LaneSet
from worker.send.auth import Credentials, verify_credentials
from worker.send.auth_setup import build_credentials, effective_base_url
from worker.send.batch import BatchClient, BatchSender
from worker.send.body import BodyLimits
from worker.send.executor import JobExecutor, Sender
from worker.send.halt import GuardedBatchClient, SystemicGuard, SystemicWatch
from worker.send.http import GraphClient, new_session
from worker.send.retry import RetryPolicy
from worker.settings import Settings
from worker.signals import stop_on_signals
from worker.sources.identity import guarded_reopen
from worker.sources.jsonl import OVERSIZED, JsonlSource
from worker.validate import parse_line

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


def parse_input_line(raw: bytes, line_no: int, *, default_tenant: str, max_line_bytes: int) -> Job | Rejected | None:
    """parse_line, plus the source's marker for a line too long to hold in memory."""
    if raw is OVERSIZED:
        message = f"line is longer than {max_line_bytes} bytes"
        return Rejected(
            job_id=str(line_no),
            line=line_no,
            kind="line_too_long",
            message=message,
            errors=(FieldError(loc="", message=message, type="line_too_long"),),
        )
    return parse_line(raw, line_no, default_tenant=default_tenant)


def credentials(settings: Settings) -> Credentials:
    """The credentials for this run (static tokens and client credentials, per tenant: see `auth_setup`).

    ConfigError when there are none at all, or they conflict or cannot be read. Nothing is fetched yet:
    `verify_credentials` does that before the first PATCH.
    """
    return build_credentials(settings)


def lane_limits(settings: Settings, learned: Mapping[str, float] | None = None) -> Callable[[str], LaneLimits]:
    """Each tenant's lane limits: `run.rate` (`--rate`) is an exact rate; `tenants.<t>.rate` a ceiling under
    which the rate is learned, starting from `learned[tenant]` (what an earlier run ended with) when known."""
    run = settings.run
    known = learned or {}

    def limits(tenant: str) -> LaneLimits:
        own = settings.tenants.get(tenant)
        ceiling = own.rate if own is not None else None
        exact = min(run.rate, ceiling or run.rate) if run.rate else None
        start = known.get(tenant)
        return LaneLimits(
            rate=exact,
            ceiling=ceiling,
            learned=None if start is None else min(start, ceiling or start),
            burst=run.burst,
            min_concurrency=min(run.min_concurrency, run.concurrency),
            max_concurrency=run.concurrency,
            max_pause_s=settings.retry.max_retry_after_s,
        )

    return limits


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry policy named by the settings."""
    retry = settings.retry
    return RetryPolicy(
        max_attempts=retry.max_attempts,
        max_elapsed_s=retry.max_elapsed_s,
        max_retry_after_s=retry.max_retry_after_s,
        backoff_initial_s=retry.backoff_initial_s,
        backoff_max_s=retry.backoff_max_s,
    )


async def run_file(settings: Settings, request: RunRequest) -> RunSummary:
    """`patch-worker run`: the input through the pipeline with results, resume state, progress and signals."""
    run = settings.run
    log.info(
        "run.started", input=str(request.input), results=request.results, state=request.state and str(request.state),
        dryRun=request.dry_run, concurrency=run.concurrency, batchSize=run.batch_size, rate=run.rate or "learned",
        eventLoop=running_loop_name(),
    )  # fmt: skip
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
                    tokens=tokens,
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


async def process(
    settings: Settings,
    source: JsonlSource,
    recorder: Recorder,
    *,
    tokens: Credentials | None,
    summary: RunSummary,
    skip: Callable[[int], bool] | None = None,
    stop: asyncio.Event | None = None,
    execute: Execute | None = None,
    watch: SystemicWatch | None = None,
    state_dir: Path | None = None,
) -> None:
    """Run one source through validate -> lanes -> send -> `recorder` (no sending when `tokens` is None).

    The one pipeline core behind `run` and the service: setting `stop` drains it (see `Pipeline`).
    `execute`, when given, is a long-lived sending stack (`sending_stack`) used instead of one built for this
    source: the service's batches share their lanes that way; `watch` is then this source's view of that
    stack's systemic guard (jobs of a halted lane get `not_sent`). `summary.stopped_by` says what halted.
    """
    parse: Parse = partial(
        parse_input_line, default_tenant=settings.graph.default_tenant, max_line_bytes=source.max_line_bytes
    )
    jobs_by_lane: Counter[str] = Counter()
    if tokens is None and execute is None:  # a dry run: count each lane's jobs for the plan
        parse = _counting(parse, jobs_by_lane)
    sending = nullcontext((execute, watch)) if execute is not None else _sending(settings, tokens, summary, state_dir)
    workers_per_lane = settings.run.concurrency * settings.run.batch_size
    async with sending as (executor, halts):
        pipeline = Pipeline(
            source=source,
            parse=parse,
            execute=executor,
            recorder=recorder,
            workers_per_lane=workers_per_lane,
            skip=skip,
            grace_s=settings.run.grace_s,
            stop=stop,
            reread=guarded_reopen(source) if source.rereadable else None,
            hold=None if halts is None else halts.hold,
            max_workers=max(4 * settings.graph.max_connections, 2 * workers_per_lane),
        )
        await pipeline.run()
    summary.stopped_by = None if halts is None else halts.cause
    summary.valid = pipeline.valid_jobs
    summary.not_done = pipeline.valid_jobs - summary.sent_this_run
    if tokens is None and execute is None:
        summary.plan = build_plan(settings, jobs_by_lane, _plan_rates(settings, state_dir))


def _plan_rates(settings: Settings, state_dir: Path | None) -> LaneRate:
    """Each lane's starting rate for a dry run's plan: exact, persisted by an earlier run, or to be learned."""
    limits = lane_limits(settings, load_learned(state_dir) if state_dir is not None else None)

    def rate(tenant: str) -> tuple[float | None, str]:
        lane = limits(tenant)
        if lane.rate is not None:
            return lane.rate, "given"
        if lane.learned is not None:
            return lane.learned, "persisted"
        return None, "learned"

    return rate


def _counting(parse: Parse, jobs_by_lane: Counter[str]) -> Parse:
    """`parse`, counting the valid jobs of each lane (tenant) as they go by."""

    def counted(raw: bytes, line_no: int) -> Job | Rejected | None:
        parsed = parse(raw, line_no)
        if isinstance(parsed, Job):
            jobs_by_lane[parsed.tenant] += 1
        return parsed

    return counted


def _results_writer(request: RunRequest, ledger: Ledger | None) -> ResultsWriter | None:
    if ledger is not None:  # the results file is the ledger: append, one write per line
        return ResultsWriter(str(ledger.results), append=True, each_line=True)
    if request.results is None:
        return None
    return ResultsWriter(request.results)


@asynccontextmanager
async def _sending(
    settings: Settings, tokens: Credentials | None, summary: RunSummary, state_dir: Path | None
) -> AsyncIterator[tuple[Execute | None, SystemicWatch | None]]:
    """The executor (lanes over one ClientSession) for the run and its guard's watch, or Nones for a dry run.

    A systemic failure in any lane halts them all: a run is one job, and its exit code says it stopped.
    With a state directory, each lane starts from the rate an earlier run learned, and leaves its own.
    """
    if tokens is None:
        yield None, None
        return
    learned = load_learned(state_dir) if state_dir is not None else None
    lanes = LaneSet(lane_limits(settings, learned), app_rate=settings.run.app_rate or None)
    guard = SystemicGuard(effective_base_url(settings), halt_all=True)
    summary.lane_status = partial(lane_status, lanes)
    try:
        async with sending_stack(settings, tokens, lanes, guard=guard) as execute:
            with guard.watch() as watch:
                yield execute, watch
    finally:
        summary.lanes = lanes.stats()
        if state_dir is not None:
            save_learned(state_dir, lanes.learned())


@asynccontextmanager
async def sending_stack(
    settings: Settings,
    tokens: Credentials,
    lanes: LaneSet,
    wrap: Callable[[Sender], Sender] | None = None,
    guard: SystemicGuard | None = None,
) -> AsyncIterator[Execute]:
    """An executor over one ClientSession: each attempt through its tenant's lane in `lanes`, retried by policy.

    `wrap` decorates the sender, which sees every attempt (the service counts them and adds a rate shared
    with its other replicas there). `guard` sees every attempt too, and keeps a halted lane off the wire.
    """
    session = new_session(
        max_connections=settings.graph.max_connections,
        connect_timeout_s=settings.graph.connect_timeout_s,
        read_timeout_s=settings.graph.read_timeout_s,
        ca_bundle=settings.graph.ca_bundle,
    )
    base_url = effective_base_url(settings)
    graph = settings.graph
    limits = BodyLimits(graph.max_response_bytes, graph.read_timeout_s, graph.connect_timeout_s + graph.read_timeout_s)
    async with session:
        sender: Sender
        if settings.run.batch_size > 1:
            batch_client = (
                BatchClient(session, base_url, tokens, limits)
                if guard is None
                else GuardedBatchClient(session, base_url, tokens, limits, guard=guard)
            )
            sender = BatchSender(lanes, batch_client, settings.run.batch_size)
        else:
            send = GraphClient(session, base_url, tokens, limits).patch
            sender = LaneSender(lanes, send if guard is None else guard.guarded(send))
        if wrap is not None:
            sender = wrap(sender)
        yield JobExecutor(sender, retry_policy(settings), None if guard is None else guard.pause).execute
