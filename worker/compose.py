"""The composition root: the sending stack (credentials, lane limits, retry policy, sender) and the pipeline core.

One place builds them for `run` (`worker.app`), `serve` and every queue consumer (`worker.service`), so a
setting means the same thing in each. `process` runs one source through validate -> lanes -> send -> record.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import structlog

from worker.answers import Execute, Sender
from worker.auth.setup import build_credentials, effective_base_url
from worker.auth.tokens import Credentials
from worker.errors import OutputError
from worker.jobs import FieldError, Job, LaneKey, Rejected
from worker.loop import in_background
from worker.models.registry import DEFAULT_VERSION, GraphVersion, graph_version
from worker.pipeline.protocols import Parse
from worker.pipeline.run import Pipeline
from worker.plan import LaneRate, build_plan
from worker.record.learned import load_learned, save_learned
from worker.record.progress import lane_status
from worker.record.recorder import Recorder
from worker.record.summary import RunSummary
from worker.schedule.lane import LaneLimits
from worker.schedule.lane_sender import LaneSender
from worker.schedule.lane_set import LaneSet
from worker.schedule.learned_pace import LearnedPace
from worker.send.body import BodyLimits
from worker.send.executor import JobExecutor
from worker.send.halt import GuardedBatchClient, SystemicGuard, SystemicWatch
from worker.send.http import GraphClient, new_session
from worker.send.json_batch import BatchClient, BatchSender
from worker.send.retry import RetryPolicy
from worker.settings import Settings
from worker.sources.identity import guarded_reopen
from worker.sources.jsonl import OVERSIZED, JsonlSource
from worker.validate.parse import parse_line

log = structlog.get_logger("worker.compose")

KEEP_LEARNED_EVERY_S = 30.0  # a run with `--state` writes what its lanes learned this often, when it changed


def parse_input_line(
    raw: bytes, line_no: int, *, default_tenant: str, max_line_bytes: int, version: GraphVersion = DEFAULT_VERSION
) -> Job | Rejected | None:
    """parse_line (with `version`'s models), plus the source's marker for a line too long to hold in memory."""
    if raw is OVERSIZED:
        message = f"line is longer than {max_line_bytes} bytes"
        return Rejected(
            job_id=str(line_no),
            line=line_no,
            kind="line_too_long",
            message=message,
            errors=(FieldError(loc="", message=message, type="line_too_long"),),
        )
    return parse_line(raw, line_no, default_tenant=default_tenant, version=version)


def credentials(settings: Settings) -> Credentials:
    """The credentials for this run (static tokens and client credentials, per tenant: see `worker.auth.setup`).

    ConfigError when there are none at all, or they conflict or cannot be read. Nothing is fetched yet:
    `verify_credentials` does that before the first PATCH.
    """
    return build_credentials(settings)


def lane_limits(
    settings: Settings, learned: Mapping[LaneKey, LearnedPace] | None = None
) -> Callable[[LaneKey], LaneLimits]:
    """Each lane's limits: `run.rate` (`--rate`) is an exact rate; `tenants.<t>.rate` and `scopes.<s>.rate`
    are ceilings under which the rate is learned, starting from `learned[(tenant, scope)]` (what an earlier
    run ended with) when known."""
    run = settings.run
    known = learned or {}

    def limits(key: LaneKey) -> LaneLimits:
        tenant, scope = key
        ceiling = _ceiling(settings, tenant, scope)
        exact = min(run.rate, ceiling or run.rate) if run.rate else None
        start = known.get(key)
        return LaneLimits(
            rate=exact,
            ceiling=ceiling,
            learned=None if start is None else start.under(ceiling),
            burst=run.burst,
            min_concurrency=min(run.min_concurrency, run.concurrency),
            max_concurrency=run.concurrency,
            max_pause_s=settings.retry.max_retry_after_s,
        )

    return limits


def _ceiling(settings: Settings, tenant: str, scope: str) -> float | None:
    """The lower of the tenant's and the scope's configured rate ceilings, if any."""
    own, group = settings.tenants.get(tenant), settings.scopes.get(scope)
    ceilings = [rate for rate in (own and own.rate, group and group.rate) if rate]
    return min(ceilings, default=None)


def lane_set(settings: Settings, learned: Mapping[LaneKey, LearnedPace] | None = None) -> LaneSet:
    """The lanes of a run or of the service: limits per lane, the app-wide rate and each scope's."""
    scope_rates = {name: scope.app_rate for name, scope in settings.scopes.items() if scope.app_rate}
    return LaneSet(lane_limits(settings, learned), app_rate=settings.run.app_rate or None, scope_app_rates=scope_rates)


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


@dataclass(frozen=True, slots=True)
class DryRun:
    """Send nothing: validate, and count each lane's jobs for the plan (`summary.plan`)."""


@dataclass(frozen=True, slots=True)
class OwnStack:
    """A sending stack built for this source with these credentials (`run`), closed when it ends."""

    tokens: Credentials


@dataclass(frozen=True, slots=True)
class SharedStack:
    """A long-lived sending stack (`sending_stack`) shared by many sources: the service's batches share their
    lanes that way; `watch` is this source's view of that stack's systemic guard (a halted lane's jobs get
    `not_sent`)."""

    execute: Execute
    watch: SystemicWatch | None = None


Sending = DryRun | OwnStack | SharedStack


async def process(
    settings: Settings,
    source: JsonlSource,
    recorder: Recorder,
    *,
    sending: Sending,
    summary: RunSummary,
    skip: Callable[[int], bool] | None = None,
    stop: asyncio.Event | None = None,
    state_dir: Path | None = None,
) -> None:
    """Run one source through validate -> lanes -> send -> `recorder`, sending as `sending` says.

    The one pipeline core behind `run` and the service: setting `stop` drains it (see `Pipeline`).
    `summary.stopped_by` says what halted it.
    """
    parse: Parse = partial(
        parse_input_line,
        default_tenant=settings.graph.default_tenant,
        max_line_bytes=source.max_line_bytes,
        version=graph_version(settings.graph.base_url),
    )
    jobs_by_lane: Counter[LaneKey] = Counter()
    dry_run = isinstance(sending, DryRun)
    if dry_run:
        parse = _counting(parse, jobs_by_lane)
    stack = (
        nullcontext((sending.execute, sending.watch))
        if isinstance(sending, SharedStack)
        else _sending(settings, sending, summary, state_dir)
    )
    workers_per_lane = settings.run.concurrency * settings.run.batch_size
    async with stack as (executor, halts):
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
    if dry_run:
        summary.plan = build_plan(settings, jobs_by_lane, _plan_rates(settings, state_dir))


def _plan_rates(settings: Settings, state_dir: Path | None) -> LaneRate:
    """Each lane's starting rate for a dry run's plan: exact, persisted by an earlier run, or to be learned."""
    limits = lane_limits(settings, load_learned(state_dir) if state_dir is not None else None)

    def rate(key: LaneKey) -> tuple[float | None, str, tuple[int, float] | None]:
        lane = limits(key)
        if lane.rate is not None:
            return lane.rate, "given", None
        if lane.learned is not None:
            return lane.learned.rate, "persisted", lane.learned.window
        return None, "learned", None

    return rate


def _counting(parse: Parse, jobs_by_lane: Counter[LaneKey]) -> Parse:
    """`parse`, counting the valid jobs of each lane (tenant, scope) as they go by."""

    def counted(raw: bytes, line_no: int) -> Job | Rejected | None:
        parsed = parse(raw, line_no)
        if isinstance(parsed, Job):
            jobs_by_lane[parsed.lane] += 1
        return parsed

    return counted


@asynccontextmanager
async def _sending(
    settings: Settings, sending: DryRun | OwnStack, summary: RunSummary, state_dir: Path | None
) -> AsyncIterator[tuple[Execute | None, SystemicWatch | None]]:
    """The executor (lanes over one ClientSession) for the run and its guard's watch, or Nones for a dry run.

    A systemic failure in any lane halts them all: a run is one job, and its exit code says it stopped.
    With a state directory, each lane starts from the rate an earlier run learned, and leaves its own.
    """
    if isinstance(sending, DryRun):
        yield None, None
        return
    learned = load_learned(state_dir) if state_dir is not None else None
    lanes = lane_set(settings, learned)
    guard = SystemicGuard(effective_base_url(settings), halt_all=True)
    summary.lane_status = partial(lane_status, lanes)
    keeping = nullcontext() if state_dir is None else keeping_learned(lanes, state_dir, KEEP_LEARNED_EVERY_S)
    try:
        async with keeping, sending_stack(settings, sending.tokens, lanes, guard=guard) as execute:
            with guard.watch() as watch:
                yield execute, watch
    finally:
        summary.lanes = lanes.stats()
        if state_dir is not None:
            save_learned(state_dir, lanes.learned())


def keep_learned(state_dir: Path, learned: dict[LaneKey, LearnedPace]) -> None:
    """Save what the lanes learned, for the next start; a failure to is a warning (`lanes.not_kept`): the
    lanes only save time with it, the updates go on."""
    try:
        save_learned(state_dir, learned)
    except OutputError as exc:
        log.warning("lanes.not_kept", error=str(exc))


@asynccontextmanager
async def keeping_learned(lanes: LaneSet, state_dir: Path, every_s: float) -> AsyncIterator[None]:
    """Write what the lanes learned to `state_dir`'s lanes.json every `every_s` when it changed: a run or a
    service killed (kill -9, OOM) loses no more than that of it. The final write is the caller's, at its end.
    A failure to write here is a warning: the lanes only save time with it, the updates go on."""

    async def keep_forever() -> None:
        kept = lanes.learned()
        while True:
            await asyncio.sleep(every_s)
            if (learned := lanes.learned()) != kept:
                keep_learned(state_dir, learned)
                kept = learned

    async with in_background(keep_forever(), "keep-learned"):
        yield


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
