"""An aiohttp middleware for clients that go away mid-request: one log line instead of a traceback.

A client that disconnects while its body is read (an aborted upload, a timed-out PATCH) makes aiohttp
raise ConnectionResetError in the handler, which aiohttp logs as "Error handling request" with a full
traceback, once per dropped request. Nobody is left to answer, so it is one line at `level` instead
(debug in the emulator, where it is routine; info in the service, where an aborted upload is news).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

log = structlog.get_logger("worker.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: What the connection is answered with; it is gone, so nobody sees it (aiohttp drops the write quietly).
GONE_STATUS = 400


def client_gone(level: str = "debug") -> Middleware:
    """The middleware, logging each disconnect as one `http.client_gone` line at `level`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ConnectionError as exc:
            getattr(log, level)("http.client_gone", method=request.method, path=request.path, error=str(exc))
            return web.Response(status=GONE_STATUS, text="client went away")

    return middleware
