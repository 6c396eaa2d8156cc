"""Opening an Azure queue fails with one clear line, never the key: bad name, missing queue, wrong key, no server."""

from __future__ import annotations

import time

import pytest
from azure.storage.queue.aio import QueueClient

from tests.azurite import ACCOUNT_KEY, Azurite
from worker.errors import ConfigError
from worker.settings import QueueSettings
from worker.sources.azure_connect import open_queues

WRONG_KEY = "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmcga2V5IHdyb25nIGtleQ=="


async def refusal(url: str, **fields: object) -> str:
    settings = QueueSettings.model_validate(fields)
    with pytest.raises(ConfigError) as caught:
        async with open_queues(url, settings):
            pass
    message = str(caught.value)
    assert "\n" not in message
    assert ACCOUNT_KEY not in message
    assert WRONG_KEY not in message
    return message


@pytest.mark.parametrize("url", ["azure-queue://Jobs", "azure-queue://a--b", "azure-queue://jobs/x", "azure-queue://"])
async def test_a_name_azure_refuses_is_refused_before_connecting(url: str) -> None:
    assert "lowercase letters" in await refusal(url)


async def test_without_credentials_it_says_which_to_give() -> None:
    assert "AZURE_STORAGE_CONNECTION_STRING" in await refusal("azure-queue://jobs")


async def test_a_missing_queue_is_named_not_created(azurite: Azurite) -> None:
    message = await refusal("azure-queue://no-such-queue", azure_connection_string=azurite.connection_string)
    assert message == "consume: queue 'no-such-queue' does not exist in this storage account (create it first)"


async def test_a_wrong_key_is_an_access_refusal(azurite: Azurite, azure_queue: QueueClient) -> None:
    wrong = azurite.connection_string.replace(ACCOUNT_KEY, WRONG_KEY)
    message = await refusal(f"azure-queue://{azure_queue.queue_name}", azure_connection_string=wrong)
    assert (
        message
        == f"consume: the storage account refused access to queue {azure_queue.queue_name!r} (check the key or SAS)"
    )


async def test_an_unreachable_account_is_named(azurite: Azurite) -> None:
    closed = azurite.connection_string.replace(f":{azurite.port}/", ":9/")  # the discard port: nothing listens
    started = time.monotonic()
    message = await refusal("azure-queue://jobs", azure_connection_string=closed)
    assert message == "consume: cannot reach the storage account of queue 'jobs': ServiceRequestError"
    assert time.monotonic() - started < 6.0  # two short SDK retries (~3 s), not its default minute (nor 7-10 s)


async def test_the_results_and_poison_queues_are_created(azurite: Azurite, azure_queue: QueueClient) -> None:
    settings = QueueSettings(azure_connection_string=azurite.connection_string)
    async with open_queues(f"azure-queue://{azure_queue.queue_name}", settings) as queues:
        for twin in (queues.results, queues.poison):
            assert (await twin.get_queue_properties()).approximate_message_count == 0
    async with open_queues(f"azure-queue://{azure_queue.queue_name}", settings):
        pass  # and opening again finds them there
