"""A client that goes away mid-request costs one log line, never a traceback (emulator and service)."""

from __future__ import annotations

import asyncio
import signal
import socket
import struct
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import REPO, TOKEN, cli_env
from tests.polling import logged
from tests.service.helpers import API_KEY, ServeProcess
from worker.emulator.running import RunningEmulator


async def reset_mid_request(url: str, head: bytes, body: bytes) -> None:
    """Send `head` and part of a body, then drop the connection with a TCP reset."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(head + body)
    await writer.drain()
    await asyncio.sleep(0.3)  # a fixed wait: the server is reading the body (or sleeping its latency) by now
    sock: socket.socket = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
    del reader


async def test_emulator_logs_no_traceback_when_a_client_resets() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        "emulate",
        "--port",
        "0",
        "--latency-ms",
        "600",
        "--token",
        TOKEN,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(),
        cwd=REPO,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    url = line.decode().rsplit(" ", 1)[1].strip()
    body = b'{"action": "Update"}'
    head = (
        f"PATCH /beta/auditLogs/provisioning HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    await reset_mid_request(url, head, body)
    # a fixed wait: the emulator notices the reset when its latency ends (its client_gone line is at debug,
    # unseen); the test is that no traceback follows
    await asyncio.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert "Traceback" not in err.decode()
    assert "Error handling request" not in err.decode()


async def test_an_aborted_upload_is_one_log_line(emulator: RunningEmulator, tmp_path: Path) -> None:
    server = await ServeProcess.start(tmp_path / "state", emulator)
    head = (
        f"POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n"
        "Content-Type: application/x-ndjson\r\nContent-Length: 1000000\r\n\r\n"
    ).encode()
    await reset_mid_request(server.url, head, b'{"action": "Update"}\n' * 100)
    assert server.proc.stderr is not None
    seen = await logged(server.proc.stderr, b"http.client_gone")
    server.proc.send_signal(signal.SIGTERM)
    code, rest = await server.finish()
    err = seen.decode() + rest
    assert code == 0
    assert "Traceback" not in err
    assert err.count("http.client_gone") == 1, err
