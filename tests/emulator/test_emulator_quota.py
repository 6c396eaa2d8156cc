"""Per-tenant quota: token buckets, 429 with Retry-After in every shape, the throttle-percentage warning."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.fake_clock import FakeClock
from worker.emulator import EmulatorConfig, RunningEmulator
from worker.emulator.quota import Quotas

from .helpers import COLLECTION, Reply, graph_error, patch
from .retry_after_shapes import shape_of

BODY = {"action": "Update"}


def test_bucket_allows_the_burst_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    buckets = Quotas(EmulatorConfig(quota_per_s=2.0, quota_burst=3.0), clock)

    assert [buckets.try_acquire("t") for _ in range(3)] == [None, None, None]
    assert buckets.try_acquire("t") == pytest.approx(0.5)
    clock.now += 0.25
    assert buckets.try_acquire("t") == pytest.approx(0.25)
    clock.now += 0.25
    assert buckets.try_acquire("t") is None


def test_bucket_refills_up_to_its_capacity_only() -> None:
    clock = FakeClock()
    buckets = Quotas(EmulatorConfig(quota_per_s=10.0), clock)
    buckets.try_acquire("t")
    clock.now += 3600

    allowed = sum(buckets.try_acquire("t") is None for _ in range(30))

    assert allowed == 10


def test_burst_defaults_to_one_second_and_never_below_one_request() -> None:
    clock = FakeClock()
    slow = Quotas(EmulatorConfig(quota_per_s=0.5), clock)

    assert slow.try_acquire("t") is None
    assert slow.try_acquire("t") == pytest.approx(2.0)


def test_tenants_have_separate_buckets() -> None:
    buckets = Quotas(EmulatorConfig(quota_per_s=1.0), FakeClock())

    assert buckets.try_acquire("a") is None
    assert buckets.try_acquire("a") is not None
    assert buckets.try_acquire("b") is None


def test_no_quota_means_unlimited() -> None:
    buckets = Quotas(EmulatorConfig(), FakeClock())

    assert all(buckets.try_acquire("t") is None for _ in range(10_000))
    assert buckets.usage("t") == 0.0


def test_usage_is_the_share_of_the_bucket_spent() -> None:
    buckets = Quotas(EmulatorConfig(quota_per_s=1.0, quota_burst=10.0), FakeClock())

    assert buckets.usage("t") == 0.0
    for _ in range(9):
        buckets.try_acquire("t")

    assert buckets.usage("t") == pytest.approx(0.9)


def test_clear_gives_every_tenant_a_full_bucket() -> None:
    buckets = Quotas(EmulatorConfig(quota_per_s=1.0), FakeClock())
    buckets.try_acquire("t")

    buckets.clear()

    assert buckets.try_acquire("t") is None


async def _burst(session: aiohttp.ClientSession, url: str, count: int, token: str) -> list[Reply]:
    return list(await asyncio.gather(*(patch(session, url, BODY, token=token) for _ in range(count))))


async def test_over_quota_requests_get_429_with_retry_after(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=20, quota_burst=20)

    started = time.monotonic()
    replies = await _burst(session, emulator.base_url + COLLECTION, 40, "emu.a.x")
    elapsed = time.monotonic() - started

    throttled = [reply for reply in replies if reply.status == 429]
    assert {reply.status for reply in replies} == {200, 429}
    # the bucket refills at 20/s while the burst is in flight: that many more may pass
    assert 20 - math.ceil(elapsed * 20) <= len(throttled) <= 20
    for reply in throttled:
        assert graph_error(reply)["code"] == "TooManyRequests"
        assert shape_of(reply.headers.get("Retry-After")) == ("seconds", 1)
    assert emulator.stats()["throttled"] == len(throttled)


async def test_tenants_are_throttled_independently(emulator: RunningEmulator, session: aiohttp.ClientSession) -> None:
    emulator.configure(quota_per_s=0.5, quota_burst=5)
    url = emulator.base_url + COLLECTION

    first_a = await _burst(session, url, 5, "emu.a.x")
    over_a = await patch(session, url, BODY, token="emu.a.x")
    first_b = await _burst(session, url, 5, "emu.b.x")

    assert [reply.status for reply in first_a] == [200] * 5
    assert over_a.status == 429
    assert [reply.status for reply in first_b] == [200] * 5
    assert emulator.stats()["by_tenant"] == {"a": 6, "b": 5}


async def _throttled_reply(emulator: RunningEmulator, session: aiohttp.ClientSession) -> Reply:
    """The second request of a tenant whose bucket holds one request (quota below 1/s)."""
    url = emulator.base_url + COLLECTION
    assert (await patch(session, url, BODY)).status == 200
    reply = await patch(session, url, BODY)
    assert reply.status == 429
    return reply


async def test_retry_after_seconds_is_an_integer_rounded_up(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.4, retry_after="seconds")

    reply = await _throttled_reply(emulator, session)

    assert shape_of(reply.headers.get("Retry-After")) == ("seconds", 3)


async def test_retry_after_fractional_has_millisecond_precision(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.4, retry_after="fractional")

    reply = await _throttled_reply(emulator, session)

    kind, value = shape_of(reply.headers.get("Retry-After"))
    assert kind == "fractional"
    assert isinstance(value, float)
    assert 2.4 < value <= 2.5
    assert len(reply.headers["Retry-After"].split(".")[1]) == 3


async def test_retry_after_http_date_lies_in_the_future(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.4, retry_after="http-date")

    reply = await _throttled_reply(emulator, session)

    kind, value = shape_of(reply.headers.get("Retry-After"))
    assert kind == "http-date"
    assert isinstance(value, datetime)
    now = datetime.now(UTC)
    assert now + timedelta(seconds=2) < value <= now + timedelta(seconds=4)
    assert reply.headers["Retry-After"].endswith(" GMT")


async def test_retry_after_past_date_lies_in_the_past(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.4, retry_after="past-date")

    reply = await _throttled_reply(emulator, session)

    kind, value = shape_of(reply.headers.get("Retry-After"))
    assert kind == "http-date"
    assert isinstance(value, datetime)
    assert value < datetime.now(UTC) - timedelta(minutes=1)


@pytest.mark.parametrize(("fmt", "kind"), [("garbage", "garbage"), ("none", "absent")])
async def test_retry_after_garbage_or_absent(
    emulator: RunningEmulator, session: aiohttp.ClientSession, fmt: str, kind: str
) -> None:
    emulator.configure(quota_per_s=0.4, retry_after=fmt)

    reply = await _throttled_reply(emulator, session)

    assert reply.status == 429
    assert shape_of(reply.headers.get("Retry-After"))[0] == kind


async def test_retry_after_rotate_cycles_through_every_shape(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.1, quota_burst=1, retry_after="rotate")
    url = emulator.base_url + COLLECTION
    assert (await patch(session, url, BODY)).status == 200

    replies = [await patch(session, url, BODY) for _ in range(7)]

    kinds = [shape_of(reply.headers.get("Retry-After"))[0] for reply in replies]
    assert kinds == ["seconds", "fractional", "http-date", "http-date", "garbage", "absent", "seconds"]


async def test_throttle_percentage_header_appears_past_80_percent(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.configure(quota_per_s=0.01, quota_burst=10)
    url = emulator.base_url + COLLECTION

    replies = [await patch(session, url, BODY) for _ in range(10)]

    assert [reply.status for reply in replies] == [200] * 10
    values = [reply.headers.get("x-ms-throttle-limit-percentage") for reply in replies]
    assert values[:8] == [None] * 8
    assert [float(value or 0) for value in values[8:]] == pytest.approx([0.9, 1.0], abs=0.01)


async def test_no_throttle_percentage_header_without_quota(
    emulator: RunningEmulator, session: aiohttp.ClientSession
) -> None:
    replies = [await patch(session, emulator.base_url + COLLECTION, BODY) for _ in range(20)]

    assert all("x-ms-throttle-limit-percentage" not in reply.headers for reply in replies)
