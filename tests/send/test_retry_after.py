"""Retry-After as Graph sends it: integer seconds, fractional seconds, HTTP-dates; garbage falls back."""

from __future__ import annotations

import pytest

from worker.errors import ServerError, ThrottledError
from worker.send.retry import RetryPolicy
from worker.send.retry_after import parse_retry_after

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("2.128", 2.128),
        ("Tue, 14 Nov 2023 22:13:25 GMT", 5.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # in the past: now
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_readable_forms(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "soon", "-1", "nan", "inf", "1e400", "Tue, 99 Nov 2023"])
def test_unreadable_forms_fall_back_to_backoff(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (5, 5.0),  # a JSON number from a $batch item
        (2.5, 2.5),
        ("30,120", 120.0),  # two values joined by a proxy: the longer wait
        ("30, 120", 120.0),
        ("Tue, 14 Nov 2023 22:13:25 GMT, 60", 60.0),
        ("99999999", 99999999.0),  # far, but readable: the retry policy decides it is too long
        ("1e9", 1e9),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799.0 - NOW),
    ],
)
def test_hostile_but_readable_values(value: object, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", [True, False, [5], {"seconds": 5}, float("nan"), float("inf"), -3, 10**400, "9" * 500]
)
def test_hostile_unreadable_values_fall_back_to_backoff(value: object) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_wins_over_backoff() -> None:
    policy = RetryPolicy(backoff_initial_s=10, backoff_max_s=60)
    assert policy.delay(ThrottledError("x", status=429, retry_after=0.25), 5) == 0.25


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(backoff_initial_s=0.5, backoff_max_s=4)
    delays = [policy.delay(ServerError("x", status=500), 10) for _ in range(500)]
    assert max(delays) <= 4
    assert min(delays) < 0.5  # full jitter reaches down to zero, not clipped at the cap
    assert len({round(d, 3) for d in delays}) > 100


def test_cap_on_retry_after() -> None:
    policy = RetryPolicy(max_retry_after_s=300)
    assert policy.waits_too_long(ThrottledError("x", retry_after=3600))
    assert not policy.waits_too_long(ThrottledError("x", retry_after=30))
    assert not policy.waits_too_long(ThrottledError("x"))
