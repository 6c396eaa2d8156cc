"""The Azure queue source against Azurite: receive, invisibility kept, delete after the result, poison, release."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import orjson
import pytest
from azure.storage.queue.aio import QueueClient

from tests.azurite import Azurite
from worker.settings import QueueSettings
from worker.sources.azure_queue import AzureQueueSource, open_source
from worker.sources.queue import Message, QueueTarget, Settlement

BODY = {"jobId": "a-1", "body": {"id": "p-1", "activityDateTime": "2026-01-01T00:00:00Z"}}
Opener = Callable[..., AbstractAsyncContextManager[AzureQueueSource]]


@pytest.fixture
def opener(azurite: Azurite, azure_queue: QueueClient) -> Opener:
    """Opens a consumer of the test's queue, with the given QueueSettings fields."""

    def open_consumer(**fields: object) -> AbstractAsyncContextManager[AzureQueueSource]:
        settings = QueueSettings.model_validate(
            {"claim_idle_s": 30, "block_s": 0.1, **fields, "azure_connection_string": azurite.connection_string}
        )
        return open_source(QueueTarget(f"azure-queue://{azure_queue.queue_name}", None, "", settings))

    return open_consumer


async def take(source: AzureQueueSource, count: int, timeout: float = 20) -> list[Message]:
    """The next `count` messages the source delivers."""
    stop = asyncio.Event()
    got: list[Message] = []

    async def collect() -> None:
        async for message in source.messages(stop):
            got.append(message)
            if len(got) == count:
                stop.set()

    await asyncio.wait_for(collect(), timeout)
    return got


async def texts(client: QueueClient) -> list[str]:
    """Every message now visible in a queue, taken out of it."""
    found: list[str] = []
    while batch := [message.content async for message in client.receive_messages(max_messages=32)]:
        found.extend(batch)
    return found


def twin(queue: QueueClient, suffix: str, azurite: Azurite) -> QueueClient:
    return QueueClient.from_connection_string(azurite.connection_string, queue.queue_name + suffix)


async def test_plain_and_base64_lines_are_delivered_with_ids_and_counts(
    opener: Opener, azure_queue: QueueClient
) -> None:
    line = orjson.dumps(BODY)
    await azure_queue.send_message(line.decode())
    await azure_queue.send_message(base64.b64encode(line).decode())  # as Azure Functions writes it
    await azure_queue.send_message("bm90IGpzb24=")  # base64 of "not json": passed on as it came
    async with opener() as source:
        got = await take(source, 3)
        assert sorted(message.raw for message in got) == sorted([line, line, b"bm90IGpzb24="])
        assert {message.deliveries for message in got} == {1}
        assert len({message.id for message in got}) == 3
        assert all(message.last_error is None for message in got)
        await take_nothing(source)
        assert source.is_empty()


async def take_nothing(source: AzureQueueSource, seconds: float = 1.0) -> None:
    """Polls that find the queue empty for `seconds`."""
    stop = asyncio.Event()

    async def one_poll() -> None:
        async for message in source.messages(stop):
            raise AssertionError(f"unexpected message {message.id}")

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(one_poll(), seconds)


async def test_kept_messages_stay_invisible_past_their_timeout_and_reappear_once_let_go(
    opener: Opener, azure_queue: QueueClient
) -> None:
    await azure_queue.send_message(orjson.dumps(BODY).decode())
    async with opener(claim_idle_s=2) as first, opener(claim_idle_s=2) as second:
        [held] = await take(first, 1)
        for _ in range(8):  # 4 s, twice the visibility timeout: `keep` every 0.5 s, as consume does
            await first.keep([held])
            await take_nothing(second, 0.5)  # meanwhile the other consumer never sees it
        # the holder dies (stops keeping): the message comes back, to the other consumer, delivered twice
        [again] = await take(second, 1, timeout=10)
        assert (again.id, again.deliveries) == (held.id, 2)
        # and the first consumer's settlement is refused: no result written for a message no longer its own
        assert await first.settle([Settlement(held, b'{"status":"succeeded"}')]) == [False]


