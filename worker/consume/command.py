"""`patch-worker consume SOURCE`: the sending stack of `run` and `serve` (`worker.compose`) fed by a queue.

Start-up: credentials verified (refused: exit 2), the queue opened by its URL scheme
(`worker.sources.queue`), the shared rate connected, the probes served (`--listen`). One sending stack
(one ClientSession, one set of lanes) serves every message for the life of the process; a systemic failure
stops it like a run (exit 2). Several consumers share each lane's configured rate through Redis: the
queue's own Redis for a redis:// source, else `service.queue` when set (see `worker.service.redis.shared_rate`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog

from worker.answers import Sender
from worker.auth.setup import effective_base_url
from worker.auth.tokens import Credentials, verify_credentials
from worker.compose import credentials, lane_set, sending_stack
from worker.consume.consumer import QueueConsumer
from worker.consume.health import health_site
from worker.loop import running_loop_name
from worker.record.metrics import MeteredSender, ServiceMetrics
from worker.record.recorder import ResultsRecorder
from worker.record.summary import RunSummary
from worker.redact import safe_url
from worker.send.halt import SystemicGuard
from worker.settings import Settings
from worker.signals import stop_on_signals
from worker.sources.queue import QueueTarget, open_source

log = structlog.get_logger("worker.consume")

REDIS_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True, slots=True)
class ConsumeRequest:
    """What to consume and how long for."""

    url: str
    stream: str | None = None
    group: str = "patch-worker"
    until_empty: bool = False
    idle_s: float = 5.0
    listen: tuple[str, int] | None = None


async def consume(settings: Settings, request: ConsumeRequest) -> RunSummary:
    """Consume until SIGTERM/SIGINT (or, with `until_empty`, an idle queue); the summary of what was done."""
    log.info(
        "consume.starting",
        url=safe_url(request.url),
        stream=request.stream,
        group=request.group,
        untilEmpty=request.until_empty,
        concurrency=settings.run.concurrency,
        batchSize=settings.run.batch_size,
        eventLoop=running_loop_name(),
    )
    tokens = credentials(settings)
    try:
        await verify_credentials(tokens)
        return await _consume(settings, request, tokens)
    finally:
        await tokens.aclose()


async def _consume(settings: Settings, request: ConsumeRequest, tokens: Credentials) -> RunSummary:
    summary = RunSummary()
    metrics = ServiceMetrics()
    lanes = lane_set(settings)
    metrics.watch_lanes(lanes)
    guard = SystemicGuard(effective_base_url(settings), halt_all=True)
    target = QueueTarget(request.url, request.stream, request.group, settings.queue)
    stop = asyncio.Event()
    on_signal = summary.mark_interrupted if request.until_empty else None  # a drained Deployment pod is no failure
    try:
        async with (
            open_source(target) as source,
            _shared_rate(settings, request.url, metrics) as wrap,
            sending_stack(settings, tokens, lanes, wrap=wrap, guard=guard) as execute,
        ):
            with guard.watch() as watch, stop_on_signals(stop, "consume", on_first=on_signal):
                consumer = QueueConsumer(
                    settings,
                    source,
                    metrics.metered(execute),
                    recorder=ResultsRecorder(None, summary),
                    metrics=metrics,
                    stop=stop,
                    hold=watch.hold,
                )
                async with health_site(request.listen, metrics, lambda: source.healthy and not stop.is_set()):
                    await consumer.run(until_empty_s=request.idle_s if request.until_empty else None)
            summary.stopped_by = watch.cause
            summary.valid = consumer.valid_jobs
    finally:
        summary.lanes = lanes.stats()
        summary.finish()
    return summary


@asynccontextmanager
async def _shared_rate(
    settings: Settings, url: str, metrics: ServiceMetrics
) -> AsyncIterator[Callable[[Sender], Sender]]:
    """The sender wrapper: attempts counted, and each lane's rate shared through Redis when there is one."""
    redis_url = url if urlsplit(url).scheme in REDIS_SCHEMES else settings.service.queue
    if redis_url is None:
        yield lambda sender: MeteredSender(sender, metrics)
        return
    import redis.asyncio as aioredis  # only when a Redis is configured

    from worker.service.redis.keys import Keys
    from worker.service.redis.shared_rate import SharedRate, SharedRateSender

    client = aioredis.Redis.from_url(
        redis_url,
        socket_timeout=settings.queue.socket_timeout_s,
        socket_connect_timeout=settings.queue.socket_timeout_s,
    )
    try:
        rate = SharedRate(client, Keys(settings.queue.prefix), settings)
        yield lambda sender: SharedRateSender(MeteredSender(sender, metrics), rate)
    finally:
        await client.aclose()
