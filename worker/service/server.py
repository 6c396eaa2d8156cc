"""`patch-worker serve`: compose the service, serve until SIGTERM/SIGINT, then drain.

Start-up: API key (none: exit 2), Graph credentials verified (refused: exit 2), the store opened, the
HTTP site bound, then batches resumed. One sending stack (one ClientSession, one set of lanes) serves
every batch for the life of the process. A systemic guard watches it: a lane whose credentials are refused,
or that lacks a permission, stops in the batches running then (see `worker.send.systemic`).

Shutdown, as Kubernetes expects it (arq-style): the first SIGTERM/SIGINT flips /readyz to 503 and refuses
new uploads; running batches stop taking jobs, jobs in flight get `run.grace_s` to finish and be
recorded, and the batches are left `interrupted` (resumed at the next start); then the process exits 0.
A second signal stops at once (exit 130); the ledgers stay consistent either way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from aiohttp import web

from worker.auth.setup import effective_base_url
from worker.auth.tokens import verify_credentials
from worker.compose import credentials, keep_learned, keeping_learned, lane_set, sending_stack
from worker.loop import in_background
from worker.record.learned import load_learned
from worker.record.metrics import ServiceMetrics
from worker.schedule.lane_set import LaneSet
from worker.send.halt import SystemicGuard
from worker.service.api import create_app
from worker.service.auth import load_api_key
from worker.service.backends import Backend, backend_name, open_backend
from worker.service.batches import StoreUnavailableError
from worker.service.guard import listen
from worker.settings import Settings
from worker.signals import stop_on_signals

log = structlog.get_logger("worker.service")

#: Seconds open HTTP requests (a long results download) get once the batches have drained.
HTTP_SHUTDOWN_S = 5.0
#: How often finished batches past `service.retention_s` are looked for (more often for a short retention).
PRUNE_EVERY_S = 300.0


async def serve(settings: Settings) -> None:
    """Run the service until a signal, then drain. ConfigError/OutputError (exit 2) before it binds."""
    async with running_service(settings) as service:
        print(f"patch-worker serving on {service.url}", flush=True)  # tests and scripts read the port here
        stopped = asyncio.Event()
        with stop_on_signals(stopped, "service"):
            await stopped.wait()
            await service.drain()


class RunningService:
    """A service bound to a socket: its URL and its mode (tests use it in-process)."""

    def __init__(self, url: str, mode: Backend, grace_s: float) -> None:
        self.url = url
        self.mode = mode
        self._grace_s = grace_s
        self.drained = False

    async def drain(self) -> None:
        """Refuse new batches (/readyz 503), let running ones drain and leave them `interrupted`."""
        if not self.drained:
            self.drained = True
            log.warning("service.draining", graceS=self._grace_s)
            await self.mode.drain()


@asynccontextmanager
async def running_service(settings: Settings) -> AsyncIterator[RunningService]:
    """The whole service, serving on `service.host:service.port` (0 picks a port); drained on exit."""
    api_key = load_api_key(settings.service)
    tokens = credentials(settings)
    try:
        await verify_credentials(tokens)
        metrics = ServiceMetrics()
        # each lane starts where the last service run left it (the store's lanes.json), and leaves its own
        state_dir = settings.service.state_dir
        lanes = lane_set(settings, load_learned(state_dir))
        metrics.watch_lanes(lanes)
        guard = SystemicGuard(effective_base_url(settings), halt_all=False)
        async with (
            open_backend(settings, metrics) as (make_backend, wrap),
            sending_stack(settings, tokens, lanes, wrap=wrap, guard=guard) as execute,
        ):
            mode = make_backend(metrics.metered(execute), guard)
            async with _site(settings, mode, metrics, api_key, lanes) as url:
                service = RunningService(url, mode, settings.run.grace_s)
                mode.start()
                try:
                    async with (
                        _pruning(mode, settings.service.retention_s),
                        _releasing_lanes(lanes, settings.service.lane_idle_s),
                        keeping_learned(lanes, state_dir, settings.service.lane_idle_s / 2),
                    ):
                        yield service
                finally:
                    await service.drain()
                    keep_learned(state_dir, lanes.learned())
    finally:
        await tokens.aclose()
    log.info("service.stopped")


@asynccontextmanager
async def _site(
    settings: Settings, mode: Backend, metrics: ServiceMetrics, api_key: bytes, lanes: LaneSet
) -> AsyncIterator[str]:
    service = settings.service
    app = create_app(mode, metrics, api_key, service, lanes)
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=HTTP_SHUTDOWN_S,
        handle_signals=False,
        keepalive_timeout=service.header_timeout_s,  # also bounds the wait for a request's headers: see guard
    )
    await runner.setup()
    try:
        server = await listen(runner, service.host, service.port, service.max_connections)
        try:
            port = server.sockets[0].getsockname()[1]
            host = f"[{service.host}]" if ":" in service.host else service.host
            log.info("service.started", host=service.host, port=port, mode=backend_name(settings))
            yield f"http://{host}:{port}"
        finally:
            server.close()
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _releasing_lanes(lanes: LaneSet, idle_s: float) -> AsyncIterator[None]:
    """Drop the lanes of tenants idle for `idle_s` (checked every `idle_s / 2`), so the service does not keep
    a lane for every tenant it ever met (a 3,000-tenant batch kept 200 MB before)."""

    async def release_forever() -> None:
        while True:
            await asyncio.sleep(idle_s / 2)
            if released := lanes.release_idle(idle_s):
                log.info("service.lanes_released", lanes=released, kept=len(lanes.lanes))

    async with in_background(release_forever(), "release-lanes"):
        yield


@asynccontextmanager
async def _pruning(mode: Backend, retention_s: float) -> AsyncIterator[None]:
    """Delete finished batches `retention_s` after they finished (checked every PRUNE_EVERY_S at most)."""
    if retention_s <= 0:
        yield
        return

    async def prune_forever() -> None:
        while True:
            try:
                if pruned := await mode.prune(time.time() - retention_s):
                    log.info("service.pruned", batches=pruned, retentionS=retention_s)
            except StoreUnavailableError as exc:  # Redis away: try again next time
                log.warning("service.prune_failed", error=str(exc))
            except Exception:  # a disk or database error must not end pruning for the life of the service
                log.exception("service.prune_failed")
            await asyncio.sleep(min(PRUNE_EVERY_S, retention_s / 4))

    async with in_background(prune_forever(), "prune"):
        yield
