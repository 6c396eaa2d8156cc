"""`python -m worker.emulator` as a real process: prints its URL, answers, and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import aiohttp

from .helpers import COLLECTION, patch

LISTENING = re.compile(r"emulator listening on (http://127\.0\.0\.1:\d+/beta)\n")


async def test_module_prints_its_url_serves_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "worker.emulator", "--port", "0", "--latency-ms", "1"),
        *("--quota", "200", "--retry-after", "fractional", "--token", "T"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
        match = LISTENING.fullmatch(line)
        assert match is not None, line
        base_url = match.group(1)

        async with aiohttp.ClientSession() as session:
            accepted = await patch(session, base_url + COLLECTION, {"action": "x"}, token="T")
            refused = await patch(session, base_url + COLLECTION, {"action": "x"}, token="other")

        assert (accepted.status, refused.status) == (200, 401)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=20)

    assert process.returncode == 0, stderr.decode()
    assert stdout == b""
