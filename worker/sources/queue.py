"""What a queue backend implements for `patch-worker consume`, and the registry that opens one by URL scheme.

A queue source is a source like the JSONL file, except that it never ends on its own and every input line
(a `Message`) must be settled: its result written to the results destination, then the message removed,
all or nothing, so each message gets exactly one result however often it was delivered (sending is at
least once). A backend knows its queue only; the rules live in `consume`, in one place:

- a message delivered more than `queue.max_deliveries` times, or failing retryably on its last allowed
  delivery, is `dead_letter`ed (dead stream / poison queue, with its last error, plus its `failed` result);
- a retryable failure below that is `release`d: the message goes back to the queue with its last error,
  to be delivered again (to any consumer) instead of getting a result;
- messages in flight are `keep`-alive'd every `queue.claim_idle_s / 3` so no other consumer takes them over.

Backends are modules imported on use (`SOURCES`), so redis or the Azure SDK load only when a URL names
them; adding one is a module exporting `open_source` and one line here. `open_source` is an async context
manager: leaving it closes the connections, and unsettled messages stay in the queue for another consumer.
A backend keeps its own mutable handles (Azure's latest pop receipt, renewed by `keep`) keyed by message id:
`Message` is immutable.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, cast
from urllib.parse import urlsplit

from worker.errors import ConfigError, PatchWorkerError
from worker.settings import QueueSettings

#: URL scheme -> the module whose `open_source(target)` opens that queue (imported only when used).
SOURCES: dict[str, str] = {
    "redis": "worker.sources.redis_queue",
    "rediss": "worker.sources.redis_queue",
    "azure-queue": "worker.sources.azure_queue",
}


class QueueUnavailableError(PatchWorkerError):
    """The queue cannot be reached or refused an operation for now: `consume` waits and tries again.

    Backends raise it (from their client's own errors) out of `settle`, `release`, `dead_letter` and `keep`;
    anything else is a bug and ends `consume`.
    """


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery of one queued input line."""

    id: str  # the stream entry id / queue message id: the result's `messageId`
    raw: bytes  # one input line, as in a JSONL file (already decoded from base64 where the backend needs it)
    deliveries: int  # how many times it has been delivered, this one included (1 the first time)
    last_error: str | None = None  # what the previous delivery failed with, when one was `release`d


@dataclass(frozen=True, slots=True)
class Settlement:
    """A message and its result JSON (one object, no newline): what `settle` writes."""

    message: Message
    result: bytes


@dataclass(frozen=True, slots=True)
class QueueTarget:
    """Which queue to consume, as the command line and settings name it."""

    url: str  # redis://HOST:PORT/DB, rediss://..., azure-queue://QUEUE
    stream: str | None  # --stream NAME (Redis); None where the URL names the queue
    group: str  # --group (Redis consumer group); ignored by backends without groups
    settings: QueueSettings


class QueueSource(Protocol):
    """A queue's messages for one consumer, and how they leave the queue."""

    name: str  # this consumer's name (logs, Redis consumer name)

    def messages(self, stop: asyncio.Event) -> AsyncIterator[Message]:
        """Messages taken over from dead consumers and newly visible ones, until `stop` is set.

        Waits out the backend's transient errors itself (logging them and reporting `healthy`).
        """
        ...

    @property
    def healthy(self) -> bool:
        """False while the backend cannot be reached (for /readyz)."""
        ...

    def is_empty(self) -> bool:
        """True when the last poll found nothing to deliver (for `--until-empty`)."""
        ...

    async def settle(self, settled: Sequence[Settlement]) -> list[bool]:
        """Write each result to the results destination, then remove its message (ack/delete).

        One result per message: a message no longer this consumer's (taken over, already settled) gets no
        result and False. QueueUnavailableError on failure: the caller retries the same settlements.
        """
        ...

    async def release(self, message: Message, last_error: str) -> None:
        """Give the message back to the queue for another delivery soon, remembering `last_error`."""
        ...

    async def dead_letter(self, message: Message, result: bytes, last_error: str) -> bool:
        """Move the message to the dead-letter destination with `last_error`, write its `failed` `result`, remove it.

        False (and nothing written) when the message is no longer this consumer's.
        """
        ...

    async def keep(self, messages: Sequence[Message]) -> None:
        """Heartbeat: extend this consumer's claim (visibility) on the messages still in flight.

        Also on any message the backend has taken from the queue and not yet yielded from `messages` (a
        batch read ahead waits while `consume` has no room): it must not reappear elsewhere meanwhile.
        """
        ...


class OpenSource(Protocol):
    """What each backend module exports as `open_source`."""

    def __call__(self, target: QueueTarget) -> AbstractAsyncContextManager[QueueSource]:
        """Connect (ConfigError when the queue cannot be reached or is misnamed) for the life of `consume`."""
        ...


def open_source(target: QueueTarget) -> AbstractAsyncContextManager[QueueSource]:
    """The queue named by `target.url`, opened by the backend its scheme names."""
    scheme = urlsplit(target.url).scheme
    module = SOURCES.get(scheme)
    if module is None:
        known = ", ".join(f"{name}://" for name in SOURCES)
        what = f"{scheme}://" if scheme else repr(target.url)
        raise ConfigError(f"consume: no queue source for {what} (known: {known})")
    try:
        opener = cast(OpenSource, importlib.import_module(module).open_source)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"consume: the {scheme}:// source needs {exc.name}, which is not installed") from None
    return opener(target)
