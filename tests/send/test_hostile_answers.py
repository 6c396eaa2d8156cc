"""Answers no real Graph sends, read without crashing: redirects, odd $batch envelopes, throttle hints."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from worker.answers import Answer
from worker.auth.tokens import Credentials, StaticToken
from worker.errors import MalformedResponseError, RedirectError, ServerError, ThrottledError
from worker.jobs import Job
from worker.send.http import GraphClient, classify, redirect_error, throttle_percent
from worker.send.json_batch import decode_batch


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("https://user:pw@evil.example/steal?token=abc", "to host evil.example"),
        ("http://127.0.0.1:8443/x", "to host 127.0.0.1:8443"),
        ("/sink/users/evil", "to another path on the same host"),
        ("http://[::1", "without a readable Location"),
        (None, "without a readable Location"),
        (["/a"], "without a readable Location"),
    ],
)
def test_a_redirect_names_only_the_host(location: object, shown: str) -> None:
    error = redirect_error(302, location)
    assert isinstance(error, RedirectError)
    assert error.error_kind == "redirect"
    assert shown in error.message
    assert "pw" not in error.message
    assert "abc" not in error.message


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e308", "lots", None, 0.9])
def test_an_insane_throttle_hint_is_ignored(value: object) -> None:
    assert throttle_percent({"x-ms-throttle-limit-percentage": value}) is None


@pytest.mark.parametrize(
    ("value", "scope"),
    [
        ("Application/Write/0785ef7c-2d7a-4542-b048-95bcab406e0b/9a3d526c", "Application"),
        ("Tenant_Application/ReadWrite/app/tenant", "Tenant_Application"),
        ("tenant/Read/app/tenant", "Tenant"),  # any case
        (" Application ", "Application"),
        ("Application", "Application"),
        ("Applications/Write/app", None),
        ("User/Write/app/user", None),
        ("", None),
        ("/Application", None),
        ("Application/" + "x" * 5000, None),  # no header that long is Graph's
        (None, None),
        (["Application"], None),
    ],
)
def test_a_refusals_throttle_scope_is_read_only_when_it_names_a_documented_scope(
    value: object, scope: str | None
) -> None:
    error = classify(429, {"x-ms-throttle-scope": value, "retry-after": "1"}, None)
    assert isinstance(error, ThrottledError)
    assert error.scope == scope


def test_a_throttle_scope_on_an_answer_that_is_no_refusal_is_not_read() -> None:
    error = classify(503, {"x-ms-throttle-scope": "Application/Write/a/t"}, None)  # no Retry-After: a 5xx
    assert not isinstance(error, ThrottledError)


@pytest.mark.parametrize(
    "envelope",
    [{"responses": 5}, {"responses": {"id": "0"}}, [1, 2], {"responses": [{"status": 204}]}, "text"],
)
def test_an_odd_envelope_fails_every_item_retryably(envelope: object) -> None:
    results = decode_batch(orjson.dumps(envelope), 2)
    assert all(isinstance(result, ServerError) for result in results)


def test_items_are_read_one_by_one() -> None:
    raw = orjson.dumps(
        {
            "responses": [
                {"id": "0", "status": 204},  # no headers at all: fine
                {"id": "1", "status": 302, "headers": {"Location": "https://evil.example/"}},
                {"id": "2", "status": 204, "headers": {"Retry-After": None}},
                {"id": "3", "status": 99999},
            ]
        }
    )
    results = decode_batch(raw, 4)
    assert isinstance(results[0], Answer)
    assert isinstance(results[1], RedirectError)
    assert "evil.example" in results[1].message
    assert isinstance(results[2], MalformedResponseError)
    assert isinstance(results[3], MalformedResponseError)
    assert "99999" in results[3].message


async def _unforeseen(*_: object) -> None:
    """A hook inside aiohttp's request that fails in a way nobody foresaw."""
    raise KeyError("unforeseen")


async def test_an_unexpected_exception_fails_the_attempt_retryably() -> None:
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_unforeseen)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = GraphClient(session, "http://127.0.0.1:9", Credentials(StaticToken("never-sent-token")))
        with pytest.raises(ServerError, match="internal error while sending the PATCH: KeyError"):
            await client.patch(Job("1", 1, "t", "/auditLogs/provisioning/x", b"{}", "crid"))
