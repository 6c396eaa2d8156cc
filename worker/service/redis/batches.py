"""Distributed mode (`service.queue: redis://...`): batches, results and jobs live in Redis.

Every replica serves the whole API from Redis (any replica answers for any batch) and consumes jobs through
one consumer group (`stream_worker.py`). An upload is received to local disk like in embedded mode, then its
lines are added to the job stream (pipelined XADDs) before the 202: once accepted, a batch no longer
depends on the replica that took it. See `redis_keys.py` for the layout.

Limit: a replica that dies *while* adding an upload's lines leaves that batch short of lines (it never
finishes; the client got no 202 and cancels or submits again).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from worker.answers import Execute, Sender
from worker.errors import ConfigError
from worker.record.metrics import MeteredSender, ServiceMetrics
from worker.redact import safe_url
from worker.send.halt import SystemicGuard
from worker.service.batches import (
    STATES,
    STATUSES,
    Batch,
    BatchConflictError,
    State,
    StoreUnavailableError,
    Upload,
    now,
)
from worker.service.redis.keys import CANCEL, PRUNE, Keys
from worker.service.redis.shared_rate import SharedRate, SharedRateSender
from worker.service.redis.stream_worker import Consumer
from worker.settings import Settings
from worker.sources.jsonl import JsonlSource

log = structlog.get_logger("worker.service")

PIPELINE_CHUNK = 500  # commands per Redis pipeline round trip (enqueueing lines, pruning batches)
RESULTS_CHUNK = 500


@contextmanager
def _unavailable() -> Iterator[None]:
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailableError(f"the queue (Redis) is unavailable: {exc}") from None


class RedisBatches:
    """`Batches` over Redis, with this replica's consumer."""

    def __init__(
        self,
        settings: Settings,
        client: aioredis.Redis,
        keys: Keys,
        metrics: ServiceMetrics,
        execute: Execute,
        *,
        guard: SystemicGuard | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._keys = keys
        self._cancel = client.register_script(CANCEL)
        self._prune = client.register_script(PRUNE)
        self.consumer = Consumer(settings, client, keys, metrics, execute, guard=guard)
        self._task: asyncio.Task[None] | None = None
        self._draining = False
        self._uploads = settings.service.state_dir / "uploads"

    @property
    def upload_dir(self) -> Path:
        """Bodies are received here before their lines go to the stream."""
        return self._uploads

    def start(self) -> None:
        """Start consuming (a previous process's pending jobs are reclaimed by whoever sees them idle)."""
        self._uploads.mkdir(parents=True, exist_ok=True)
        for leftover in self._uploads.glob("*.part"):
            leftover.unlink()
        self._task = asyncio.create_task(self.consumer.run(), name="queue-consumer")

    def ready(self) -> bool:
        """Redis answers and the replica is not draining."""
        return not self._draining and self.consumer.healthy

    async def drain(self) -> None:
        """Stop taking jobs; jobs in flight get the grace period; the rest stay pending for other replicas."""
        self._draining = True
        self.consumer.stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def accept(self, batch_id: str, upload: Upload, name: str | None) -> Batch:
        """Register the batch, add its lines to the stream, drop the local file."""
        moment = now()
        batch = Batch(
            id=batch_id,
            state="queued",
            created=moment,
            updated=moment,
            name=name,
            input_bytes=upload.size,
            total=upload.lines,
        )
        try:
            with _unavailable():
                seq = await self._client.incr(self._keys.seq)
                await self._client.hset(self._keys.batch(batch_id), mapping=_fields(batch))
                await self._client.zadd(self._keys.batches, {batch_id: seq})
                added = await self._enqueue(batch_id, upload.path)
        finally:
            await asyncio.to_thread(upload.path.unlink, missing_ok=True)
        log.info("batch.accepted", batchId=batch_id, bytes=upload.size, lines=added)
        return batch

    async def _enqueue(self, batch_id: str, path: Path) -> int:
        source = JsonlSource(str(path))
        added = 0
        try:
            pipe = self._client.pipeline(transaction=False)
            async for line_no, raw in source.lines():
                if not raw.strip():
                    continue  # blank lines get no result (and were not counted)
                pipe.xadd(self._keys.jobs, {"b": batch_id, "l": line_no, "d": raw})
                added += 1
                if len(pipe) >= PIPELINE_CHUNK:
                    await pipe.execute()
            await pipe.execute()
        finally:
            source.close()
        return added

    async def get(self, batch_id: str) -> Batch | None:
        """One batch."""
        with _unavailable():
            fields = await self._client.hgetall(self._keys.batch(batch_id))
        return _batch(batch_id, fields) if fields else None

    async def page(self, limit: int, cursor: str | None) -> tuple[list[Batch], str | None]:
        """Newest first; the cursor is the order number of the last batch shown."""
        top = f"({int(cursor)}" if cursor is not None and cursor.isdigit() else "+inf"
        with _unavailable():
            found: Any = await self._client.zrevrangebyscore(
                self._keys.batches, top, "-inf", start=0, num=limit + 1, withscores=True
            )
            shown = found[:limit]
            pipe = self._client.pipeline(transaction=False)
            for batch_id, _ in shown:
                pipe.hgetall(self._keys.batch(_text(batch_id)))
            rows = await pipe.execute()
        batches = [_batch(_text(batch_id), fields) for (batch_id, _), fields in zip(shown, rows, strict=True) if fields]
        following = str(int(shown[-1][1])) if len(found) > limit else None
        return batches, following

    async def cancel(self, batch_id: str) -> Batch | None:
        """Mark the batch cancelled: replicas stop sending its jobs and ack them without a result."""
        with _unavailable():
            changed = int(await self._cancel(keys=[self._keys.batch(batch_id)]))
        if changed == -1:
            return None
        if changed == 0:
            raise BatchConflictError(f"batch {batch_id} has already finished")
        log.info("batch.cancelled", batchId=batch_id)
        return await self.get(batch_id)

    async def prune(self, finished_before: float) -> int:
        """Delete old finished batches (any replica may do it; the script re-checks each one atomically)."""
        pruned = 0
        with _unavailable():
            ids = [_text(batch_id) for batch_id in await self._client.zrange(self._keys.batches, 0, -1)]
            for start in range(0, len(ids), PIPELINE_CHUNK):
                pipe = self._client.pipeline(transaction=False)
                for batch_id in ids[start : start + PIPELINE_CHUNK]:
                    keys = [
                        self._keys.batch(batch_id),
                        self._keys.results(batch_id),
                        self._keys.done(batch_id),
                        self._keys.batches,
                    ]
                    await self._prune(keys=keys, args=[finished_before, batch_id], client=pipe)
                pruned += sum(int(deleted) for deleted in await pipe.execute())
        return pruned

    async def results(self, batch_id: str) -> AsyncIterator[bytes]:
        """The result lines recorded so far, a chunk of lines per Redis call."""
        key = self._keys.results(batch_id)
        with _unavailable():
            count = await self._client.llen(key)
        for start in range(0, count, RESULTS_CHUNK):
            with _unavailable():
                lines = await self._client.lrange(key, start, min(start + RESULTS_CHUNK, count) - 1)
            yield b"".join(line if isinstance(line, bytes) else line.encode() for line in lines)

    async def count_by_state(self) -> dict[str, int]:
        """Batches per state (one HGET per batch, pipelined)."""
        with _unavailable():
            ids = await self._client.zrange(self._keys.batches, 0, -1)
            pipe = self._client.pipeline(transaction=False)
            for batch_id in ids:
                pipe.hget(self._keys.batch(_text(batch_id)), "state")
            states = await pipe.execute()
        counts: dict[str, int] = {}
        for state in states:
            if state is not None:
                counts[_text(state)] = counts.get(_text(state), 0) + 1
        return counts


@asynccontextmanager
async def open_backend(
    settings: Settings, metrics: ServiceMetrics
) -> AsyncIterator[tuple[Callable[[Execute, SystemicGuard | None], RedisBatches], Callable[[Sender], Sender]]]:
    """Connect to Redis (ConfigError when it cannot be reached) for the life of the service."""
    queue = settings.queue
    url = settings.service.queue
    assert url is not None
    if queue.block_s >= queue.socket_timeout_s:
        raise ConfigError("queue.block_s must be shorter than queue.socket_timeout_s (a blocked read would time out)")
    client = aioredis.Redis.from_url(
        url, socket_timeout=queue.socket_timeout_s, socket_connect_timeout=queue.socket_timeout_s
    )
    try:
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            raise ConfigError(f"cannot reach the queue at {safe_url(url)}: {exc}") from None
        keys = Keys(queue.prefix)
        rate = SharedRate(client, keys, settings)

        def wrap(sender: Sender) -> Sender:
            return SharedRateSender(MeteredSender(sender, metrics), rate)

        yield (lambda execute, guard: RedisBatches(settings, client, keys, metrics, execute, guard=guard)), wrap
    finally:
        await client.aclose()


def _fields(batch: Batch) -> dict[Any, Any]:
    fields: dict[Any, Any] = {
        "state": batch.state,
        "created": batch.created,
        "updated": batch.updated,
        "input_bytes": batch.input_bytes,
        "done": 0,
        **dict.fromkeys(STATUSES, 0),
    }
    if batch.name is not None:
        fields["name"] = batch.name
    if batch.total is not None:
        fields["total"] = batch.total
    return fields


def _batch(batch_id: str, raw: dict[Any, Any]) -> Batch:
    fields = {_text(key): _text(value) for key, value in raw.items()}
    state = fields.get("state", "queued")
    return Batch(
        id=batch_id,
        state=_state(state),
        created=float(fields.get("created", 0)),
        updated=float(fields.get("updated", 0)),
        name=fields.get("name"),
        input_bytes=int(fields.get("input_bytes", 0)),
        total=int(fields["total"]) if "total" in fields else None,
        counts={status: int(fields.get(status, 0)) for status in STATUSES},
        started=float(fields["started"]) if "started" in fields else None,
        finished=float(fields["finished"]) if "finished" in fields else None,
        error=fields.get("error"),
    )


def _state(text: str) -> State:
    for state in STATES:
        if state == text:
            return state
    return "queued"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
