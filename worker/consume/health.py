"""`consume --listen HOST:PORT`: liveness, readiness and Prometheus metrics for Kubernetes probes and scrapers.

    GET /healthz   the process answers                          200
    GET /readyz    the queue is reachable and not stopping       200 or 503
    GET /metrics   the service's metrics (jobs, attempts, lanes)  200

No API key: the site serves no data but counters and lane (tenant) names, for a cluster-internal port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import orjson
import structlog
from aiohttp import web

from worker.errors import ConfigError
from worker.record.metrics import CONTENT_TYPE, ServiceMetrics
from worker.service.guard import listen

log = structlog.get_logger("worker.consume")

MAX_CONNECTIONS = 64  # probes and a scraper or two


def parse_listen(value: str) -> tuple[str, int]:
    """HOST:PORT (or :PORT for every interface) as a pair; ConfigError for anything else."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"--listen: expected HOST:PORT (e.g. 0.0.0.0:9090), got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 (":PORT" asks for every interface)


def _json(data: dict[str, str], status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


@asynccontextmanager
async def health_site(
    listen_on: tuple[str, int] | None, metrics: ServiceMetrics, ready: Callable[[], bool]
) -> AsyncIterator[str | None]:
    """Serve the probes on `listen_on` while inside (nothing without it); yields the site's URL."""
    if listen_on is None:
        yield None
        return

    async def healthz(_request: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        return _json({"status": "ready"}) if ready() else _json({"status": "not ready"}, 503)

    async def metrics_text(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_text)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        try:
            server = await listen(runner, listen_on[0], listen_on[1], MAX_CONNECTIONS)
        except OSError as exc:
            raise ConfigError(f"--listen {listen_on[0]}:{listen_on[1]}: {exc.strerror or exc}") from None
        try:
            url = f"http://{listen_on[0]}:{server.sockets[0].getsockname()[1]}"
            log.info("consume.listening", url=url)
            yield url
        finally:
            server.close()
    finally:
        await runner.cleanup()
