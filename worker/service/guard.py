"""Slow and numerous clients (slowloris): a cap on open connections, and where the header timeout comes from.

aiohttp.web has no connection limit, and a client that sends its headers a byte at a time holds its
connection for as long as it likes. Two guards, both cheap:

- the header timeout is aiohttp's keep-alive timeout: its timer starts when a connection opens (and
  again after each answer) and closes the connection if no complete request has arrived by then;
- `ConnectionCap` is the listening socket's protocol factory: past `limit` open connections, a new one is
  closed as soon as it is accepted, so the process never holds more than `limit` sockets and handlers.

The body of an upload has its own idle timeout (`worker.service.upload`).
"""

from __future__ import annotations

import asyncio
import time

import structlog
from aiohttp import web

log = structlog.get_logger("worker.service")

#: At most one `service.connection_refused` log line per this many seconds (an attack must not flood the log).
LOG_EVERY_S = 10.0
SETTLE_S = 1.0


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class ConnectionCap:
    """A protocol factory over aiohttp's server that refuses connections beyond `limit`.

    aiohttp counts a connection once its handler's `connection_made` ran, which is a loop iteration after
    the factory was called: a burst of connections accepted together would all pass. Handlers made here and
    not yet counted by aiohttp count too (for at most `SETTLE_S`, should a connection fail before that).
    """

    def __init__(self, server: web.Server, limit: int) -> None:
        self._server = server
        self._limit = limit
        self._fresh: list[tuple[web.RequestHandler, float]] = []
        self.refused = 0
        self._logged_at = 0.0

    def __call__(self) -> asyncio.BaseProtocol:
        """aiohttp's handler for a new connection, or one that closes it when `limit` are open."""
        now = time.monotonic()
        open_ = set(self._server.connections)
        self._fresh = [(made, at) for made, at in self._fresh if made not in open_ and now - at < SETTLE_S]
        if len(open_) + len(self._fresh) < self._limit:
            handler = self._server()
            self._fresh.append((handler, now))
            return handler
        self.refused += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            log.warning("service.connection_refused", limit=self._limit, refused=self.refused)
        return _Refused()


async def listen(runner: web.AppRunner, host: str, port: int, limit: int) -> asyncio.Server:
    """Listen on host:port for `runner`'s app, at most `limit` connections open; close the server to stop."""
    loop = asyncio.get_running_loop()
    assert runner.server is not None, "runner.setup() first"
    return await loop.create_server(ConnectionCap(runner.server, limit), host, port, reuse_address=True)
