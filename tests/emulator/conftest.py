"""Fixtures: a real emulator on 127.0.0.1 and a real aiohttp client session (no mocks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from worker.emulator import EmulatorConfig, RunningEmulator, start_emulator

from .helpers import SEED_REQUEST


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    """An emulator with default knobs (no latency, no quota, no faults) and a fixed seed."""
    async with await start_emulator(EmulatorConfig(seed=7)) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session, closed after the test."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def seed_body() -> dict[str, Any]:
    """The seed page's request example, parsed."""
    body: dict[str, Any] = orjson.loads(SEED_REQUEST.read_bytes())
    return body
