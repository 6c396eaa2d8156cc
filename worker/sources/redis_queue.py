"""The Redis Streams queue of `patch-worker consume redis://HOST:PORT/DB --stream NAME` (public contract).

    NAME          jobs: a producer runs `XADD NAME * job '<one input line>'`; consumer group `--group`
    NAME:results  one entry per job: `result` = the result JSON (with `messageId`, the job's entry id)
    NAME:dead     jobs given up after `queue.max_deliveries`: job, error (the last one), deliveries, messageId
    NAME:errors   hash entry id -> last error of a job released for another delivery (deleted when settled)

Settling is one Lua script per batch of results: XACK first, and only when that acknowledged the entry
(it was still pending: not settled by a consumer that had it before) the result is added and the entry
deleted, so every entry gets exactly one result however many consumers sent it. Reading, reclaiming and
renewing claims is `worker.sources.redis_stream`, shared with the distributed service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from worker.errors import ConfigError
from worker.redact import safe_url
from worker.sources.queue import Message, QueueSource, QueueTarget, QueueUnavailableError, Settlement
from worker.sources.redis_stream import Fields, RedisStreamSource, text

JOB_FIELD = b"job"

#: Settle results: per (entry id, result) pair, acknowledge, and only if that took it add the result and
#: delete the entry. KEYS: stream, results stream, errors hash. ARGV: group, id1, result1, id2, result2...
#: Returns 1 (settled) or 0 (already settled elsewhere) per pair.
SETTLE = """
local settled = {}
for i = 2, #ARGV, 2 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[2], '*', 'result', ARGV[i + 1])
    redis.call('XDEL', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
    settled[#settled + 1] = 1
  else
    settled[#settled + 1] = 0
  end
end
return settled
"""

#: Dead-letter one entry (same exactly-once rule as SETTLE). KEYS: stream, results, dead stream, errors hash.
#: ARGV: group, entry id, the job line, last error, deliveries, result. Returns 1, or 0 if settled elsewhere.
DEAD = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[3], '*', 'job', ARGV[3], 'error', ARGV[4], 'deliveries', ARGV[5], 'messageId', ARGV[2])
redis.call('XADD', KEYS[2], '*', 'result', ARGV[6])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
return 1
"""


def _message(entry_id: str, fields: Fields, deliveries: int) -> Message:
    """An entry as a message; one without a `job` field is an empty line (it gets a `rejected` result)."""
    return Message(id=entry_id, raw=bytes(fields.get(JOB_FIELD, b"")), deliveries=deliveries)


class RedisQueue:
    """One consumer of a job stream, in a consumer group."""

    def __init__(self, client: aioredis.Redis, target: QueueTarget, stream: str) -> None:
        self._client = client
        self._group = target.group
        self._settings = target.settings
        self._keys = [stream, f"{stream}:results", f"{stream}:errors"]
        self._dead_key = f"{stream}:dead"
        self._reader = RedisStreamSource(
            client, stream, target.group, target.settings, decode=_message, on_health=self._set_health
        )
        self._settle = client.register_script(SETTLE)
        self._dead = client.register_script(DEAD)
        self.name = self._reader.name
        self._healthy = True

    def _set_health(self, healthy: bool) -> None:
        self._healthy = healthy

    @property
    def healthy(self) -> bool:
        """False while Redis cannot be reached."""
        return self._healthy

    def is_empty(self) -> bool:
        """The last poll found neither a new entry nor one to take over."""
        return self._reader.empty

    async def messages(self, stop: asyncio.Event) -> AsyncIterator[Message]:
        """Entries taken over first, then new ones; a redelivered one carries its last error."""
        await self._reader.ensure_group()
        async for message in self._reader.entries(stop):
            yield await self._with_last_error(message) if message.deliveries > 1 else message

    async def _with_last_error(self, message: Message) -> Message:
        try:
            last = await self._client.hget(self._keys[2], message.id)
        except RedisError:
            return message
        return message if last is None else replace(message, last_error=text(last))

    async def settle(self, settled: Sequence[Settlement]) -> list[bool]:
        """Results added and entries acknowledged and deleted, in one script; False for one settled elsewhere."""
        args: list[str | bytes] = [self._group]
        for item in settled:
            args += [item.message.id, item.result]
        with _unavailable():
            answer = await self._settle(keys=self._keys, args=args)
        self._healthy = True
        return [bool(int(flag)) for flag in answer]

    async def release(self, message: Message, last_error: str) -> None:
        """Note the error and make the entry idle at once, so the next reclaim (by any consumer) takes it."""
        stream, _, errors = self._keys
        idle_ms = int(self._settings.claim_idle_s * 1000)
        pipe = self._client.pipeline(transaction=True)
        pipe.hset(errors, message.id, last_error)
        pipe.xclaim(stream, self._group, self.name, 0, [message.id], idle=idle_ms, justid=True)
        with _unavailable():
            await pipe.execute()

    async def dead_letter(self, message: Message, result: bytes, last_error: str) -> bool:
        """The job to NAME:dead with its last error, its `failed` result to NAME:results, the entry deleted."""
        stream, results, errors = self._keys
        args: list[str | bytes | int] = [self._group, message.id, message.raw, last_error, message.deliveries, result]
        with _unavailable():
            return bool(int(await self._dead(keys=[stream, results, self._dead_key, errors], args=args)))

    async def keep(self, messages: Sequence[Message]) -> None:
        """Renew this consumer's claim on the entries still in flight (not on those taken over)."""
        with _unavailable():
            await self._reader.renew([message.id for message in messages])


@contextmanager
def _unavailable() -> Iterator[None]:
    """Redis's errors as the queue interface's QueueUnavailableError."""
    try:
        yield
    except RedisError as exc:
        raise QueueUnavailableError(f"redis: {exc}") from exc


@asynccontextmanager
async def open_source(target: QueueTarget) -> AsyncIterator[QueueSource]:
    """Connect to Redis (ConfigError when it cannot be reached), for the life of `consume`."""
    if not target.stream:
        raise ConfigError(f"consume {safe_url(target.url)}: --stream NAME is required (the stream producers XADD to)")
    settings = target.settings
    if settings.block_s >= settings.socket_timeout_s:
        raise ConfigError("queue.block_s must be shorter than queue.socket_timeout_s (a blocked read would time out)")
    client = aioredis.Redis.from_url(
        target.url, socket_timeout=settings.socket_timeout_s, socket_connect_timeout=settings.socket_timeout_s
    )
    try:
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            raise ConfigError(f"cannot reach the queue at {safe_url(target.url)}: {exc}") from None
        yield RedisQueue(client, target, target.stream)
    finally:
        await client.aclose()
