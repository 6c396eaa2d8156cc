"""Azurite for the Azure queue source's tests: one server per session, a fresh queue per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from azure.storage.queue.aio import QueueClient

from tests.azurite import Azurite, new_queue_name, run_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """A running Azurite queue service, shared by the session's tests."""
    yield from run_azurite(tmp_path_factory.mktemp("azurite"))


@pytest.fixture
async def azure_queue(azurite: Azurite) -> AsyncIterator[QueueClient]:
    """A new, empty queue on Azurite (its -results and -poison twins do not exist yet)."""
    async with QueueClient.from_connection_string(azurite.connection_string, new_queue_name()) as client:
        await client.create_queue()
        yield client
