"""PATCH answered like Graph: echo on success, 401/400/404/405 in Graph's error format, ids echoed."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import pytest

from worker.emulator import RunningEmulator
from worker.emulator.routes import MAX_BODY_BYTES

from .helpers import COLLECTION, SEED_REQUEST, TOKEN, graph_error, patch

SMALL_BODY = {"action": "Update", "durationInMilliseconds": 12}


@pytest.mark.parametrize("version", ["beta", "v1.0"])
async def test_collection_path_echoes_the_body_with_a_new_id(
    emulator: RunningEmulator, session: aiohttp.ClientSession, version: str
) -> None:
    reply = await patch(session, f"{emulator.url}/{version}{COLLECTION}", SMALL_BODY)

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    body = dict(reply.body)
    assert isinstance(body.pop("id"), str)
    assert body == SMALL_BODY


@pytest.mark.parametrize("version", ["beta", "v1.0"])
async def test_item_path_echoes_the_body_with_the_path_id(
    emulator: RunningEmulator, session: aiohttp.ClientSession, version: str
) -> None:
    reply = await patch(session, f"{emulator.url}/{version}{COLLECTION}/item-42", SMALL_BODY)

    assert reply.status == 200
    assert reply.body == {**SMALL_BODY, "id": "item-42"}
    assert emulator.requests()[-1].path == f"{COLLECTION}/item-42"
    assert emulator.requests()[-1].version == version


async def test_an_id_in_the_body_is_echoed_unchanged(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    reply = await patch(session, emulator.base_url + COLLECTION, {"id": "given", "action": "x"})

    assert reply.body == {"id": "given", "action": "x"}


async def test_seed_request_example_is_accepted_and_recorded_exactly(
    emulator: RunningEmulator, session: aiohttp.ClientSession, seed_body: dict[str, Any]
) -> None:
    reply = await patch(
        session,
        emulator.base_url + COLLECTION,
        raw=SEED_REQUEST.read_bytes(),
        headers={"client-request-id": "seed-1"},
    )

    assert reply.status == 200
    assert {key: value for key, value in reply.body.items() if key != "id"} == seed_body
    [record] = emulator.requests()
    assert (record.method, record.version, record.path) == ("PATCH", "beta", COLLECTION)
    assert (record.tenant, record.client_request_id, record.status) == ("contoso", "seed-1", 200)
    assert record.body == seed_body


async def test_client_request_id_is_echoed_and_request_id_added(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    reply = await patch(session, emulator.base_url + COLLECTION, SMALL_BODY, headers={"client-request-id": "abc-123"})

    assert reply.headers["client-request-id"] == "abc-123"
    assert len(reply.headers["request-id"]) == 36


async def test_without_client_request_id_the_request_id_stands_in(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    reply = await patch(session, emulator.base_url + COLLECTION, SMALL_BODY)

    assert reply.headers["client-request-id"] == reply.headers["request-id"]
    assert emulator.requests()[-1].client_request_id is None


async def test_missing_token_is_401_in_graph_format(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    reply = await patch(
        session, emulator.base_url + COLLECTION, SMALL_BODY, token=None, headers={"client-request-id": "c1"}
    )

    assert reply.status == 401
    error = graph_error(reply)
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["innerError"]["client-request-id"] == "c1"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwdw==", "Bearer", "Bearer   ", "emu.a.b"])
async def test_malformed_authorization_is_401(
    emulator: RunningEmulator, session: aiohttp.ClientSession, authorization: str
) -> None:
    reply = await patch(
        session,
        emulator.base_url + COLLECTION,
        SMALL_BODY,
        token=None,
        headers={"Authorization": authorization},
    )

    assert reply.status == 401
    assert graph_error(reply)["code"] == "InvalidAuthenticationToken"


async def test_only_accepted_tokens_pass_when_configured(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(accepted_tokens=["good-token"])

    wrong = await patch(session, emulator.base_url + COLLECTION, SMALL_BODY, token=TOKEN)
    right = await patch(session, emulator.base_url + COLLECTION, SMALL_BODY, token="good-token")

    assert wrong.status == 401
    assert graph_error(wrong)["code"] == "InvalidAuthenticationToken"
    assert right.status == 200


async def test_invalid_body_is_400_naming_each_field(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    body = {"durationInMilliseconds": "6", "notAProperty": 1}

    reply = await patch(session, emulator.base_url + COLLECTION, body)

    assert reply.status == 400
    error = graph_error(reply)
    assert error["code"] == "BadRequest"
    assert "durationInMilliseconds" in error["message"]
    assert "notAProperty" in error["message"]
    targets = {detail["target"] for detail in error["details"]}
    assert targets == {"durationInMilliseconds", "notAProperty"}
    assert emulator.requests()[-1].body == body


async def test_nested_field_errors_are_located(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    body = {"servicePrincipal": {"displayName": 5}}

    reply = await patch(session, emulator.base_url + COLLECTION, body)

    assert reply.status == 400
    assert [detail["target"] for detail in graph_error(reply)["details"]] == ["servicePrincipal.displayName"]


@pytest.mark.parametrize("raw", [b"", b"{not json", b'{"action": "x"', b"[" * 5000])
async def test_body_that_is_not_json_is_400(
    emulator: RunningEmulator, session: aiohttp.ClientSession, raw: bytes
) -> None:
    reply = await patch(session, emulator.base_url + COLLECTION, raw=raw)

    assert reply.status == 400
    assert graph_error(reply)["code"] == "BadRequest"
    assert emulator.requests()[-1].body is None


async def test_body_over_graphs_size_limit_is_413(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    raw = io.BytesIO(b'{"action": "' + b"x" * MAX_BODY_BYTES + b'"}')  # BytesIO: aiohttp warns on big bytes

    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with session.patch(emulator.base_url + COLLECTION, data=raw, headers=headers) as response:
        body = await response.json()

    assert response.status == 413
    assert body["error"]["code"] == "RequestEntityTooLarge"
    assert emulator.requests()[-1].status == 413


@pytest.mark.parametrize(
    "path", ["/beta/contacts/123", "/v2.0/auditLogs/provisioning", "/beta/auditLogs/provisioning/a/b", "/beta/"]
)
async def test_unknown_path_is_404_in_graph_format(
    emulator: RunningEmulator, session: aiohttp.ClientSession, path: str
) -> None:
    reply = await patch(session, emulator.url + path, SMALL_BODY)

    assert reply.status == 404
    assert graph_error(reply)["code"] == "Request_ResourceNotFound"


async def test_other_methods_are_405_in_graph_format(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    async with session.get(emulator.base_url + COLLECTION) as response:
        body = await response.json()

    assert response.status == 405
    assert response.headers["Allow"] == "PATCH"
    assert body["error"]["code"] == "Request_BadRequest"
