"""The directory's resources (204, any JSON object) and throttling scopes: each scope's quota rules count
only its own requests, and Graph's documented limits scale for tests."""

from __future__ import annotations

import aiohttp
import pytest

from tests.fake_clock import FakeClock
from worker.emulator import EmulatorConfig, RunningEmulator
from worker.emulator.graph_limits import graph_rules
from worker.emulator.quota import Quotas
from worker.emulator.resources import DIRECTORY, REPORTS
from worker.emulator.rules import QuotaRule, RuleError, rule_from_json

from .helpers import COLLECTION, batch_item, graph_error, patch, post_batch

USER_BODY = {"department": "Finance", "jobTitle": "Analyst"}
GUID = "8a7b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


@pytest.mark.parametrize(
    "path",
    [
        "/v1.0/users/adele.vance@contoso.com",
        f"/beta/users/{GUID}",
        f"/v1.0/groups/{GUID}",
        f"/beta/devices/{GUID}",
        f"/v1.0/applications/{GUID}",
        f"/beta/servicePrincipals/{GUID}",
    ],
)
async def test_a_directory_patch_is_recorded_and_answered_204(
    emulator: RunningEmulator, session: aiohttp.ClientSession, path: str
) -> None:
    reply = await patch(session, emulator.url + path, USER_BODY, headers={"client-request-id": "c-1"})

    assert reply.status == 204
    assert reply.body is None
    assert reply.headers["x-ms-resource-unit"] == "1"
    [recorded] = emulator.requests()
    assert recorded.body == USER_BODY
    assert emulator.stats()["distinct_succeeded"] == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [([1, 2], "model_type"), ({"@odata.type": "#microsoft.graph.group"}, "literal_error")],
)
async def test_a_directory_body_must_be_an_object_of_its_own_type(
    emulator: RunningEmulator, session: aiohttp.ClientSession, body: object, code: str
) -> None:
    reply = await patch(session, emulator.base_url + f"/users/{GUID}", body)

    assert reply.status == 400
    assert graph_error(reply)["details"][0]["code"] == code


async def test_an_unknown_collection_or_a_missing_id_is_not_found(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    assert (await patch(session, emulator.base_url + f"/contacts/{GUID}", USER_BODY)).status == 404
    assert (await patch(session, emulator.base_url + "/users", USER_BODY)).status == 404


def test_a_scoped_rule_counts_only_its_scope() -> None:
    clock = FakeClock()
    rule = QuotaRule("fixed-window", 2, 10.0, scope=REPORTS)
    quotas = Quotas(EmulatorConfig(quotas=(rule,)), clock)

    assert [quotas.try_acquire("t", REPORTS) for _ in range(2)] == [None, None]
    assert quotas.try_acquire("t", REPORTS) == pytest.approx(10.0)
    assert all(quotas.try_acquire("t", DIRECTORY) is None for _ in range(50))  # another scope: not counted
    assert quotas.try_acquire("u", REPORTS) is None  # another tenant: its own counter


def test_an_unscoped_rule_counts_every_scope() -> None:
    quotas = Quotas(EmulatorConfig(quota_per_s=1.0, quota_burst=2.0), FakeClock())

    assert quotas.try_acquire("t", REPORTS) is None
    assert quotas.try_acquire("t", DIRECTORY) is None
    assert quotas.try_acquire("t", DIRECTORY) is not None


def test_a_rule_takes_its_scope_from_json_and_refuses_an_empty_one() -> None:
    rule = rule_from_json({"model": "sliding-window", "limit": 3000, "window_s": 150, "scope": DIRECTORY})
    assert rule.scope == DIRECTORY
    assert rule.to_dict()["scope"] == DIRECTORY
    with pytest.raises(RuleError, match="scope"):
        rule_from_json({"model": "fixed-window", "limit": 5, "scope": ""})


async def test_the_scopes_throttle_apart_over_http(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    emulator.configure(quotas=[{"model": "fixed-window", "limit": 2, "window_s": 60, "scope": REPORTS}])

    reports = [await patch(session, emulator.base_url + COLLECTION, {"action": "Update"}) for _ in range(3)]
    users = [await patch(session, emulator.base_url + f"/users/{GUID}", USER_BODY) for _ in range(20)]

    assert [reply.status for reply in reports] == [200, 200, 429]
    assert {reply.status for reply in users} == {204}


async def test_a_batch_item_on_the_directory_is_204_without_a_body(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    items = [batch_item("1", USER_BODY, url=f"/users/{GUID}"), batch_item("2", {"action": "Update"})]
    reply = await post_batch(session, emulator.base_url + "/$batch", {"requests": items})

    assert reply.status == 200
    by_id = {item["id"]: item for item in reply.body["responses"]}
    assert by_id["1"]["status"] == 204
    assert "body" not in by_id["1"]
    assert by_id["2"]["status"] == 200


def test_graph_limits_are_documented_shapes_and_scale() -> None:
    full = {(rule.scope, rule.per, rule.model, rule.limit, rule.window_s) for rule in graph_rules(tenant_size="small")}
    assert full == {
        (DIRECTORY, "tenant", "token-bucket", 3500, 10.0),
        (DIRECTORY, "tenant", "sliding-window", 3000, 150.0),
        (DIRECTORY, "app", "sliding-window", 35000, 300.0),
        (DIRECTORY, "tenant", "sliding-window", 18000, 300.0),
        (REPORTS, "tenant", "fixed-window", 5, 10.0),
        (REPORTS, "app", "fixed-window", 122, 10.0),
    }
    scaled = graph_rules(time_scale=10, count_scale=0.1)
    writes = next(rule for rule in scaled if rule.scope == DIRECTORY and rule.limit == 300)
    assert writes.window_s == 15.0
    assert min(rule.limit for rule in scaled) == 1  # 5 per 10 s scaled to 0.5: never below one request
