"""The Retry-After renderer on its own: every shape, rounding up, and the rotation."""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime

import pytest

from worker.emulator.retry_after_shapes import GARBAGE_RETRY_AFTER, RetryAfterRenderer


@pytest.mark.parametrize(("wait", "text"), [(0.001, "1"), (1.0, "1"), (1.2, "2"), (0.0, "0")])
def test_seconds_round_up(wait: float, text: str) -> None:
    assert RetryAfterRenderer().render("seconds", wait) == text


@pytest.mark.parametrize(("wait", "text"), [(2.128, "2.128"), (0.0001, "0.001"), (2.0, "2.000")])
def test_fractional_rounds_up_to_the_millisecond(wait: float, text: str) -> None:
    assert RetryAfterRenderer().render("fractional", wait) == text


def test_http_date_is_never_earlier_than_the_wait() -> None:
    before = time.time()

    value = RetryAfterRenderer().render("http-date", 1.5)

    assert value is not None
    assert parsedate_to_datetime(value).timestamp() >= before + 1.5


def test_other_shapes() -> None:
    renderer = RetryAfterRenderer()

    past = renderer.render("past-date", 5)
    assert past is not None
    assert parsedate_to_datetime(past).timestamp() < time.time()
    assert renderer.render("garbage", 5) == GARBAGE_RETRY_AFTER
    assert renderer.render("none", 5) is None


def test_rotation_restarts() -> None:
    renderer = RetryAfterRenderer()
    assert renderer.render("rotate", 1) == "1"
    assert renderer.render("rotate", 1) == "1.000"

    renderer.restart()

    assert renderer.render("rotate", 1) == "1"


@pytest.mark.parametrize(("wait", "text"), [(0.2, "1,4"), (2.5, "3,12"), (30.0, "30,120"), (0.0, "0,1")])
def test_combined_joins_the_own_value_and_a_larger_one(wait: float, text: str) -> None:
    assert RetryAfterRenderer().render("combined", wait) == text


def test_rotation_leaves_combined_out() -> None:
    renderer = RetryAfterRenderer()

    values = [renderer.render("rotate", 1) for _ in range(12)]

    assert not any(value is not None and re.fullmatch(r"\d+,\d+", value) for value in values)
