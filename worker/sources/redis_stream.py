"""A Redis Stream read through a consumer group: the distributed service's job source, like the JSONL file for `run`.

Jobs taken over from dead consumers come first (XAUTOCLAIM, looping on its cursor, every `claim_idle_s / 2`),
then new ones (XREADGROUP, blocking `block_s`, shorter than the socket timeout). A job reclaimed more than
`max_deliveries` times is handed to `dead_letter` instead of being yielded again. Each entry is
`{b: batch id, l: line number, d: the raw line}`; acknowledging it is the recorder's job, not the source's.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, ResponseError

from worker.settings import QueueSettings

log = structlog.get_logger("worker.service.queue")

CLAIM_COUNT = 100
RETRY_S = 1.0  # pause after a Redis error before trying again


@dataclass(frozen=True, slots=True)
class Delivery:
    """One job as the stream gave it."""

    entry_id: str
    batch_id: str
    line: int
    raw: bytes


def consumer_name() -> str:
    """This replica's name in the consumer group: host, pid and a random suffix (a restart is a new consumer)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class RedisStreamSource:
    """Deliveries of one stream to one consumer of a group, until `stop`; Redis errors are waited out."""

    def __init__(
        self,
        client: aioredis.Redis,
        stream: str,
        group: str,
        queue: QueueSettings,
        *,
        dead_letter: Callable[[Delivery, int], Awaitable[None]],
        on_health: Callable[[bool], None],
    ) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._queue = queue
        self._dead_letter = dead_letter
        self._on_health = on_health
        self.name = consumer_name()

    async def ensure_group(self) -> None:
        """Create the stream and its group when missing (every replica may try: BUSYGROUP is fine)."""
        try:
            await self._client.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def deliveries(self, stop: asyncio.Event) -> AsyncIterator[Delivery]:
        """Reclaimed deliveries first, then new ones, until `stop` is set."""
        last_reclaim = float("-inf")
        while not stop.is_set():
            try:
                if time.monotonic() - last_reclaim >= self._queue.claim_idle_s / 2:
                    last_reclaim = time.monotonic()
                    for delivery in await self._reclaim():
                        yield delivery
                for delivery in await self._read():
                    yield delivery
                self._on_health(True)
            except RedisError as exc:
                self._on_health(False)
                log.warning("queue.unavailable", error=str(exc), retryS=RETRY_S)
                await asyncio.sleep(RETRY_S)

    async def _read(self) -> list[Delivery]:
        answer: Any = await self._client.xreadgroup(
            self._group,
            self.name,
            {self._stream: ">"},
            count=self._queue.read_count,
            block=int(self._queue.block_s * 1000),
        )
        return [delivery for _, entries in answer or [] for delivery in _deliveries(entries)]

    async def _reclaim(self) -> list[Delivery]:
        """Jobs idle longer than `claim_idle_s` in any consumer (a dead replica's); too-often-delivered ones
        are dead-lettered instead of returned."""
        taken: list[Delivery] = []
        cursor: Any = "0-0"
        while True:
            cursor, claimed, *_ = await self._client.xautoclaim(
                self._stream, self._group, self.name,
                min_idle_time=int(self._queue.claim_idle_s * 1000), start_id=cursor, count=CLAIM_COUNT,
            )  # fmt: skip
            for delivery in _deliveries(claimed):
                deliveries = await self._times_delivered(delivery.entry_id)
                if deliveries > self._queue.max_deliveries:
                    await self._dead_letter(delivery, deliveries)
                else:
                    log.info("queue.reclaimed", entry=delivery.entry_id, batchId=delivery.batch_id, line=delivery.line)
                    taken.append(delivery)
            if text(cursor) == "0-0":
                return taken

    async def _times_delivered(self, entry_id: str) -> int:
        pending = await self._client.xpending_range(self._stream, self._group, entry_id, entry_id, 1)
        return int(pending[0]["times_delivered"]) if pending else 0


def _deliveries(entries: Any) -> list[Delivery]:
    found = []
    for entry_id, fields in entries:
        if not fields:  # deleted while pending
            continue
        found.append(Delivery(text(entry_id), text(fields[b"b"]), int(fields[b"l"]), bytes(fields[b"d"])))
    return found


def text(value: Any) -> str:
    """A Redis reply (bytes) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)
