"""Quota models over real HTTP: each shape refuses with a Retry-After that is never early, app and tenant
rules together, x-ms-resource-unit, the throttle header switch, combined Retry-After, config by PUT."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from worker.emulator import RunningEmulator

from .helpers import COLLECTION, Reply, patch, post_batch
from .retry_after_shapes import shape_of

BODY = {"action": "Update"}


async def _put_config(session: aiohttp.ClientSession, emulator: RunningEmulator, changes: Any) -> tuple[int, Any]:
    async with session.put(emulator.url + "/_emulator/config", data=orjson.dumps(changes)) as response:
        return response.status, orjson.loads(await response.read())


async def _send(session: aiohttp.ClientSession, emulator: RunningEmulator, count: int, tenant: str) -> list[Reply]:
    url = emulator.base_url + COLLECTION
    return [await patch(session, url, BODY, token=f"emu.{tenant}.x") for _ in range(count)]


def _statuses(replies: list[Reply]) -> list[int]:
    return [reply.status for reply in replies]


def _wait_of(reply: Reply) -> float:
    kind, value = shape_of(reply.headers.get("Retry-After"))
    assert kind in {"seconds", "fractional"}
    assert isinstance(value, int | float)
    return float(value)


@pytest.mark.parametrize("model", ["fixed-window", "sliding-window", "token-bucket"])
async def test_each_model_refuses_past_its_limit_and_admits_after_the_retry_after(
    emulator: RunningEmulator, session: aiohttp.ClientSession, model: str
) -> None:
    # 4 per 1.6 s; a request sent exactly after the advertised wait must pass, however loaded the machine
    changes = {"quota_per_s": 2.5, "quota_window_s": 1.6, "quota_model": model, "retry_after": "fractional"}
    status, _ = await _put_config(session, emulator, changes)
    assert status == 200

    replies = await _send(session, emulator, 5, "a")

    assert _statuses(replies) == [200] * 4 + [429]
    wait = _wait_of(replies[-1])
    assert 0 < wait <= 1.6
    await asyncio.sleep(wait)  # waiting out the advertised wait is the behaviour under test
    assert _statuses(await _send(session, emulator, 1, "a")) == [200]


async def test_fixed_window_refuses_until_the_window_ends_then_admits_a_whole_window(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=2.5, quota_window_s=1.2, quota_model="fixed-window", retry_after="fractional")

    first = await _send(session, emulator, 4, "a")
    await asyncio.sleep(_wait_of(first[-1]))  # waiting out the window is the behaviour under test
    second = await _send(session, emulator, 4, "a")

    assert _statuses(first) == [200, 200, 200, 429]
    # a new window: three more pass (unless the machine is so slow that a further window began meanwhile)
    assert _statuses(second)[:3] == [200, 200, 200]


async def test_app_quota_spans_tenants_and_tenant_quota_stays_per_tenant(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    status, config = await _put_config(
        session,
        emulator,
        {
            "quotas": [
                {"model": "fixed-window", "limit": 2, "window_s": 60, "per": "tenant"},
                {"model": "fixed-window", "limit": 5, "window_s": 60, "per": "app"},
            ]
        },
    )
    assert status == 200
    assert [rule["per"] for rule in config["quotas"]] == ["tenant", "app"]

    a = await _send(session, emulator, 3, "a")
    b = await _send(session, emulator, 2, "b")
    c = await _send(session, emulator, 2, "c")

    assert (_statuses(a), _statuses(b), _statuses(c)) == ([200, 200, 429], [200, 200], [200, 429])
    stats = emulator.stats()["by_tenant_status"]
    assert stats == {"a": {"200": 2, "429": 1}, "b": {"200": 2}, "c": {"200": 1, "429": 1}}


async def test_every_answer_carries_the_resource_unit_cost(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.01, quota_burst=6, resource_unit_cost=3)

    replies = await _send(session, emulator, 3, "a")

    assert _statuses(replies) == [200, 200, 429]
    assert [reply.headers["x-ms-resource-unit"] for reply in replies] == ["3", "3", "3"]


async def test_batch_items_carry_the_resource_unit_cost(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.01, quota_burst=2, resource_unit_cost=2)
    items = [
        {
            "id": str(n),
            "method": "PATCH",
            "url": COLLECTION,
            "body": BODY,
            "headers": {"Content-Type": "application/json"},
        }
        for n in range(2)
    ]

    reply = await post_batch(session, emulator.base_url + "/$batch", {"requests": items})

    answers = {item["id"]: item for item in reply.body["responses"]}
    assert (answers["0"]["status"], answers["1"]["status"]) == (200, 429)
    assert {answers[n]["headers"]["x-ms-resource-unit"] for n in "01"} == {"2"}


async def test_throttle_header_reports_the_most_used_rule_and_can_be_switched_off(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    # 10 per 100 s per tenant (the most used), 1000/s for the app
    emulator.configure(quota_per_s=0.1, quota_window_s=100, quota_model="fixed-window", app_quota_per_s=1000)

    on = await _send(session, emulator, 10, "a")
    emulator.reset()
    emulator.configure(throttle_header=False)
    off = await _send(session, emulator, 10, "a")

    values = [reply.headers.get("x-ms-throttle-limit-percentage") for reply in on]
    assert values[:8] == [None] * 8
    assert values[8:] == ["0.900", "1.000"]
    assert all("x-ms-throttle-limit-percentage" not in reply.headers for reply in off)


async def test_throttle_scope_names_the_limit_that_refused_when_switched_on(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    # 2 per 100 s per tenant, 3 per 100 s for the app: tenant a is refused by its own limit, then b by the app's
    emulator.configure(
        quota_per_s=0.02, quota_window_s=100, quota_model="fixed-window", app_quota_per_s=0.03, app_quota_window_s=100
    )
    off = await _send(session, emulator, 3, "a")
    emulator.reset()
    emulator.configure(throttle_scope=True)

    own = await _send(session, emulator, 3, "a")
    app = await _send(session, emulator, 2, "b")

    assert _statuses(off) == _statuses(own) == [200, 200, 429]
    assert "x-ms-throttle-scope" not in off[2].headers
    assert _statuses(app) == [200, 429]
    tenant_scope = own[2].headers["x-ms-throttle-scope"].split("/")
    app_scope = app[1].headers["x-ms-throttle-scope"].split("/")
    assert (tenant_scope[0], tenant_scope[1], tenant_scope[3]) == ("Tenant_Application", "Write", "a")
    assert (app_scope[0], app_scope[3]) == ("Application", "b")
    assert tenant_scope[2] == app_scope[2]  # one app
    assert app[1].headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert all("x-ms-throttle-scope" not in reply.headers for reply in [*own[:2], app[0]])


async def test_combined_retry_after_joins_two_values_the_larger_never_early(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.4, retry_after="combined")

    replies = await _send(session, emulator, 2, "a")

    assert _statuses(replies) == [200, 429]
    assert replies[1].headers["Retry-After"] == "3,12"


async def test_bad_quota_config_is_refused_whole_with_a_clear_message(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    status, body = await _put_config(
        session, emulator, {"quota_per_s": 3, "quota_burst": 2, "resource_unit_cost": 3, "latency_ms": 9}
    )

    assert status == 400
    assert "resource_unit_cost 3: no request could ever pass" in body["error"]["message"]
    assert (emulator.config.quota_per_s, emulator.config.latency_ms) == (None, 0.0)
