"""The systemic-failure detector: which attempts trip it, naming what, and what never does."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from worker.auth.tokens import CredentialRejectedError
from worker.errors import AuthError, PermanentError, SendError, ServerError, TransportError
from worker.send.halt import SystemicGuard
from worker.send.systemic import FORBIDDEN_AFTER, UNREACHABLE_AFTER, SystemicDetector, host_of

BASE = "http://127.0.0.1:9/beta"


def forbidden() -> AuthError:
    return AuthError(
        "Insufficient privileges to complete the operation.", status=403, code="Authorization_RequestDenied"
    )


def unauthorized() -> AuthError:
    return AuthError("Access token validation failure.", status=401, code="InvalidAuthenticationToken")


async def refused() -> TransportError:
    """A real connection refused, as GraphClient reports it (TransportError from aiohttp's ClientConnectorError)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        try:
            await session.get(f"http://127.0.0.1:{port}/")
        except aiohttp.ClientConnectorError as exc:
            error = TransportError(str(exc))
            error.__cause__ = exc
            return error
    raise AssertionError("something listens on a port just freed")


def test_the_first_uncured_401_trips_the_tenant_without_its_token() -> None:
    detector = SystemicDetector("graph.example")
    failure = detector.observe("contoso", unauthorized())
    assert failure is not None
    assert (failure.cause, failure.tenant) == ("unauthorized", "contoso")
    assert "'contoso'" in failure.message
    assert "401" in failure.message


def test_credentials_refused_by_the_token_service_trip_the_tenant() -> None:
    failure = SystemicDetector("h").observe("contoso", CredentialRejectedError("AADSTS7000215: Invalid client secret"))
    assert failure is not None
    assert failure.cause == "unauthorized"
    assert "AADSTS7000215" in failure.message


def test_a_tenant_without_credentials_is_one_line_s_problem_not_systemic() -> None:
    assert SystemicDetector("h").observe("typo", AuthError("no credentials", code="no_credentials")) is None


def test_403s_trip_only_after_several_with_no_other_answer() -> None:
    detector = SystemicDetector("h")
    for _ in range(FORBIDDEN_AFTER - 1):
        assert detector.observe("contoso", forbidden()) is None
    failure = detector.observe("contoso", forbidden())
    assert failure is not None
    assert (failure.cause, failure.tenant) == ("forbidden", "contoso")
    assert "403" in failure.message
    assert "Authorization_RequestDenied" in failure.message


@pytest.mark.parametrize(
    "answer", [None, PermanentError("Invalid value", status=400, code="BadRequest")], ids=["success", "400"]
)
def test_403s_in_a_lane_that_got_another_answer_are_not_systemic(answer: SendError | None) -> None:
    detector = SystemicDetector("h")
    assert detector.observe("contoso", answer) is None
    assert all(detector.observe("contoso", forbidden()) is None for _ in range(5 * FORBIDDEN_AFTER))


def test_another_lane_s_success_does_not_excuse_a_lane_of_403s() -> None:
    detector = SystemicDetector("h")
    detector.observe("fabrikam", None)
    results = [detector.observe("contoso", forbidden()) for _ in range(FORBIDDEN_AFTER)]
    assert results[-1] is not None


def test_403s_are_counted_per_scope_a_success_in_another_scope_excuses_nothing() -> None:
    detector = SystemicDetector("h")
    detector.observe("contoso", None, "reports")  # provisioning works: the app has that permission
    results = [detector.observe("contoso", forbidden(), "directory") for _ in range(FORBIDDEN_AFTER)]
    failure = results[-1]
    assert failure is not None
    assert (failure.tenant, failure.scope) == ("contoso", "directory")
    assert "scope 'directory'" in failure.message


def test_a_halt_of_one_scope_leaves_the_tenant_s_other_scopes_sending() -> None:
    guard = SystemicGuard("https://graph.example/beta", halt_all=False)
    for _ in range(FORBIDDEN_AFTER):
        guard.observe("contoso", forbidden(), "directory")
    assert guard.halted("contoso", "directory") is not None
    assert guard.halted("contoso", "reports") is None
    guard.observe("contoso", unauthorized(), "reports")  # one token for every scope: a 401 halts them all
    assert guard.halted("contoso", "groups-of-anything") is not None


async def test_a_host_that_refuses_before_any_answer_trips_naming_the_host() -> None:
    detector = SystemicDetector(host_of(BASE))
    errors = [await refused() for _ in range(UNREACHABLE_AFTER)]
    results = [detector.observe("contoso", error) for error in errors]
    assert results[:-1] == [None] * (UNREACHABLE_AFTER - 1)
    failure = results[-1]
    assert failure is not None
    assert (failure.cause, failure.tenant) == ("unreachable", None)
    assert "127.0.0.1:9" in failure.message


async def test_refusals_after_the_host_answered_are_ordinary_retries() -> None:
    detector = SystemicDetector("h")
    detector.observe("contoso", ServerError("busy", status=503))  # an HTTP answer: the host is there
    for _ in range(5 * UNREACHABLE_AFTER):
        assert detector.observe("contoso", await refused()) is None


def test_resets_and_timeouts_are_never_systemic() -> None:
    detector = SystemicDetector("h")
    for _ in range(5 * UNREACHABLE_AFTER):
        reset = TransportError("ServerDisconnectedError")
        reset.__cause__ = aiohttp.ServerDisconnectedError()
        assert detector.observe("contoso", reset) is None
        assert detector.observe("contoso", TransportError("timed out waiting for Graph")) is None
