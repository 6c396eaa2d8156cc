"""Injected faults: latency, 5xx with optional Retry-After, dropped connections, and the order of checks."""

from __future__ import annotations

import time

import aiohttp
import pytest

from worker.emulator import RunningEmulator
from worker.emulator.request_log import DROPPED

from .helpers import COLLECTION, graph_error, patch
from .retry_after_shapes import shape_of

BODY = {"action": "Update"}


async def test_latency_delays_every_answer(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    url = emulator.base_url + COLLECTION
    await patch(session, url, BODY)  # connect first, so only the server's delay is timed
    emulator.configure(latency_ms=60)

    started = time.monotonic()
    reply = await patch(session, url, BODY)
    elapsed = time.monotonic() - started

    assert reply.status == 200
    assert elapsed >= 0.06


async def test_latency_applies_to_refusals_too(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    emulator.configure(latency_ms=60)

    started = time.monotonic()
    reply = await patch(session, emulator.base_url + COLLECTION, BODY, token=None)

    assert reply.status == 401
    assert time.monotonic() - started >= 0.06


async def test_error_rate_one_answers_every_request_with_503(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(error_rate=1.0)

    replies = [await patch(session, emulator.base_url + COLLECTION, BODY) for _ in range(5)]

    assert [reply.status for reply in replies] == [503] * 5
    for reply in replies:
        assert graph_error(reply)["code"] == "ServiceUnavailable"
        assert "Retry-After" not in reply.headers


async def test_injected_errors_carry_retry_after_when_configured(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(error_rate=1.0, error_retry_after=2.128, retry_after="fractional")

    reply = await patch(session, emulator.base_url + COLLECTION, BODY)

    assert reply.status == 503
    assert shape_of(reply.headers.get("Retry-After")) == ("fractional", 2.128)


@pytest.mark.parametrize(
    ("status", "code"), [(500, "InternalServerError"), (502, "BadGateway"), (504, "GatewayTimeout")]
)
async def test_error_status_is_configurable(
    emulator: RunningEmulator, session: aiohttp.ClientSession, status: int, code: str
) -> None:
    emulator.configure(error_rate=1.0, error_status=status, error_retry_after=3)

    reply = await patch(session, emulator.base_url + COLLECTION, BODY)

    assert reply.status == status
    assert graph_error(reply)["code"] == code
    assert shape_of(reply.headers.get("Retry-After")) == ("seconds", 3)


async def test_seeded_faults_repeat_after_a_reset(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    emulator.configure(error_rate=0.5, seed=42)
    url = emulator.base_url + COLLECTION

    first = [(await patch(session, url, BODY)).status for _ in range(30)]
    emulator.reset()
    second = [(await patch(session, url, BODY)).status for _ in range(30)]

    assert first == second
    assert 5 <= first.count(503) <= 25


async def test_reset_rate_one_drops_the_connection_without_an_answer(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(reset_rate=1.0)

    with pytest.raises(aiohttp.ClientConnectionError) as caught:
        await patch(session, emulator.base_url + COLLECTION, BODY, headers={"client-request-id": "r1"})

    assert isinstance(caught.value, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)
    [record] = emulator.requests()
    assert (record.status, record.client_request_id) == (DROPPED, "r1")
    assert emulator.stats()["dropped"] == 1


async def test_server_keeps_serving_after_dropped_connections(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(reset_rate=1.0)
    for _ in range(3):
        with pytest.raises(aiohttp.ClientConnectionError):
            await patch(session, emulator.base_url + COLLECTION, BODY)
    emulator.configure(reset_rate=0.0)

    reply = await patch(session, emulator.base_url + COLLECTION, BODY)

    assert reply.status == 200
    assert emulator.stats()["in_flight"] == 0


async def test_unauthenticated_requests_do_not_spend_quota(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.1)
    url = emulator.base_url + COLLECTION

    refused = await patch(session, url, BODY, token=None)
    allowed = await patch(session, url, BODY)

    assert (refused.status, allowed.status) == (401, 200)


async def test_quota_is_checked_before_injected_errors(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.1, error_rate=1.0)
    url = emulator.base_url + COLLECTION

    statuses = [(await patch(session, url, BODY)).status for _ in range(2)]

    assert statuses == [503, 429]


async def test_injected_errors_come_before_body_validation(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(error_rate=1.0)

    reply = await patch(session, emulator.base_url + COLLECTION, raw=b"not json")

    assert reply.status == 503
