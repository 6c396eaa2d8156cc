"""The page's routes over HTTP: no data without the key, result lines paged from the server, the state filter."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.conftest import EXAMPLES
from tests.service.helpers import AUTH, numbered, service_settings, started, upload, wait_for_state
from worker.emulator.running import RunningEmulator
from worker.service.web.lines import lines_page


async def get_json(client: aiohttp.ClientSession, path: str, status: int = 200) -> dict[str, Any]:
    async with client.get(path, headers=AUTH) as response:
        assert response.status == status, await response.text()
        found: dict[str, Any] = await response.json()
        return found


async def test_the_page_is_public_and_every_data_route_needs_the_key(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path)) as (_service, client):
        batch = await upload(client, numbered(3))
        for path in ("/v1/lanes", f"/v1/batches/{batch['id']}/lines", "/v1/batches?state=running"):
            async with client.get(path) as response:
                assert response.status == 401
                assert (await response.json())["error"]["code"] == "unauthorized"
            async with client.get(path, headers={"Authorization": "Bearer wrong"}) as response:
                assert response.status == 401
        async with client.get("/") as response:
            assert response.status == 200
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            assert '<script src="/ui/app.js"' in await response.text()
        for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
            async with client.get(f"/ui/{name}") as response:
                assert response.status == 200
                assert response.content_type == kind
        async with client.get("/ui/..%2Fapi.py") as response:
            assert response.status == 404


async def test_rejected_lines_page_by_cursor_and_filter(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path)) as (_service, client):
        batch = await upload(client, EXAMPLES.read_bytes())
        final = await wait_for_state(client, batch["id"])
        lines = f"/v1/batches/{batch['id']}/lines"
        everything = await get_json(client, f"{lines}?status=rejected&limit=500")
        rejected = everything["lines"]
        assert isinstance(rejected, list)
        assert len(rejected) == final["counts"]["rejected"] > 3
        assert everything["next"] is None
        first = await get_json(client, f"{lines}?status=rejected&limit=2")
        assert first["lines"] == rejected[:2]
        second = await get_json(client, str(first["next"]))
        assert second["lines"] == rejected[2:4]
        assert {row["status"] for row in rejected} == {"rejected"}
        succeeded = await get_json(client, f"{lines}?status=succeeded")
        assert len(succeeded["lines"]) == final["counts"]["succeeded"]
        for query in ("status=bogus", "limit=0", "limit=501", "cursor=-1"):
            error = await get_json(client, f"{lines}?{query}", 400)
            assert error["error"]["code"] == "bad_request"
        await get_json(client, "/v1/batches/0123456789abcdef0123456789abcdef/lines", 404)


async def test_the_list_filters_by_state_across_pages(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path)) as (_service, client):
        ids = [(await upload(client, numbered(1)))["id"] for _ in range(5)]
        for batch_id in ids:
            await wait_for_state(client, batch_id)
        page = await get_json(client, "/v1/batches?state=succeeded&limit=2")
        seen = [batch["id"] for batch in page["batches"]]
        while page["next"]:
            assert "state=succeeded" in str(page["next"])
            page = await get_json(client, str(page["next"]))
            seen += [batch["id"] for batch in page["batches"]]
        assert seen == ids[::-1]
        none = await get_json(client, "/v1/batches?state=running,queued")
        assert none["batches"] == []
        error = await get_json(client, "/v1/batches?state=done", 400)
        assert "succeeded" in error["error"]["message"]


async def test_lanes_report_rates_and_history(emulator: RunningEmulator, tmp_path: Path) -> None:
    async with started(service_settings(emulator.base_url, tmp_path)) as (_service, client):
        await wait_for_state(client, (await upload(client, numbered(20)))["id"])
        lanes = await get_json(client, "/v1/lanes")
        (lane,) = lanes["lanes"]
        assert lane["lane"] == "default"
        assert lane["succeeded"] == 20
        assert lane["inFlight"] == 0
        assert isinstance(lane["history"], list)
        latency = lane["latencyMs"]  # the latest round trips' percentiles, in milliseconds
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] < 10_000


async def chunks(lines: list[bytes], size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(lines), size):
        yield b"".join(lines[start : start + size])


@pytest.mark.parametrize("size", [1, 3, 1000])
async def test_lines_page_counts_lines_across_any_chunking(size: int) -> None:
    rows = [orjson.dumps({"line": i, "status": "failed" if i % 3 == 0 else "succeeded"}) + b"\n" for i in range(1, 31)]
    page = await lines_page(chunks(rows, size), frozenset({"failed"}), 4, 0)
    assert [row["line"] for row in page.lines] == [3, 6, 9, 12]
    after = await lines_page(chunks(rows, size), frozenset({"failed"}), 4, page.next or 0)
    assert [row["line"] for row in after.lines] == [15, 18, 21, 24]
    last = await lines_page(chunks(rows, size), frozenset({"failed"}), 4, after.next or 0)
    assert ([row["line"] for row in last.lines], last.next) == ([27, 30], None)


async def test_a_gzip_upload_as_the_page_sends_it(emulator: RunningEmulator, tmp_path: Path) -> None:
    """The page sends a .gz file as it is, with `Content-Encoding: gzip`: the service counts its lines."""
    headers = {**AUTH, "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
    async with started(service_settings(emulator.base_url, tmp_path)) as (_service, client):
        async with client.post("/v1/batches", data=gzip.compress(numbered(3)), headers=headers) as response:
            assert response.status == 202, await response.text()
            batch_id = (await response.json())["id"]
        final = await wait_for_state(client, batch_id)
        assert (final["total"], final["counts"]["succeeded"]) == (3, 3)


def test_the_page_weighs_under_200_kib() -> None:
    """HTML + JS + CSS, everything the page loads (no CDN, no other request)."""
    static = Path(__file__).resolve().parents[2] / "worker" / "service" / "web" / "static"
    weight = sum(path.stat().st_size for path in static.iterdir())
    assert weight < 200 * 1024
    assert "http" not in (static / "index.html").read_text().replace("http-equiv", "")
