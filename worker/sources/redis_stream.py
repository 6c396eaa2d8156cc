"""A Redis Stream read through a consumer group: the job source of the distributed service and of `consume`.

Entries taken over from dead consumers come first (XAUTOCLAIM, looping on its cursor, every `claim_idle_s / 2`),
then new ones (XREADGROUP, blocking `block_s`, shorter than the socket timeout). Each entry is turned into
the reader's item by `decode(entry id, fields, deliveries)`. With `dead_letter`, an entry reclaimed more than
`max_deliveries` times is handed to it instead of being yielded again (the service's rule); without it,
every entry is yielded with its delivery count and the caller applies the rule (`consume`).
Acknowledging an entry is the recorder's job, not the reader's.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, ResponseError

from worker.settings import QueueSettings

log = structlog.get_logger("worker.service.queue")

CLAIM_COUNT = 100
RETRY_S = 1.0  # pause after a Redis error before trying again
RENEW_CHUNK = 500

T = TypeVar("T")
Fields = dict[bytes, bytes]
Decode = Callable[[str, Fields, int], T]

#: Keep this consumer's claim on entries it is still working on (resets their idle time), but only on those
#: still pending for it: an entry another consumer took over is left alone.
#: KEYS: the stream. ARGV: group, consumer, entry ids...
RENEW = """
local renewed = 0
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed
"""


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


def decode_delivery(entry_id: str, fields: Fields, _deliveries: int) -> Delivery:
    """The service's decoding of a job entry."""
    return Delivery(entry_id, text(fields[b"b"]), int(fields[b"l"]), bytes(fields[b"d"]))


class RedisStreamSource(Generic[T]):
    """Entries of one stream for one consumer of a group, decoded, until `stop`; Redis errors are waited out."""

    def __init__(
        self,
        client: aioredis.Redis,
        stream: str,
        group: str,
        queue: QueueSettings,
        *,
        decode: Decode[T],
        on_health: Callable[[bool], None],
        dead_letter: Callable[[T, int], Awaitable[None]] | None = None,
        name: str | None = None,
    ) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._queue = queue
        self._decode = decode
        self._dead_letter = dead_letter
        self._on_health = on_health
        self.name = name or consumer_name()
        self.empty = False  # the last poll found nothing to read or take over, and nothing pending in the group
        self._renew = client.register_script(RENEW)
        # entries taken (read or reclaimed) and not yet handed to the caller: renewed with what the caller holds,
        # so a batch waiting for the caller's room is not taken over (and sent twice) meanwhile
        self._held: dict[str, None] = {}

    async def ensure_group(self) -> None:
        """Create the stream and its group when missing (every replica may try: BUSYGROUP is fine)."""
        try:
            await self._client.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def entries(self, stop: asyncio.Event) -> AsyncIterator[T]:
        """Reclaimed entries first, then new ones, until `stop` is set."""
        last_reclaim = float("-inf")
        while not stop.is_set():
            try:
                reclaimed: list[tuple[str, T]] = []
                if time.monotonic() - last_reclaim >= self._queue.claim_idle_s / 2:
                    last_reclaim = time.monotonic()
                    reclaimed = await self._reclaim()
                for entry_id, item in reclaimed:
                    self._held.pop(entry_id, None)
                    yield item
                read = await self._read()
                self.empty = not reclaimed and not read and not await self._pending()
                for entry_id, item in read:
                    self._held.pop(entry_id, None)
                    yield item
                self._on_health(True)
            except RedisError as exc:
                self._on_health(False)
                log.warning("queue.unavailable", error=str(exc), retryS=RETRY_S)
                await asyncio.sleep(RETRY_S)

    async def renew(self, entry_ids: list[str]) -> None:
        """Reset the idle time of these entries, and of those taken but not yet handed over, while they are
        still pending for this consumer (not those taken over)."""
        entry_ids = [*entry_ids, *self._held]
        for start in range(0, len(entry_ids), RENEW_CHUNK):
            await self._renew(
                keys=[self._stream], args=[self._group, self.name, *entry_ids[start : start + RENEW_CHUNK]]
            )

    async def _read(self) -> list[tuple[str, T]]:
        answer: Any = await self._client.xreadgroup(
            self._group,
            self.name,
            {self._stream: ">"},
            count=self._queue.read_count,
            block=int(self._queue.block_s * 1000),
        )
        return [
            self._take(entry_id, fields, 1) for _, entries in answer or [] for entry_id, fields in _present(entries)
        ]

    def _take(self, entry_id: str, fields: Fields, deliveries: int) -> tuple[str, T]:
        self._held[entry_id] = None
        return entry_id, self._decode(entry_id, fields, deliveries)

    async def _reclaim(self) -> list[tuple[str, T]]:
        """Entries idle longer than `claim_idle_s` in any consumer (a dead one's); with `dead_letter`,
        too-often-delivered ones are dead-lettered instead of returned."""
        taken: list[tuple[str, T]] = []
        cursor: Any = "0-0"
        while True:
            cursor, claimed, *_ = await self._client.xautoclaim(
                self._stream,
                self._group,
                self.name,
                min_idle_time=int(self._queue.claim_idle_s * 1000),
                start_id=cursor,
                count=CLAIM_COUNT,
            )
            for entry_id, fields in _present(claimed):
                deliveries = await self._times_delivered(entry_id)
                if self._dead_letter is not None and deliveries > self._queue.max_deliveries:
                    await self._dead_letter(self._decode(entry_id, fields, deliveries), deliveries)
                else:
                    log.info("queue.reclaimed", entry=entry_id, deliveries=deliveries)
                    taken.append(self._take(entry_id, fields, deliveries))
            if text(cursor) == "0-0":
                return taken

    async def _pending(self) -> int:
        """Entries delivered and not yet acknowledged, in any consumer of the group."""
        summary: Any = await self._client.xpending(self._stream, self._group)
        return int(summary["pending"])

    async def _times_delivered(self, entry_id: str) -> int:
        pending = await self._client.xpending_range(self._stream, self._group, entry_id, entry_id, 1)
        return int(pending[0]["times_delivered"]) if pending else 0


def _present(entries: Any) -> list[tuple[str, Fields]]:
    """(entry id, fields) of the entries still in the stream (one deleted while pending has no fields)."""
    return [(text(entry_id), fields) for entry_id, fields in entries if fields]


def text(value: Any) -> str:
    """A Redis reply (bytes) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)
