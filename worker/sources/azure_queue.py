"""An Azure Storage queue as a `consume` source (`azure-queue://QUEUE`), through `azure-storage-queue`'s async client.

A received message is invisible to other consumers for `queue.claim_idle_s`; while its job is in flight or
retrying — a lane throttled for minutes included — `keep` pushes that further (update_message), so it never
reappears elsewhere while this consumer lives; if it dies, the message reappears when its visibility runs out.
Every update hands out a new pop receipt: the latest is kept per message id, and the message is no longer ours
when the service refuses it (404: taken by another consumer, or gone).

Settling is: make sure the message is still ours for a while (extend it if its time is short), write the
result to `QUEUE-results`, delete the message. Azure has no transaction across queues, so a consumer killed
between those two writes leaves a result whose message reappears: the next consumer sends the job again and
writes a second result for the same `messageId` (readers dedupe by it): the window is one round trip, for at
most `SETTLE_CONCURRENCY` messages at a time. Within a process, a settlement retried after an error never
writes its result twice.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress

import structlog
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.queue import QueueMessage

from worker.settings import QueueSettings
from worker.sources.azure_connect import AzureQueues, open_queues
from worker.sources.azure_text import line_of, poison_text, result_text
from worker.sources.queue import Message, QueueTarget, QueueUnavailableError, Settlement

log = structlog.get_logger("worker.sources.azure_queue")

PAGE = 32  # Azure's most messages per receive
RETRY_S = 1.0  # pause after a storage error before polling again
# Settlements written at once: more only queue up at the storage service, where a slow answer could outlast a
# message's invisibility; and a consumer killed mid-settlement leaves at most this many results written twice.
SETTLE_CONCURRENCY = 16
REMEMBERED_ERRORS = 10_000  # last errors of released messages kept for their next delivery (oldest forgotten)


def _not_ours(exc: AzureError) -> bool:
    """True when the service says the message (or this pop receipt) is gone: another consumer holds it now."""
    if isinstance(exc, ResourceNotFoundError):
        return True
    return isinstance(exc, HttpResponseError) and _code(exc) in {"MessageNotFound", "PopReceiptMismatch"}


class AzureQueueSource:
    """One consumer of one Azure queue: receives, keeps invisible, settles into -results, poisons into -poison."""

    def __init__(self, queues: AzureQueues, settings: QueueSettings) -> None:
        self._queues = queues
        self._visibility = max(1, round(settings.claim_idle_s))
        self._page = min(PAGE, settings.read_count)
        self._poll_s = settings.block_s
        self._receipts: dict[str, str] = {}  # message id -> latest pop receipt
        self._until: dict[str, float] = {}  # message id -> monotonic time its invisibility ends
        self._written: set[str] = set()  # results written whose message is not deleted yet
        self._errors: OrderedDict[str, str] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}  # one operation at a time per message: each changes its receipt
        self._writing = asyncio.Semaphore(SETTLE_CONCURRENCY)
        self._healthy = True
        self._empty = False
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    @property
    def healthy(self) -> bool:
        """False while the storage account cannot be reached."""
        return self._healthy

    def is_empty(self) -> bool:
        """True when the last receive found nothing."""
        return self._empty

    async def messages(self, stop: asyncio.Event) -> AsyncGenerator[Message, None]:
        """Visible messages, a page at a time, until `stop`; storage errors are logged and waited out."""
        while not stop.is_set():
            try:
                page = await self._receive()
            except AzureError as exc:
                self._report(exc)
                await _wait(stop, RETRY_S)
                continue
            self._healthy, self._empty = True, not page
            if not page:
                await _wait(stop, self._poll_s)
            for received in page:
                yield self._message(received)

    async def _receive(self) -> list[QueueMessage]:
        started = time.monotonic()
        pager = self._queues.jobs.receive_messages(
            messages_per_page=self._page, max_messages=self._page, visibility_timeout=self._visibility
        )
        page = [received async for received in pager]
        for received in page:
            self._hold(received.id, received.pop_receipt, started)
        return page

    def _message(self, received: QueueMessage) -> Message:
        return Message(
            id=received.id,
            raw=line_of(received.content if isinstance(received.content, str) else ""),
            deliveries=received.dequeue_count or 1,
            last_error=self._errors.pop(received.id, None),
        )

    def _hold(self, message_id: str, receipt: str | None, since: float) -> None:
        if receipt:
            self._receipts[message_id] = receipt
            self._until[message_id] = since + self._visibility

    def _forget(self, message_id: str) -> None:
        self._locks.pop(message_id, None)
        self._receipts.pop(message_id, None)
        self._until.pop(message_id, None)
        self._written.discard(message_id)

    def _lock(self, message_id: str) -> asyncio.Lock:
        """The message's lock: an update hands out a new receipt, so a delete racing a heartbeat would be refused."""
        return self._locks.setdefault(message_id, asyncio.Lock())

    def _report(self, exc: AzureError) -> None:
        if self._healthy:
            log.warning("queue.unreachable", source="azure", error=type(exc).__name__, status=_status(exc))
        self._healthy = False

    async def _extend(self, message_id: str, visibility: int) -> bool:
        """Push the message's invisibility to `visibility` s from now; False when it is no longer ours."""
        receipt = self._receipts.get(message_id)
        if receipt is None:
            return False
        started = time.monotonic()
        try:
            updated = await self._queues.jobs.update_message(
                message_id, pop_receipt=receipt, visibility_timeout=visibility
            )
        except AzureError as exc:
            if _not_ours(exc):
                self._forget(message_id)
                return False
            raise
        self._hold(message_id, updated.pop_receipt, started)
        return True

    async def _still_ours(self, message_id: str) -> bool:
        """True when the message stays ours for at least a third of the visibility (extended if need be)."""
        if message_id not in self._receipts:
            self._forget(message_id)  # its lock, made to ask
            return False
        if self._until[message_id] - time.monotonic() >= self._visibility / 3:
            return True
        return await self._extend(message_id, self._visibility)

    async def _delete(self, message_id: str) -> None:
        receipt = self._receipts.get(message_id)
        try:
            await self._queues.jobs.delete_message(message_id, pop_receipt=receipt)
        except AzureError as exc:
            if not _not_ours(exc):
                raise
            log.warning("queue.delete_refused", source="azure", messageId=message_id)
        self._forget(message_id)

    async def _settle_one(self, settled: Settlement) -> bool:
        message_id = settled.message.id
        async with self._writing, self._lock(message_id):
            if message_id not in self._written:
                if not await self._still_ours(message_id):
                    return False
                await self._queues.results.send_message(result_text(settled.result))
                self._written.add(message_id)
            await self._delete(message_id)
            return True

    async def settle(self, settled: Sequence[Settlement]) -> list[bool]:
        """Write each result to QUEUE-results, then delete its message; False for a message no longer ours.

        Every settlement is tried before the first failure is raised, so a retry of the same list never
        overlaps one still writing.
        """
        done = await asyncio.gather(*(self._settle_one(item) for item in settled), return_exceptions=True)
        _raise_first(done)
        return [outcome is True for outcome in done]

    async def release(self, message: Message, last_error: str) -> None:
        """Make the message visible again now, for any consumer; its next delivery here carries `last_error`."""
        self._errors[message.id] = last_error
        while len(self._errors) > REMEMBERED_ERRORS:
            self._errors.popitem(last=False)
        with _unavailable():
            async with self._lock(message.id):
                await self._extend(message.id, 0)
        self._forget(message.id)

    async def dead_letter(self, message: Message, result: bytes, last_error: str) -> bool:
        """Copy the message with its last error to QUEUE-poison, write its failed result, delete it."""
        with _unavailable():
            async with self._writing, self._lock(message.id):
                return await self._dead_letter(message, result, last_error)

    async def _dead_letter(self, message: Message, result: bytes, last_error: str) -> bool:
        if message.id not in self._written:
            if not await self._still_ours(message.id):
                return False
            line = message.raw.decode("utf-8", "replace")
            await self._queues.poison.send_message(poison_text(message.id, message.deliveries, last_error, line))
            await self._queues.results.send_message(result_text(result))
            self._written.add(message.id)
        await self._delete(message.id)
        return True

    async def keep(self, messages: Sequence[Message]) -> None:
        """Extend every message this consumer holds whose invisibility has run a third of its time.

        That is `messages` (in flight) and also those received but not yet taken from `messages()`.
        """
        horizon = time.monotonic() + self._visibility * 2 / 3
        due = [message_id for message_id, ends in self._until.items() if ends < horizon]
        done = await asyncio.gather(*(self._keep_one(message_id) for message_id in due), return_exceptions=True)
        _raise_first(done)

    async def _keep_one(self, message_id: str) -> None:
        lock = self._lock(message_id)
        if lock.locked():  # being settled or released: that makes sure of its own time
            return
        async with lock:
            await self._extend(message_id, self._visibility)

    async def close(self) -> None:
        """Make the messages still held visible again at once (received, never handed out); errors are let be:
        those reappear when their invisibility ends anyway."""
        held = list(self._receipts)
        await asyncio.gather(*(self._extend(message_id, 0) for message_id in held), return_exceptions=True)


