"""The Redis Streams queue source on a real redis-server, in-process: settling exactly once, releasing,
taking over, dead-lettering, and when the queue counts as empty."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.polling import eventually
from worker.errors import ConfigError
from worker.settings import QueueSettings
from worker.sources.queue import Message, QueueSource, QueueTarget, Settlement, open_source

pytestmark = pytest.mark.redis

STREAM = "jobs"
FAST = QueueSettings(claim_idle_s=0.3, block_s=0.05, socket_timeout_s=2)


def target(url: str, group: str = "g") -> QueueTarget:
    return QueueTarget(url, STREAM, group, FAST)


async def take(source: QueueSource, count: int, timeout: float = 5) -> list[Message]:
    """The next `count` messages of `source`."""
    stop = asyncio.Event()
    taken: list[Message] = []

    async def read() -> None:
        async for message in source.messages(stop):
            taken.append(message)
            if len(taken) == count:
                stop.set()

    await asyncio.wait_for(read(), timeout)
    return taken


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


async def entries(client: aioredis.Redis, key: str) -> list[dict[str, str]]:
    found: Any = await client.xrange(key)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in found]


async def test_a_message_is_settled_once_however_many_consumers_try(client: aioredis.Redis, redis_url: str) -> None:
    await client.xadd(STREAM, {"job": b"line one"})
    async with open_source(target(redis_url)) as first, open_source(target(redis_url)) as second:
        [message] = await take(first, 1)
        assert (message.raw, message.deliveries, message.last_error) == (b"line one", 1, None)
        assert await first.settle([Settlement(message, b'{"n":1}')]) == [True]
        assert await second.settle([Settlement(message, b'{"n":2}')]) == [False]
        assert await second.dead_letter(message, b'{"n":3}', "late") is False
    assert await entries(client, f"{STREAM}:results") == [{"result": '{"n":1}'}]
    assert await entries(client, f"{STREAM}:dead") == []
    assert await client.xlen(STREAM) == 0


async def test_a_released_message_comes_back_with_its_last_error_then_dies(
    client: aioredis.Redis, redis_url: str
) -> None:
    entry: Any = await client.xadd(STREAM, {"job": b"flaky"})
    async with open_source(target(redis_url)) as first, open_source(target(redis_url)) as second:
        [message] = await take(first, 1)
        await first.release(message, "HTTP 503 serviceUnavailable: try later")
        [again] = await take(second, 1)  # another consumer takes it over at its next reclaim
        assert (again.id, again.deliveries, again.last_error) == (
            entry.decode(),
            2,
            "HTTP 503 serviceUnavailable: try later",
        )
        assert await second.dead_letter(again, b'{"status":"failed"}', "HTTP 503 serviceUnavailable: again")
    [dead] = await entries(client, f"{STREAM}:dead")
    assert dead == {
        "job": "flaky",
        "error": "HTTP 503 serviceUnavailable: again",
        "deliveries": "2",
        "messageId": entry.decode(),
    }
    assert await entries(client, f"{STREAM}:results") == [{"result": '{"status":"failed"}'}]
    assert await client.hlen(f"{STREAM}:errors") == 0


async def test_a_kept_message_is_not_taken_over_and_an_unkept_one_is(client: aioredis.Redis, redis_url: str) -> None:
    await client.xadd(STREAM, {"job": b"a"})
    await client.xadd(STREAM, {"job": b"b"})
    async with open_source(target(redis_url)) as first, open_source(target(redis_url)) as second:
        kept, dropped = await take(first, 2)
        stop = asyncio.Event()

        async def renew() -> None:
            while not stop.is_set():
                await first.keep([kept])
                await asyncio.sleep(0.05)  # the holder's heartbeat, as consume's

        renewing = asyncio.create_task(renew())
        [taken] = await take(second, 1)
        await asyncio.sleep(2 * FAST.claim_idle_s)  # long enough for `kept` to be reclaimed, were it not renewed
        stop.set()
        await renewing
        assert taken.id == dropped.id
        assert await first.settle([Settlement(kept, b"{}")]) == [True]
        assert await second.settle([Settlement(taken, b"{}")]) == [True]


async def test_empty_only_when_nothing_is_left_to_read_or_pending(client: aioredis.Redis, redis_url: str) -> None:
    await client.xadd(STREAM, {"job": b"x"})
    async with open_source(target(redis_url)) as source:
        [message] = await take(source, 1)
        stop = asyncio.Event()
        polls = source.messages(stop)
        poll = asyncio.ensure_future(anext(polls))
        # a fixed wait: polls that found nothing to read (three blocking reads); it must stay non-empty meanwhile
        await asyncio.sleep(3 * FAST.block_s)
        assert not source.is_empty()  # nothing to read, but the message is still pending
        await source.settle([Settlement(message, b"{}")])
        await eventually(source.is_empty, "empty once settled", timeout=10 * FAST.block_s)
        stop.set()
        poll.cancel()
        await asyncio.gather(poll, return_exceptions=True)


async def test_a_redis_source_needs_a_stream(redis_url: str) -> None:
    with pytest.raises(ConfigError, match="--stream NAME is required"):
        async with open_source(QueueTarget(redis_url, None, "g", FAST)):
            pass
