"""Fixtures: the hostile server and a second listener (another host) on free ports of 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
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


class _HeaderDrip:
    """Answers any request with a status line, then one header byte every 0.2 s, for ever."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\n")
            while True:
                writer.write(b"X")
                await writer.drain()
                await asyncio.sleep(0.2)  # the drip: a slow server is the behaviour under test


@pytest.fixture
async def header_drip() -> AsyncIterator[str]:
    """The URL of a raw server whose answer's headers never end."""
    drip = _HeaderDrip()
    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    for writer in drip.writers:
        writer.close()
    await server.wait_closed()


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
