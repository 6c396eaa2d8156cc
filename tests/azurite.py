"""A real Azure Storage queue service for the tests: Azurite (npm `azurite`), started on a free port, in memory.

The binary is `$AZURITE_QUEUE`, else the one `.ci/run` installs into the repository's `node_modules` (ignored by
git), else `azurite-queue` on PATH. Without any the tests skip with the command that installs it, and fail
under CI (see `missing_dependency`). One server per test session (per conftest importing the fixtures);
every test uses queues of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from azure.storage.queue.aio import QueueClient

from tests.conftest import REPO, missing_dependency

#: the version `.ci/run` installs (3.36 and later want node >= 21; CI has node 20)
AZURITE_VERSION = "3.35.0"
INSTALL = f"npm install --prefix . --no-save --no-package-lock azurite@{AZURITE_VERSION}  (in the repository)"

#: Azurite's account and its well-known key, published in Azurite's README (not a secret)
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    """A running Azurite queue service."""

    port: int

    @property
    def endpoint(self) -> str:
        """The account's queue endpoint."""
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """What `AZURE_STORAGE_CONNECTION_STRING` holds for this server."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"QueueEndpoint={self.endpoint};"
        )


def new_queue_name() -> str:
    """A fresh, valid queue name (3-63 lowercase letters, digits and dashes)."""
    return f"q{uuid.uuid4().hex[:20]}"


def azurite_binary() -> str | None:
    """The azurite-queue executable to start, if any."""
    named = os.environ.get("AZURITE_QUEUE")
    if named:
        return named
    local = REPO / "node_modules" / ".bin" / "azurite-queue"
    if local.is_file():
        return str(local)
    return shutil.which("azurite-queue")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def run_azurite(folder: Path) -> Iterator[Azurite]:
    """Start Azurite's queue service on a free port (in memory, in `folder`, which gets its log) until closed."""
    binary = azurite_binary()
    if binary is None:
        missing_dependency("azurite (the Azure Storage queue tests need a real one)", INSTALL)
    port = _free_port()
    log = (folder / "azurite.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(port),
            "--inMemoryPersistence",
            "--extentMemoryLimit",
            "256",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
            "--disableTelemetry",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=folder,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"azurite did not start on port {port}: see {folder / 'azurite.log'}")
            time.sleep(0.1)  # the polling interval while azurite starts
        yield Azurite(port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


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
