"""Secrets scrubbed in every form a server may echo them, and server text cut to a few KB."""

from __future__ import annotations

from urllib.parse import quote

import orjson

from worker.errors import PermanentError
from worker.record.logging import redact_secrets
from worker.redact import (
    DETAIL_NOT_KEPT,
    MAX_DETAIL_CHARS,
    MAX_HELD,
    MAX_MESSAGE_CHARS,
    REDACTED,
    SecretRegistry,
    register_secret,
    safe_detail,
    scrub,
)

TOKEN = "eyJhbGciOi.redact+test/token=7d2e"


def test_every_form_of_a_registered_secret_is_scrubbed() -> None:
    register_secret(TOKEN)
    text = f"raw {TOKEN} url {quote(TOKEN, safe='')} json {TOKEN.replace('/', chr(92) + '/')} header Bearer {TOKEN}"
    clean = scrub(text)
    assert "redact+test" not in clean
    assert "redact%2Btest" not in clean
    assert clean.count(REDACTED) == 4


def test_any_bearer_token_is_scrubbed_even_one_never_held() -> None:
    assert scrub("Authorization: bearer abc.def-ghi") == f"Authorization: Bearer {REDACTED}"


def test_short_values_are_not_secrets_and_old_tokens_are_forgotten() -> None:
    registry = SecretRegistry()
    registry.add("abc")
    assert registry.scrub("abc") == "abc"
    for n in range(MAX_HELD + 1):
        registry.add(f"rotating-token-{n:06d}")
    assert registry.scrub("rotating-token-000000") == "rotating-token-000000"
    assert registry.scrub(f"rotating-token-{MAX_HELD:06d}") == REDACTED


def test_a_detail_stays_json_when_small_and_becomes_a_cut_string_when_large() -> None:
    register_secret(TOKEN)
    assert safe_detail({"echo": TOKEN, "n": 1}) == {"echo": REDACTED, "n": 1}
    big = safe_detail({"blob": "x" * 100_000})
    assert isinstance(big, str)
    assert len(big) < MAX_DETAIL_CHARS + 100
    assert big.endswith("characters]")


def test_a_send_error_is_scrubbed_and_cut_when_made() -> None:
    register_secret(TOKEN)
    error = PermanentError(f"echo {TOKEN} " + "y" * 50_000, status=400, code="C" * 1000, detail=[TOKEN])
    assert TOKEN not in error.message
    assert len(error.message) < MAX_MESSAGE_CHARS + 100
    assert error.code is not None
    assert len(error.code) < 200
    assert error.detail == [REDACTED]


def test_log_values_are_scrubbed_and_cut_however_deep() -> None:
    register_secret(TOKEN)
    event = redact_secrets(
        None, "warning", {"event": "job.failed", "message": TOKEN * 1000, "nested": {"list": [TOKEN]}, "token": "x"}
    )
    rendered = orjson.dumps(event).decode()
    assert "redact+test" not in rendered
    assert len(rendered) < 2 * MAX_MESSAGE_CHARS
    assert event["token"] == REDACTED


def test_a_detail_nested_too_deep_is_replaced_not_crashed_on() -> None:
    deep: object = 1
    for _ in range(1000):
        deep = {"a": deep}
    assert safe_detail(deep) == DETAIL_NOT_KEPT


def test_any_jwt_is_scrubbed_by_its_shape_without_being_registered() -> None:
    jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJhdWQiOiJodHRwczovL2dyYXBo.c2lnbmF0dXJlLXBhcnQ"
    registry = SecretRegistry()
    registry.add(jwt)  # not held: its shape is enough
    assert registry.scrub(f"echo {jwt} and {quote(jwt)}") == f"echo {REDACTED} and {REDACTED}"
