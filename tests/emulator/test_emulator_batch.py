"""`POST /{version}/$batch`: Graph's JSON batching, every item evaluated on its own like a single PATCH."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from worker.emulator import RunningEmulator
from worker.emulator.request_log import DROPPED

from .helpers import COLLECTION, SEED_REQUEST, TOKEN, Reply, batch_item, graph_error, patch, post_batch
from .retry_after_shapes import shape_of

BODY = {"action": "Update"}
INVALID = {"durationInMilliseconds": "6", "notAProperty": 1}


def _url(emulator: RunningEmulator, version: str = "beta") -> str:
    return f"{emulator.url}/{version}/$batch"


def _items(count: int, prefix: str = "c") -> list[dict[str, Any]]:
    return [batch_item(str(n), BODY, client_request_id=f"{prefix}{n}") for n in range(1, count + 1)]


def _by_id(reply: Reply) -> dict[str, dict[str, Any]]:
    assert reply.status == 200
    responses: list[dict[str, Any]] = reply.body["responses"]
    return {response["id"]: response for response in responses}


def _statuses(reply: Reply) -> list[int]:
    return [response["status"] for response in reply.body["responses"]]


def _item_error(response: dict[str, Any]) -> dict[str, Any]:
    """The `error` of a failed item, after checking it has Graph's error shape and the item's ids."""
    headers = response["headers"]
    assert headers["Content-Type"] == "application/json"
    error: dict[str, Any] = response["body"]["error"]
    assert isinstance(error["message"], str)
    assert error["innerError"]["request-id"] == headers["request-id"]
    assert error["innerError"]["client-request-id"] == headers["client-request-id"]
    return error


@pytest.mark.parametrize("version", ["beta", "v1.0"])
async def test_all_items_succeed_and_are_answered_in_request_order(
    emulator: RunningEmulator, session: aiohttp.ClientSession, version: str
) -> None:
    items = [
        batch_item("a", BODY, client_request_id="crid-a"),
        batch_item("b", {"action": "Create"}, url=f"{COLLECTION}/item-7", client_request_id="crid-b"),
        batch_item("c", {"id": "given", "action": "x"}, url=COLLECTION.lstrip("/")),  # no leading "/"
    ]

    reply = await post_batch(session, _url(emulator, version), {"requests": items}, headers={"client-request-id": "e"})

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["client-request-id"] == "e"
    responses = reply.body["responses"]
    assert [(r["id"], r["status"]) for r in responses] == [("a", 200), ("b", 200), ("c", 200)]
    first, second, third = responses
    assert first["body"]["action"] == "Update"
    assert isinstance(first["body"]["id"], str)
    assert second["body"] == {"action": "Create", "id": "item-7"}
    assert third["body"] == {"id": "given", "action": "x"}
    assert first["headers"]["Content-Type"] == "application/json"
    assert (first["headers"]["client-request-id"], second["headers"]["client-request-id"]) == ("crid-a", "crid-b")
    assert len({r["headers"]["request-id"] for r in responses} | {reply.headers["request-id"]}) == 4
    assert all("Retry-After" not in r["headers"] for r in responses)
    assert [record.version for record in emulator.requests()] == [version] * 3


async def test_items_are_recorded_one_by_one_like_single_patches(
    emulator: RunningEmulator, session: aiohttp.ClientSession, seed_body: dict[str, Any]
) -> None:
    items = [batch_item("1", seed_body, client_request_id="seed-1"), batch_item("2", INVALID, client_request_id="x")]
    await patch(session, emulator.base_url + COLLECTION, BODY, headers={"client-request-id": "single"})

    reply = await post_batch(session, _url(emulator), {"requests": items})

    single, seed, invalid = emulator.requests()
    assert (single.batch_id, single.item_id, single.via_batch) == (None, None, False)
    assert (seed.method, seed.version, seed.path, seed.tenant) == ("PATCH", "beta", COLLECTION, "contoso")
    assert (seed.client_request_id, seed.status, seed.body) == ("seed-1", 200, seed_body)
    assert (invalid.client_request_id, invalid.status, invalid.body) == ("x", 400, INVALID)
    assert seed.via_batch
    assert seed.batch_id == invalid.batch_id == reply.headers["request-id"]
    assert (seed.item_id, invalid.item_id) == ("1", "2")
    async with session.get(emulator.url + "/_emulator/requests") as response:
        listed = await response.json()
    assert [(r["client_request_id"], r["batch_id"], r["item_id"]) for r in listed] == [
        ("single", None, None),
        ("seed-1", seed.batch_id, "1"),
        ("x", seed.batch_id, "2"),
    ]
    stats = emulator.stats()
    assert (stats["total"], stats["by_status"], stats["batches"], stats["batch_items"]) == (
        3,
        {"200": 2, "400": 1},
        1,
        2,
    )
    assert stats["batches_by_status"] == {"200": 1}


async def test_seed_example_in_a_batch_is_echoed(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    payload = b'{"requests": [{"id": "1", "method": "PATCH", "url": "/auditLogs/provisioning", '
    payload += b'"headers": {"Content-Type": "application/json"}, "body": ' + SEED_REQUEST.read_bytes() + b"}]}"

    reply = await post_batch(session, _url(emulator), raw=payload)

    [response] = reply.body["responses"]
    assert response["status"] == 200
    assert response["body"]["activityDateTime"] == emulator.requests()[0].body["activityDateTime"]


async def test_distinct_and_duplicate_successes_count_items(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    await post_batch(session, _url(emulator), {"requests": _items(3)})
    await post_batch(session, _url(emulator), {"requests": _items(2)})  # c1 and c2 succeed a second time
    await patch(session, emulator.base_url + COLLECTION, BODY, headers={"client-request-id": "c3"})

    stats = emulator.stats()

    assert (stats["distinct_succeeded"], stats["duplicate_succeeded"]) == (3, 3)
    assert (stats["total"], stats["batches"], stats["batch_items"]) == (6, 2, 5)


async def test_mixed_batch_under_quota_throttles_items_with_their_own_retry_after(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.4, quota_burst=3, retry_after="fractional")

    reply = await post_batch(session, _url(emulator), {"requests": _items(5)})

    assert reply.status == 200
    assert "Retry-After" not in reply.headers
    responses = _by_id(reply)
    assert _statuses(reply) == [200, 200, 200, 429, 429]
    waits = []
    for item_id in ("4", "5"):
        throttled = responses[item_id]
        assert _item_error(throttled)["code"] == "TooManyRequests"
        assert throttled["headers"]["client-request-id"] == f"c{item_id}"
        kind, value = shape_of(throttled["headers"].get("Retry-After"))
        assert kind == "fractional"
        assert isinstance(value, float)
        waits.append(value)
    assert all(2.4 < wait <= 2.5 for wait in waits)
    assert emulator.stats()["throttled"] == 2
    assert [record.status for record in emulator.requests()] == [200, 200, 200, 429, 429]


async def test_throttled_items_follow_the_retry_after_format(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.1, quota_burst=1, retry_after="rotate")

    reply = await post_batch(session, _url(emulator), {"requests": _items(8)})

    kinds = [shape_of(r["headers"].get("Retry-After"))[0] for r in reply.body["responses"][1:]]
    assert kinds == ["seconds", "fractional", "http-date", "http-date", "garbage", "absent", "seconds"]


async def test_quota_counts_items_not_http_requests(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    emulator.configure(quota_per_s=0.01, quota_burst=5)

    reply = await post_batch(session, _url(emulator), {"requests": _items(8)})
    after = await patch(session, emulator.base_url + COLLECTION, BODY)

    assert _statuses(reply) == [200] * 5 + [429] * 3
    assert after.status == 429
    assert emulator.stats()["by_tenant"] == {"contoso": 9}


async def test_items_carry_the_throttle_percentage_past_80_percent(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.01, quota_burst=10)

    reply = await post_batch(session, _url(emulator), {"requests": _items(10)})

    values = [r["headers"].get("x-ms-throttle-limit-percentage") for r in reply.body["responses"]]
    assert values[:8] == [None] * 8
    assert [float(value or 0) for value in values[8:]] == pytest.approx([0.9, 1.0], abs=0.01)
    assert "x-ms-throttle-limit-percentage" not in reply.headers


async def test_an_invalid_item_is_400_next_to_successes(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    items = [batch_item("1", BODY), batch_item("2", INVALID, client_request_id="bad"), batch_item("3", BODY)]

    reply = await post_batch(session, _url(emulator), {"requests": items})

    assert _statuses(reply) == [200, 400, 200]
    error = _item_error(_by_id(reply)["2"])
    assert error["code"] == "BadRequest"
    assert {detail["target"] for detail in error["details"]} == {"durationInMilliseconds", "notAProperty"}
    assert _by_id(reply)["2"]["headers"]["client-request-id"] == "bad"


@pytest.mark.parametrize(
    "item",
    [
        {"id": "1", "method": "PATCH", "url": COLLECTION, "headers": {"Content-Type": "application/json"}},
        {"id": "1", "method": "PATCH", "url": COLLECTION, "body": BODY},
        {"id": "1", "method": "PATCH", "url": COLLECTION, "headers": {"Content-Type": "text/plain"}, "body": BODY},
    ],
    ids=["no-body", "no-content-type", "not-json-content-type"],
)
async def test_an_item_without_a_json_body_is_400(
    emulator: RunningEmulator, session: aiohttp.ClientSession, item: dict[str, Any]
) -> None:
    reply = await post_batch(session, _url(emulator), {"requests": [item, batch_item("2", BODY)]})

    assert _statuses(reply) == [400, 200]
    assert _item_error(_by_id(reply)["1"])["code"] == "BadRequest"


async def test_item_header_names_are_case_insensitive(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    item = {
        "id": "1",
        "method": "patch",
        "url": COLLECTION,
        "headers": {"content-type": "application/json; charset=utf-8", "Client-Request-Id": "mixed"},
        "body": BODY,
    }

    reply = await post_batch(session, _url(emulator), {"requests": [item]})

    assert _statuses(reply) == [200]
    assert emulator.requests()[0].client_request_id == "mixed"


async def test_unknown_paths_are_404_and_other_methods_405_per_item(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    items = [
        batch_item("1", BODY, url="/contacts/123"),
        batch_item("2", BODY, method="GET"),
        batch_item("3", BODY, url="/beta/auditLogs/provisioning"),  # relative to the version root already
        batch_item("4", BODY, url=COLLECTION + "/x?$select=id"),  # the query does not name the resource
    ]

    reply = await post_batch(session, _url(emulator), {"requests": items})

    assert _statuses(reply) == [404, 405, 404, 200]
    responses = _by_id(reply)
    assert _item_error(responses["1"])["code"] == "Request_ResourceNotFound"
    assert responses["2"]["headers"]["Allow"] == "PATCH"
    assert [(r.method, r.path, r.status) for r in emulator.requests()][:2] == [
        ("PATCH", "/contacts/123", 404),
        ("GET", COLLECTION, 405),
    ]


async def test_injected_errors_hit_items_one_by_one(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    emulator.configure(error_rate=1.0, error_retry_after=2.128, retry_after="fractional")

    reply = await post_batch(session, _url(emulator), {"requests": _items(3)})

    assert reply.status == 200
    assert _statuses(reply) == [503, 503, 503]
    for response in reply.body["responses"]:
        assert _item_error(response)["code"] == "ServiceUnavailable"
        assert shape_of(response["headers"]["Retry-After"]) == ("fractional", 2.128)


async def test_seeded_item_faults_give_a_mixed_batch_that_repeats_after_a_reset(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(error_rate=0.5, seed=42)

    first = _statuses(await post_batch(session, _url(emulator), {"requests": _items(20)}))
    emulator.reset()
    second = _statuses(await post_batch(session, _url(emulator), {"requests": _items(20)}))

    assert first == second
    assert set(first) == {200, 503}


async def test_a_failed_dependency_is_424(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    items = [
        batch_item("after-ok", BODY, depends_on=["ok"]),  # listed before what it depends on
        batch_item("ok", BODY),
        batch_item("bad", INVALID),
        batch_item("after-bad", BODY, depends_on=["bad"], client_request_id="d1"),
        batch_item("chained", BODY, depends_on=["after-bad"]),
        batch_item("both", BODY, depends_on=["ok", "bad"]),
        batch_item("free", BODY),
    ]

    reply = await post_batch(session, _url(emulator), {"requests": items})

    responses = _by_id(reply)
    assert [r["id"] for r in reply.body["responses"]] == [item["id"] for item in items]
    assert {item_id: r["status"] for item_id, r in responses.items()} == {
        "after-ok": 200,
        "ok": 200,
        "bad": 400,
        "after-bad": 424,
        "chained": 424,
        "both": 424,
        "free": 200,
    }
    assert _item_error(responses["after-bad"])["code"] == "FailedDependency"
    assert responses["after-bad"]["headers"]["client-request-id"] == "d1"
    # dependencies are evaluated first; dependants that fail are recorded, never validated
    recorded = [(r.item_id, r.status) for r in emulator.requests()]
    assert recorded.index(("ok", 200)) < recorded.index(("after-ok", 200))
    assert ("after-bad", 424) in recorded


async def test_a_throttled_dependency_fails_its_dependants(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.01, quota_burst=1)
    items = [batch_item("1", BODY), batch_item("2", BODY), batch_item("3", BODY, depends_on=["2"])]

    reply = await post_batch(session, _url(emulator), {"requests": items})

    assert _statuses(reply) == [200, 429, 424]


async def test_twenty_requests_are_allowed_and_more_are_400(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    twenty = await post_batch(session, _url(emulator), {"requests": _items(20)})
    too_many = await post_batch(session, _url(emulator), {"requests": _items(21)})

    assert _statuses(twenty) == [200] * 20
    assert too_many.status == 400
    error = graph_error(too_many)
    assert error["code"] == "BadRequest"
    assert "exceeds" in error["message"]
    assert "20" in error["message"]
    assert len(emulator.requests()) == 20  # the refused batch's items were never evaluated
    assert emulator.stats()["batches_by_status"] == {"200": 1, "400": 1}


def _item(**fields: Any) -> dict[str, Any]:
    return {**batch_item("1", BODY), **fields}


@pytest.mark.parametrize(
    ("payload", "raw"),
    [
        (None, b"not json"),
        (None, b"[" * 5000),
        ([], None),
        ({}, None),
        ({"requests": {}}, None),
        ({"requests": []}, None),
        ({"requests": ["x"]}, None),
        ({"requests": [batch_item("1", BODY), batch_item("1", BODY)]}, None),
        ({"requests": [_item(id=None)]}, None),
        ({"requests": [_item(id=1)]}, None),
        ({"requests": [_item(id="")]}, None),
        ({"requests": [_item(method=None)]}, None),
        ({"requests": [_item(url=None)]}, None),
        ({"requests": [_item(headers=["x"])]}, None),
        ({"requests": [_item(headers={"client-request-id": 5})]}, None),
        ({"requests": [_item(dependsOn="2")]}, None),
        ({"requests": [_item(dependsOn=["2"])]}, None),
        ({"requests": [_item(dependsOn=["1"])]}, None),
        ({"requests": [_item(id="1", dependsOn=["2"]), _item(id="2", dependsOn=["1"])]}, None),
    ],
    ids=[
        "not-json",
        "too-deep",
        "array",
        "no-requests",
        "requests-not-array",
        "empty",
        "item-not-object",
        "duplicate-ids",
        "no-id",
        "numeric-id",
        "empty-id",
        "no-method",
        "no-url",
        "headers-not-object",
        "header-not-string",
        "dependsOn-not-array",
        "dependsOn-unknown",
        "dependsOn-self",
        "dependsOn-cycle",
    ],
)
async def test_malformed_envelopes_are_400_as_a_whole(
    emulator: RunningEmulator, session: aiohttp.ClientSession, payload: Any, raw: bytes | None
) -> None:
    reply = await post_batch(session, _url(emulator), payload, raw=raw, headers={"client-request-id": "env"})

    assert reply.status == 400
    error = graph_error(reply)
    assert error["code"] == "BadRequest"
    assert error["innerError"]["client-request-id"] == "env"
    assert emulator.requests() == []
    assert emulator.stats()["batches_by_status"] == {"400": 1}


async def test_missing_token_is_401_for_the_whole_batch(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.01, quota_burst=1)

    refused = await post_batch(session, _url(emulator), {"requests": _items(2)}, token=None)
    allowed = await post_batch(session, _url(emulator), {"requests": _items(1)})

    assert refused.status == 401
    assert graph_error(refused)["code"] == "InvalidAuthenticationToken"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert _statuses(allowed) == [200]  # the refused items spent no quota
    # each item is recorded with the answer its HTTP request got, as single PATCHes would be
    assert [(r.client_request_id, r.status) for r in emulator.requests()] == [("c1", 401), ("c2", 401), ("c1", 200)]


async def test_only_accepted_tokens_pass(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    emulator.configure(accepted_tokens=["good"])

    wrong = await post_batch(session, _url(emulator), {"requests": _items(1)}, token=TOKEN)
    right = await post_batch(session, _url(emulator), {"requests": _items(1)}, token="good")

    assert (wrong.status, right.status) == (401, 200)
    assert emulator.requests()[-1].tenant == "default"


async def test_the_tenant_comes_from_the_batch_token(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    emulator.configure(quota_per_s=0.01, quota_burst=2)

    first = await post_batch(session, _url(emulator), {"requests": _items(3)}, token="emu.a.x")
    second = await post_batch(session, _url(emulator), {"requests": _items(3)}, token="emu.b.x")

    assert _statuses(first) == _statuses(second) == [200, 200, 429]
    assert emulator.stats()["by_tenant"] == {"a": 3, "b": 3}


async def test_batch_error_rate_answers_the_whole_batch_with_an_error(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(batch_error_rate=1.0, error_retry_after=3, quota_per_s=0.01, quota_burst=2)

    reply = await post_batch(session, _url(emulator), {"requests": _items(2)})
    emulator.configure(batch_error_rate=0.0)
    after = await post_batch(session, _url(emulator), {"requests": _items(2)})

    assert reply.status == 503
    assert graph_error(reply)["code"] == "ServiceUnavailable"
    assert shape_of(reply.headers.get("Retry-After")) == ("seconds", 3)
    assert _statuses(after) == [200, 200]  # the failed envelope spent no quota
    stats = emulator.stats()
    assert stats["batches_by_status"] == {"200": 1, "503": 1}
    assert stats["by_status"] == {"200": 2, "503": 2}


@pytest.mark.parametrize(("status", "code"), [(500, "InternalServerError"), (502, "BadGateway")])
async def test_batch_errors_use_the_error_status(
    emulator: RunningEmulator, session: aiohttp.ClientSession, status: int, code: str
) -> None:
    emulator.configure(batch_error_rate=1.0, error_status=status)

    reply = await post_batch(session, _url(emulator), {"requests": _items(1)})

    assert reply.status == status
    assert graph_error(reply)["code"] == code
    assert "Retry-After" not in reply.headers


async def test_single_patches_ignore_batch_error_rate(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(batch_error_rate=1.0)

    assert (await patch(session, emulator.base_url + COLLECTION, BODY)).status == 200


async def test_reset_drops_the_whole_batch_connection(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(reset_rate=1.0)

    with pytest.raises(aiohttp.ClientConnectionError) as caught:
        await post_batch(session, _url(emulator), {"requests": _items(3)})
    emulator.configure(reset_rate=0.0)
    after = await post_batch(session, _url(emulator), {"requests": _items(1)})

    assert isinstance(caught.value, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)
    assert _statuses(after) == [200]
    dropped = emulator.requests(status=DROPPED)
    assert [record.client_request_id for record in dropped] == ["c1", "c2", "c3"]
    stats = emulator.stats()
    assert (stats["dropped"], stats["batches_by_status"], stats["in_flight"]) == (3, {"0": 1, "200": 1}, 0)


async def test_latency_is_paid_once_per_batch_not_per_item(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    await post_batch(session, _url(emulator), {"requests": _items(1)})  # connect first
    emulator.configure(latency_ms=50)

    started = time.monotonic()
    reply = await post_batch(session, _url(emulator), {"requests": _items(20)})
    elapsed = time.monotonic() - started

    assert _statuses(reply) == [200] * 20
    assert 0.05 <= elapsed < 0.3  # 20 single PATCHes in a row would take 1 s


async def test_concurrent_batches_count_as_http_requests_in_flight(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(latency_ms=100)

    replies = await asyncio.gather(*(post_batch(session, _url(emulator), {"requests": _items(5)}) for _ in range(4)))

    assert all(_statuses(reply) == [200] * 5 for reply in replies)
    stats = emulator.stats()
    assert (stats["max_in_flight"], stats["in_flight"], stats["batches"], stats["total"]) == (4, 0, 4, 20)


async def test_unknown_version_is_404(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    reply = await post_batch(session, _url(emulator, "v2.0"), {"requests": _items(2)})

    assert reply.status == 404
    assert graph_error(reply)["code"] == "Request_ResourceNotFound"
    assert [record.status for record in emulator.requests()] == [404, 404]


async def test_other_methods_on_batch_are_405(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    async with session.get(_url(emulator)) as response:
        body = await response.json()

    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert body["error"]["code"] == "Request_BadRequest"
    assert emulator.stats()["batches"] == 0
