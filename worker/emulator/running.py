"""Serve the emulator in-process for tests (`start_emulator`) or until SIGINT/SIGTERM (`run_forever`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from types import TracebackType
from typing import Any

from aiohttp import web

from worker.emulator.config import EmulatorConfig
from worker.emulator.request_log import RecordedRequest, RequestLog
from worker.emulator.routes import create_app
from worker.emulator.state import STATE, EmulatorState

# Long enough for in-flight requests (latency is typically milliseconds) to finish, short enough that a
# test's teardown or a Ctrl-C never hangs.
SHUTDOWN_TIMEOUT_S = 2.0
# Benchmarks open many connections at once; the default listen backlog (128) would refuse some.
BACKLOG = 1024


class RunningEmulator:
    """An emulator serving on a real socket; close it (or use `async with`) when done."""

    def __init__(self, runner: web.AppRunner, url: str) -> None:
        self._runner = runner
        self.url = url
        self.state: EmulatorState = runner.app[STATE]

    @property
    def base_url(self) -> str:
        """The Graph base URL to point a client at: `url` + "/beta"."""
        return self.url + "/beta"

    @property
    def config(self) -> EmulatorConfig:
        """The live config: changes apply to the next request."""
        return self.state.config

    @property
    def recorder(self) -> RequestLog:
        """The request log and counters, for in-process assertions."""
        return self.state.recorder

    def configure(self, **changes: Any) -> None:
        """Change knobs at runtime, checked (same as `PUT /_emulator/config`)."""
        self.state.reconfigure(changes)

    def requests(
        self, status: int | None = None, tenant: str | None = None, limit: int | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests, oldest first (same filters as `GET /_emulator/requests`)."""
        return self.state.recorder.requests(status=status, tenant=tenant, limit=limit)

    def stats(self) -> dict[str, Any]:
        """Totals since the last reset (same as `GET /_emulator/stats`)."""
        return self.state.recorder.stats()

    def reset(self) -> None:
        """Clear records, counters and quota counters (same as `POST /_emulator/reset`)."""
        self.state.reset()

    async def close(self) -> None:
        """Stop listening and release the socket."""
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningEmulator:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def start_emulator(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> RunningEmulator:
    """Serve an emulator on host:port (0 picks a free port); the URL it got is `.url`.

    With `ssl_context` it serves HTTPS (msal insists on an https authority for the token endpoint).
    """
    app = create_app(config if config is not None else EmulatorConfig())
    # no access log: one log line per request would cost more than the emulator's own work
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=BACKLOG, ssl_context=ssl_context).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    scheme = "http" if ssl_context is None else "https"
    return RunningEmulator(runner, f"{scheme}://{_url_host(host)}:{bound_port}")


async def _serve(config: EmulatorConfig, host: str, port: int, ssl_context: ssl.SSLContext | None) -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # not available on Windows event loops; Ctrl-C still ends asyncio.run there
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopped.set)
    async with await start_emulator(config, host, port, ssl_context) as emulator:
        print(f"emulator listening on {emulator.base_url}", flush=True)
        await stopped.wait()


def run_forever(
    config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
) -> None:
    """Serve until SIGINT/SIGTERM, after printing `emulator listening on http(s)://HOST:PORT/beta`."""
    asyncio.run(_serve(config, host, port, ssl_context))
