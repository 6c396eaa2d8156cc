"""The /_emulator/ endpoints: health, recorded requests, stats, reset, and knobs changed at runtime."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from worker.emulator import RunningEmulator

from .helpers import COLLECTION, patch

BODY = {"action": "Update"}


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        assert response.status == 200
        return await response.json()


async def _put_config(session: aiohttp.ClientSession, url: str, data: bytes) -> tuple[int, Any]:
    async with session.put(url + "/_emulator/config", data=data) as response:
        return response.status, await response.json()


async def test_health(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    assert await _get(session, emulator.url + "/_emulator/health") == {"status": "ok"}


async def test_config_is_read_and_changed_at_runtime(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    url = emulator.base_url + COLLECTION
    before = await _get(session, emulator.url + "/_emulator/config")
    assert (before["error_rate"], before["retry_after"], before["accepted_tokens"]) == (0.0, "seconds", None)

    status, after = await _put_config(session, emulator.url, b'{"error_rate": 1, "accepted_tokens": ["t"]}')
    faulty = await patch(session, url, BODY, token="t")
    await _put_config(session, emulator.url, b'{"error_rate": 0}')
    healthy = await patch(session, url, BODY, token="t")

    assert status == 200
    assert (after["error_rate"], after["accepted_tokens"]) == (1.0, ["t"])
    assert (faulty.status, healthy.status) == (503, 200)
    assert emulator.config.accepted_tokens == frozenset({"t"})


@pytest.mark.parametrize(
    "data",
    [
        b'{"error_rate": 0.5, "latency_ms": -1}',
        b'{"error_rate": 0.5, "no_such_knob": 1}',
        b'{"error_rate": 0.5, "retry_after": "later"}',
        b'{"error_rate": 0.5, "error_status": 418}',
        b'{"error_rate": true}',
        b'{"error_rate": 0.5, "quota_burst": 0.5}',
        b"[1, 2]",
        b"not json",
    ],
)
async def test_bad_config_is_400_and_changes_nothing(
    emulator: RunningEmulator, session: aiohttp.ClientSession, data: bytes
) -> None:
    status, body = await _put_config(session, emulator.url, data)

    assert status == 400
    assert body["error"]["code"] == "BadRequest"
    assert emulator.config.error_rate == 0.0


async def test_requests_are_listed_with_filters(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    url = emulator.base_url + COLLECTION
    for index in range(4):
        await patch(session, url, BODY, token=f"emu.t{index % 2}.x", headers={"client-request-id": f"c{index}"})
    await patch(session, url, BODY, token=None)

    everything = await _get(session, emulator.url + "/_emulator/requests")
    only_401 = await _get(session, emulator.url + "/_emulator/requests?status=401")
    last_two = await _get(session, emulator.url + "/_emulator/requests?status=200&limit=2")
    tenant = await _get(session, emulator.url + "/_emulator/requests?tenant=t1")

    assert [item["client_request_id"] for item in everything] == ["c0", "c1", "c2", "c3", None]
    assert everything[0] == {
        "method": "PATCH",
        "version": "beta",
        "path": COLLECTION,
        "tenant": "t0",
        "client_request_id": "c0",
        "status": 200,
        "body": BODY,
        "time": everything[0]["time"],
        "batch_id": None,
        "item_id": None,
    }
    assert [(item["status"], item["body"]) for item in only_401] == [(401, None)]
    assert [item["client_request_id"] for item in last_two] == ["c2", "c3"]
    assert [item["client_request_id"] for item in tenant] == ["c1", "c3"]
    assert everything[0]["time"] <= everything[-1]["time"]


@pytest.mark.parametrize("query", ["status=ok", "limit=-1"])
async def test_bad_request_filters_are_400(
    emulator: RunningEmulator, session: aiohttp.ClientSession, query: str
) -> None:
    async with session.get(f"{emulator.url}/_emulator/requests?{query}") as response:
        assert response.status == 400


async def test_stats_count_statuses_tenants_and_successes(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    url = emulator.base_url + COLLECTION
    emulator.configure(quota_per_s=0.1, quota_burst=3)
    for crid in ["a", "b", "a"]:  # "a" succeeds twice: a duplicate
        await patch(session, url, BODY, token="emu.x.1", headers={"client-request-id": crid})
    await patch(session, url, BODY, token="emu.x.1", headers={"client-request-id": "c"})
    await patch(session, url, BODY, token="emu.y.1", headers={"client-request-id": "d"})
    await patch(session, url, raw=b"{", token="emu.y.1")

    stats = await _get(session, emulator.url + "/_emulator/stats")

    assert stats == {
        "total": 6,
        "by_status": {"200": 4, "400": 1, "429": 1},
        "by_tenant": {"x": 4, "y": 2},
        "by_tenant_status": {"x": {"200": 3, "429": 1}, "y": {"200": 1, "400": 1}},
        "throttled": 1,
        "dropped": 0,
        "in_flight": 0,
        "max_in_flight": 1,
        "distinct_succeeded": 3,
        "duplicate_succeeded": 1,
        "recorded": 6,
        "batches": 0,
        "batches_by_status": {},
        "batch_items": 0,
        "token_requests": {},
    }


async def test_max_in_flight_measures_client_concurrency(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(latency_ms=250)

    await asyncio.gather(*(patch(session, emulator.base_url + COLLECTION, BODY) for _ in range(12)))

    assert emulator.stats()["max_in_flight"] == 12
    assert emulator.stats()["in_flight"] == 0


async def test_reset_clears_records_counters_and_buckets(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    url = emulator.base_url + COLLECTION
    emulator.configure(quota_per_s=0.1)
    assert [(await patch(session, url, BODY)).status for _ in range(2)] == [200, 429]

    async with session.post(emulator.url + "/_emulator/reset") as response:
        assert response.status == 200
    cleared = await _get(session, emulator.url + "/_emulator/stats")
    after = await patch(session, url, BODY)

    assert (cleared["total"], cleared["recorded"], cleared["by_status"], cleared["max_in_flight"]) == (
        0,
        0,
        {},
        0,
    )
    assert after.status == 200
    assert len(emulator.requests()) == 1


async def test_record_limit_keeps_only_the_most_recent(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(record_limit=5)
    url = emulator.base_url + COLLECTION

    for index in range(12):
        await patch(session, url, BODY, headers={"client-request-id": f"c{index}"})

    assert [record.client_request_id for record in emulator.requests()] == [f"c{i}" for i in range(7, 12)]
    assert (emulator.stats()["total"], emulator.stats()["recorded"]) == (12, 5)

    emulator.configure(record_limit=2)
    await patch(session, url, BODY, headers={"client-request-id": "c12"})

    assert [record.client_request_id for record in emulator.requests()] == ["c11", "c12"]