@contextmanager
def _unavailable() -> Iterator[None]:
    """The storage service's errors as the queue interface's QueueUnavailableError (consume waits and retries)."""
    try:
        yield
    except AzureError as exc:
        status = _status(exc)
        raise QueueUnavailableError(f"azure queue: {type(exc).__name__}{f' {status}' if status else ''}") from exc


def _raise_first(done: Sequence[object]) -> None:
    """The first exception of a gather(return_exceptions=True), Azure's as QueueUnavailableError."""
    for outcome in done:
        if isinstance(outcome, BaseException):
            with _unavailable():
                raise outcome


def _code(exc: AzureError) -> str | None:
    """The storage error code (`MessageNotFound`...), which the storage SDK sets on its errors."""
    code = getattr(exc, "error_code", None)
    return None if code is None else str(getattr(code, "value", code))  # a StorageErrorCode enum, or a string


def _status(exc: AzureError) -> int | None:
    return exc.status_code if isinstance(exc, HttpResponseError) else None


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@asynccontextmanager
async def open_source(target: QueueTarget) -> AsyncIterator[AzureQueueSource]:
    """The queue `azure-queue://QUEUE` for one consumer (ConfigError when it cannot be used), closed after."""
    async with open_queues(target.url, target.settings) as queues:
        source = AzureQueueSource(queues, target.settings)
        try:
            yield source
        finally:
            await source.close()
