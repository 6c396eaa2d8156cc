"""Fixtures: the hostile server and a second listener (another host) on free ports of 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from tests.hostile.server import HostileServer


@dataclass
class Listening:
    """A HostileServer on a real socket."""

    server: HostileServer
    url: str


async def _listen(server: HostileServer) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(server.app(), shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def other() -> AsyncIterator[Listening]:
    """Another host: nothing may ever arrive here."""
    server = HostileServer()
    runner, url = await _listen(server)
    yield Listening(server, url)
    await runner.cleanup()


@pytest.fixture
async def hostile(other: Listening) -> AsyncIterator[Listening]:
    """The hostile Graph stand-in; its redirects point at `other`."""
    server = HostileServer(other_url=other.url)
    runner, url = await _listen(server)
    yield Listening(server, url)
    await runner.cleanup()