async def test_a_result_is_written_then_the_message_deleted(
    opener: Opener, azure_queue: QueueClient, azurite: Azurite
) -> None:
    await azure_queue.send_message(orjson.dumps(BODY).decode())
    async with opener(claim_idle_s=1) as source:
        [message] = await take(source, 1)
        await asyncio.sleep(0.8)  # most of its visibility spent: settling extends it first
        result = orjson.dumps({"jobId": "a-1", "status": "succeeded", "messageId": message.id})
        assert await source.settle([Settlement(message, result)]) == [True]
        await asyncio.sleep(1.5)  # past the visibility timeout (1 s): a message left would be back
        assert (await azure_queue.get_queue_properties()).approximate_message_count == 0
        async with twin(azure_queue, "-results", azurite) as results:
            assert await texts(results) == [result.decode()]


async def test_past_its_deliveries_a_message_goes_to_poison_with_its_last_error(
    opener: Opener, azure_queue: QueueClient, azurite: Azurite
) -> None:
    line = orjson.dumps(BODY)
    await azure_queue.send_message(base64.b64encode(line).decode())
    async with opener() as source:
        [message] = await take(source, 1)
        await source.release(message, "ServiceUnavailable: 503 from Graph")
        [again] = await take(source, 1)  # released: visible at once, and it remembers why
        assert (again.id, again.deliveries, again.last_error) == (message.id, 2, "ServiceUnavailable: 503 from Graph")
        failed = orjson.dumps({"jobId": "a-1", "status": "failed", "messageId": again.id})
        assert await source.dead_letter(again, failed, "ServiceUnavailable: 503 again") is True
    async with twin(azure_queue, "-poison", azurite) as poison, twin(azure_queue, "-results", azurite) as results:
        [dead] = [orjson.loads(text) for text in await texts(poison)]
        assert dead == {
            "messageId": message.id,
            "dequeueCount": 2,
            "lastError": "ServiceUnavailable: 503 again",
            "message": line.decode(),
        }
        assert await texts(results) == [failed.decode()]
    assert (await azure_queue.get_queue_properties()).approximate_message_count == 0


async def test_a_retried_settlement_writes_its_result_once(
    opener: Opener, azure_queue: QueueClient, azurite: Azurite
) -> None:
    await azure_queue.send_message(orjson.dumps(BODY).decode())
    async with opener() as source:
        [message] = await take(source, 1)
        done = Settlement(message, b'{"status":"succeeded"}')
        assert await source.settle([done]) == [True]
        assert await source.settle([done]) == [False]  # settled already: nothing more is written
    async with twin(azure_queue, "-results", azurite) as results:
        assert len(await texts(results)) == 1


async def test_messages_read_ahead_stay_invisible_and_are_handed_back_at_close(
    opener: Opener, azure_queue: QueueClient
) -> None:
    for index in range(3):
        await azure_queue.send_message(orjson.dumps({**BODY, "jobId": f"a-{index}"}).decode())
    async with opener(claim_idle_s=3) as other:
        async with opener(claim_idle_s=3) as first:
            stop = asyncio.Event()
            reader = first.messages(stop)
            taken = await anext(reader)  # one page of 3 received: 1 handed out, 2 read ahead
            for _ in range(10):  # 5 s, beyond the invisibility: keep() names only the message handed out
                await first.keep([taken])
                await take_nothing(other, 0.5)
            await reader.aclose()
        # closed: what it still held (read ahead, or handed out and never settled) is visible again at once,
        # not when its invisibility runs out (1.5 s or more after the last keep)
        again = await take(other, 3, timeout=1.0)
        assert taken.id in {message.id for message in again}
        assert [message.deliveries for message in again] == [2, 2, 2]
