"""Hostile clients of the service: oversized blank lines, undecodable keys, slowloris, /metrics without a key."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from structlog.testing import capture_logs

from tests.polling import until
from tests.service.helpers import API_KEY, AUTH, NDJSON, numbered, results, service_settings, started, wait_for_state
from worker.emulator.running import RunningEmulator
from worker.settings import Settings


def oversized_blank_upload() -> bytes:
    """33 valid lines, a whitespace-only line over 4 MiB (rejected as too long), one more valid line."""
    return numbered(33) + b" " * (5 << 20) + b"\n" + numbered(1)


async def upload_large(client: aiohttp.ClientSession, body: bytes) -> dict[str, Any]:
    """POST a large body as a batch (from a file-like object, as aiohttp asks for big bodies)."""
    async with client.post("/v1/batches", data=io.BytesIO(body), headers={**AUTH, **NDJSON}) as response:
        assert response.status == 202, await response.text()
        created: dict[str, Any] = await response.json()
        return created


async def assert_counts_every_line(settings: Settings) -> None:
    async with started(settings) as (_, client):
        created = await upload_large(client, oversized_blank_upload())
        done = await wait_for_state(client, created["id"], timeout=60)
        rows = await results(client, created["id"])
    assert done["total"] == 35
    assert done["done"] == 35  # finished only once every line has its result
    assert sorted(row["line"] for row in rows) == list(range(1, 36))
    assert [row["error"]["kind"] for row in rows if row["line"] == 34] == ["line_too_long"]


async def test_embedded_counts_an_oversized_blank_line(emulator: RunningEmulator, tmp_path: Path) -> None:
    await assert_counts_every_line(service_settings(emulator.base_url, tmp_path))


@pytest.mark.redis
async def test_distributed_counts_an_oversized_blank_line(
    emulator: RunningEmulator, tmp_path: Path, redis_url: str
) -> None:
    emulator.config.update({"latency_ms": 50})  # the last line must not be the last one done by chance
    await assert_counts_every_line(service_settings(emulator.base_url, tmp_path, queue=redis_url))


async def raw_request(url: str, request: bytes) -> bytes:
    """Send raw bytes over a fresh connection (any header bytes at all); the answer's head and body."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        return head + await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("value", [b"Bearer \xff\xfe", b"Bearer \xed\xa0\x80", b"\xff", b"Bearer  "])
async def test_an_undecodable_authorization_header_is_a_401(
    emulator: RunningEmulator, tmp_path: Path, value: bytes
) -> None:
    async with started(service_settings(emulator.base_url, tmp_path)) as (service, _):
        with capture_logs() as logs:
            answer = await raw_request(
                service.url,
                b"GET /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: " + value + b"\r\nConnection: close\r\n\r\n",
            )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), answer
    assert b"application/json" in head
    assert orjson.loads(body)["error"]["code"] == "unauthorized"
    assert not [entry for entry in logs if entry["log_level"] in ("error", "critical")]


async def test_metrics_need_the_key_by_default(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path)) as (_, client):
        await wait_for_state(client, (await upload_large(client, tenant_lines("contoso-prod")))["id"])
        async with client.get("/metrics") as response:
            assert response.status == 401
            assert "contoso-prod" not in await response.text()
        async with client.get("/metrics", headers=AUTH) as response:
            assert response.status == 200
            assert 'lane="contoso-prod"' in await response.text()


async def test_public_metrics_hash_the_tenant_names(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path, metrics_public=True)) as (_, client):
        await wait_for_state(client, (await upload_large(client, tenant_lines("contoso-prod")))["id"])
        async with client.get("/metrics") as response:
            assert response.status == 200
            text = await response.text()
        async with client.get("/metrics") as response:
            again = await response.text()
    assert "contoso-prod" not in text
    hashed = {line.split('lane="', 1)[1].split('"', 1)[0] for line in text.splitlines() if 'lane="' in line}
    assert hashed
    assert all(name.startswith("t-") and len(name) == 18 for name in hashed)
    assert hashed <= {line.split('lane="', 1)[1].split('"', 1)[0] for line in again.splitlines() if 'lane="' in line}


def tenant_lines(tenant: str) -> bytes:
    return b"".join(
        orjson.dumps({"jobId": f"j{i}", "tenant": tenant, "body": {"action": "Update"}}) + b"\n" for i in range(3)
    )


SLOW_CLIENTS = 50


async def slow_client(url: str, stop: asyncio.Event) -> float | None:
    """Send a request's headers a byte every 0.2 s; how long until the server closed it (None: never)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    started_at = time.monotonic()
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000:
            if stop.is_set():
                return None
            writer.write(bytes([byte]))
            try:
                await writer.drain()
                if await asyncio.wait_for(reader.read(1), 0.2) == b"":  # closed by the server
                    return time.monotonic() - started_at
            except TimeoutError:
                continue
            except ConnectionError:
                return time.monotonic() - started_at
        return None
    finally:
        writer.close()


async def test_slow_headers_are_cut_off_and_connections_capped(emulator: RunningEmulator, tmp_path: Path) -> None:
    settings = service_settings(emulator.base_url, tmp_path, header_timeout_s=1.0, max_connections=20)
    stop = asyncio.Event()
    async with started(settings) as (service, client):
        clients = [asyncio.create_task(slow_client(service.url, stop)) for _ in range(SLOW_CLIENTS)]
        try:
            closed = await asyncio.wait_for(asyncio.gather(*clients), 60)
        finally:
            stop.set()
        async with client.get("/healthz") as response:  # the service still answers
            assert response.status == 200
    assert all(after is not None for after in closed)  # every slow client was disconnected
    assert sum(after < 0.9 for after in closed if after is not None) >= SLOW_CLIENTS - 20  # over the cap: at once
    assert max(after for after in closed if after is not None) < 30  # the rest after the header timeout


async def test_a_stalled_upload_body_is_a_408(emulator: RunningEmulator, tmp_path: Path) -> None:
    settings = service_settings(emulator.base_url, tmp_path, body_timeout_s=0.5)
    async with started(settings) as (service, _):
        answer = await raw_request(
            service.url,
            b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + API_KEY.encode()
            + b"\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\nConnection: close"
            + b'\r\n\r\n{"jobId": 1',
        )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert orjson.loads(body)["error"]["code"] == "request_timeout"
    assert not list((tmp_path / "uploads").glob("*"))  # nothing kept


async def test_the_lanes_of_idle_tenants_are_released(emulator: RunningEmulator, tmp_path: Path) -> None:
    settings = service_settings(emulator.base_url, tmp_path, lane_idle_s=0.5)
    body = b"".join(
        orjson.dumps({"jobId": f"j{t}", "tenant": f"tenant-{t}", "body": {"action": "Update"}}) + b"\n"
        for t in range(300)
    )
    async with started(settings) as (_, client):
        done = await wait_for_state(client, (await upload_large(client, body))["id"])

        async def released() -> bool:  # every tenant's lane dropped once idle
            return lane_series(await metrics_of(client)) == 0

        await until(released, "idle lanes released", timeout=20, every=0.1)
    assert done["state"] == "succeeded"


async def metrics_of(client: aiohttp.ClientSession) -> str:
    async with client.get("/metrics", headers=AUTH) as response:
        return await response.text()


def lane_series(text: str) -> int:
    return sum(line.startswith("patch_worker_lane_effective_rate{") for line in text.splitlines())
