"""Opening an Azure Storage queue for `consume azure-queue://QUEUE`: credentials, the queue's name, start-up checks.

Credentials, first found wins: `queue.azure_connection_string` (the CLI fills it from
`AZURE_STORAGE_CONNECTION_STRING`), else `queue.azure_account_url` — with a SAS in its query string, or
without one through `DefaultAzureCredential` (the optional `azure-identity` package, imported only then).
Every failure to start is one `ConfigError` line naming the queue and the cause, never the key or the SAS:
a wrong key (403), a missing queue, an unreachable endpoint. `QUEUE-results` and `QUEUE-poison` are created
when missing; the queue itself never is (a typo must not become an empty queue that drains at once).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from worker.errors import ConfigError
from worker.settings import QueueSettings

RESULTS_SUFFIX = "-results"
POISON_SUFFIX = "-poison"
# Azure's queue names: 3-63 lowercase letters, digits and single dashes; ours leave room for "-results"
_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,53}[a-z0-9]$")
# The SDK's own retries stay short: two, each after initial_backoff + increment_base ** n (n from 1) = 1.5 s,
# give or take 0.25 s (its default jitter of 3 s, with a base of 2, made them 2.5 s and 4.5 s, up to 10 s
# in all): the consumer waits out longer outages itself, and a wrong endpoint at start-up is reported in
# about 3 s, not the SDK's default minute.
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "initial_backoff": 0.5,
    "increment_base": 1,
    "random_jitter_range": 0.25,
    "connection_timeout": 10,
    "read_timeout": 30,
}


@dataclass(frozen=True, slots=True)
class AzureQueues:
    """The three queues one consumer uses."""

    jobs: QueueClient
    results: QueueClient
    poison: QueueClient


def queue_name(url: str) -> str:
    """QUEUE of `azure-queue://QUEUE`; ConfigError when it is not a name Azure (and its -results twin) accepts."""
    parts = urlsplit(url)
    name = parts.netloc
    if parts.path not in {"", "/"} or parts.query or not _NAME.match(name):
        raise ConfigError(
            f"consume: {url!r} is not azure-queue://QUEUE with QUEUE 3-55 lowercase letters, digits and single "
            "dashes (Azure's rule, leaving room for QUEUE-results)"
        )
    return name


def _service(settings: QueueSettings, stack: AsyncExitStack) -> QueueServiceClient:
    if settings.azure_connection_string is not None:
        try:
            return QueueServiceClient.from_connection_string(
                settings.azure_connection_string.get_secret_value(), **_CLIENT_OPTIONS
            )
        except ValueError:
            raise ConfigError("consume: AZURE_STORAGE_CONNECTION_STRING is not a valid connection string") from None
    if settings.azure_account_url is None:
        raise ConfigError(
            "consume: azure-queue:// needs AZURE_STORAGE_CONNECTION_STRING, or queue.azure_account_url "
            "(https://ACCOUNT.queue.core.windows.net, with a SAS or through DefaultAzureCredential)"
        )
    account_url = settings.azure_account_url.get_secret_value()
    if urlsplit(account_url).query:  # a SAS: the URL is the credential
        return QueueServiceClient(account_url, **_CLIENT_OPTIONS)
    credential = _default_credential()
    stack.push_async_callback(credential.close)
    return QueueServiceClient(account_url, credential=credential, **_CLIENT_OPTIONS)


def _default_credential() -> Any:
    try:
        from azure.identity.aio import DefaultAzureCredential
    except ImportError:
        raise ConfigError(
            "consume: queue.azure_account_url without a SAS needs azure-identity (pip install 'patch-worker[azure]')"
        ) from None
    return DefaultAzureCredential()


def _refusal(queue: str, exc: AzureError) -> ConfigError:
    """One line for why the queue cannot be used; the SDK's message (which may quote the URL) is left out."""
    if isinstance(exc, ResourceNotFoundError):
        return ConfigError(f"consume: queue {queue!r} does not exist in this storage account (create it first)")
    if isinstance(exc, ClientAuthenticationError):
        return ConfigError(f"consume: the storage account refused access to queue {queue!r} (check the key or SAS)")
    if isinstance(exc, HttpResponseError):
        code = getattr(exc, "error_code", None) or exc.reason or "error"
        return ConfigError(f"consume: queue {queue!r} answered {exc.status_code} {code}")
    return ConfigError(f"consume: cannot reach the storage account of queue {queue!r}: {type(exc).__name__}")


async def _ensure(client: QueueClient) -> None:
    with suppress(ResourceExistsError):
        await client.create_queue()


@asynccontextmanager
async def open_queues(url: str, settings: QueueSettings) -> AsyncIterator[AzureQueues]:
    """The job queue (checked to exist), its -results and -poison queues (created if missing), closed after."""
    name = queue_name(url)
    async with AsyncExitStack() as stack:
        service = await stack.enter_async_context(_service(settings, stack))
        queues = AzureQueues(
            service.get_queue_client(name),
            service.get_queue_client(name + RESULTS_SUFFIX),
            service.get_queue_client(name + POISON_SUFFIX),
        )
        for client in (queues.jobs, queues.results, queues.poison):
            await stack.enter_async_context(client)
        try:
            await queues.jobs.get_queue_properties()
            await _ensure(queues.results)
            await _ensure(queues.poison)
        except AzureError as exc:
            raise _refusal(name, exc) from None
        yield queues
