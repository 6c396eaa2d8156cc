"""One replica's consumer of the job stream: the pipeline core fed by XREADGROUP, recording into Redis.

The same `Pipeline` as `run` (validate -> lanes -> send -> record), for the life of the process:

- source (`lines`): `worker.sources.redis_stream` (reclaimed jobs first, then new ones). Each delivery gets
  a sequence number of this replica's (`Job.seq`), so lines of many batches can be in flight at once;
  `parse` validates the line under its real line number (`Job.line`) and `record` finds the delivery by `seq`.
- record: outcomes go to a writer task that runs one Lua script per result: result pushed and counted
  once per line (a bitmap guards against a second delivery), then XACK + XDEL. A crash before that
  leaves the job pending, and another replica sends it again: at least once to Graph, exactly one result.
- claims: a heartbeat renews this replica's claim on the jobs it holds (XCLAIM JUSTID, only those still
  its own), so a slow job is never taken over; a dead replica's jobs go idle and are reclaimed after
  `claim_idle_s`.
- dead letters: a job reclaimed more than `max_deliveries` times goes to the dead-letter stream with its
  last error and gets a `failed` result (kind `delivery_limit`).
- cancel: a job of a cancelled batch is not sent; it is recorded as `failed` with error kind `cancelled`
  (a job already sent when the batch was cancelled keeps its real result).
- systemic failures (`worker.send.systemic`): once a lane is halted, the jobs of that lane in the batches
  that had jobs here then are not sent (`failed`, kind `not_sent`), and the batch's `error` names the
  cause; a batch first seen later tries the lane again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from worker.answers import Execute
from worker.compose import parse_input_line
from worker.jobs import ErrorInfo, FieldError, Job, Outcome, Rejected, result_line
from worker.models.registry import graph_version
from worker.pipeline.run import Pipeline
from worker.record.metrics import ServiceMetrics
from worker.send.halt import BatchHalts, SystemicGuard
from worker.service.batches import not_sent
from worker.service.redis.keys import GROUP, RECORD, Keys
from worker.settings import GraphSettings, Settings
from worker.sources.jsonl import DEFAULT_MAX_LINE_BYTES, OVERSIZED
from worker.sources.redis_stream import RETRY_S, Delivery, RedisStreamSource, decode_delivery, text

log = structlog.get_logger("worker.service.queue")

RECORD_BATCH = 200  # results written per Redis round trip
STATE_CACHE_S = 0.5  # how stale a batch's "cancelled" may be when deciding whether to send a job
FLUSH_TIMEOUT_S = 10.0


class Consumer:
    """Takes jobs from the stream and runs them through the pipeline until `stop`."""

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
        self._guard = guard
        self._halts = None if guard is None else BatchHalts(guard, self._running_batches)
        self._queue = settings.queue
        self._client = client
        self._keys = keys
        self._metrics = metrics
        self._execute_job = execute
        self._source = RedisStreamSource(
            client,
            keys.jobs,
            GROUP,
            settings.queue,
            decode=decode_delivery,
            dead_letter=self._dead_letter,
            on_health=self._set_health,
        )
        self.name = self._source.name
        self.stop = asyncio.Event()
        self.healthy = True
        self.in_flight: dict[int, Delivery] = {}
        self._next_seq = 0
        self._results: asyncio.Queue[tuple[int | None, Delivery, Outcome]] = asyncio.Queue()
        self._record = client.register_script(RECORD)
        self._states: dict[str, tuple[float, str | None]] = {}

    async def run(self) -> None:
        """Consume until `stop`, then drain (jobs in flight get `run.grace_s`) and flush recorded results."""
        await self._source.ensure_group()
        writer = asyncio.create_task(self._write_results(), name="queue-writer")
        heartbeat = asyncio.create_task(self._heartbeat(), name="queue-heartbeat")
        pipeline = Pipeline(
            source=self,
            parse=self._parse,
            execute=self._execute,
            recorder=self,
            workers_per_lane=self._settings.run.concurrency * self._settings.run.batch_size,
            grace_s=self._settings.run.grace_s,
            stop=self.stop,
        )
        log.info("queue.consuming", consumer=self.name, stream=self._keys.jobs)
        try:
            with self._listening():
                await pipeline.run()
        finally:
            await self._flush(writer)
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            await self._note_unfinished()

    # --- source ---------------------------------------------------------------------------------------

    async def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        """Deliveries as (sequence number, raw line), reclaimed ones first, until `stop`."""
        async for taken in self._source.entries(self.stop):
            yield self._register(taken)

    def _register(self, delivery: Delivery) -> tuple[int, bytes]:
        self._next_seq += 1
        self.in_flight[self._next_seq] = delivery
        return self._next_seq, delivery.raw

    def _set_health(self, healthy: bool) -> None:
        self.healthy = healthy

    async def _dead_letter(self, delivery: Delivery, deliveries: int) -> None:
        last = await self._client.hget(self._keys.errors, delivery.entry_id)
        reason = text(last) if last else "the replicas that took it stopped before recording a result"
        await self._client.xadd(
            self._keys.dead,
            {
                "b": delivery.batch_id,
                "l": delivery.line,
                "d": delivery.raw,
                "deliveries": deliveries,
                "error": reason,
                "entry": delivery.entry_id,
            },
        )
        message = f"delivered {deliveries} times without a result (queue.max_deliveries); last error: {reason}"
        outcome = Outcome(
            job_id=_job_id(delivery, self._settings.graph),
            line=delivery.line,
            status="failed",
            http_status=None,
            attempts=0,
            elapsed_ms=0.0,
            client_request_id=None,
            error=ErrorInfo(kind="delivery_limit", message=message),
        )
        await self._write([(None, delivery, outcome)])
        log.warning("queue.dead_lettered", entry=delivery.entry_id, batchId=delivery.batch_id, line=delivery.line)

    # --- parse and execute ------------------------------------------------------------------------------

    def _parse(self, raw: bytes, seq: int) -> Job | Rejected | None:
        delivery = self.in_flight[seq]
        parsed = _parse(delivery, self._settings.graph)
        return replace(parsed, seq=seq)  # `record` finds the delivery by it

    async def _execute(self, job: Job) -> Outcome:
        delivery = self.in_flight[job.seq]
        if await self._cancelled(delivery.batch_id):  # not sent; recorded as `failed`, kind `cancelled`
            return await not_sent(job)
        held = await self._halted(delivery.batch_id, job)
        return held if held is not None else await self._execute_job(job)

    def _listening(self) -> contextlib.AbstractContextManager[None]:
        if self._guard is None or self._halts is None:
            return contextlib.nullcontext()
        return self._guard.listen(self._halts.on_trip)

    def _running_batches(self) -> Iterator[str]:
        return (delivery.batch_id for delivery in self.in_flight.values())

    async def _halted(self, batch_id: str, job: Job) -> Outcome | None:
        """The `not_sent` result of a job whose lane is halted in its batch (the batch's `error` says why once)."""
        held = None if self._halts is None else self._halts.hold(batch_id, job)
        cause = None if held is None or self._halts is None else self._halts.report(batch_id)
        if cause is not None:
            try:
                await self._client.hset(self._keys.batch(batch_id), "error", f"stopped: {cause}")
            except RedisError as exc:
                log.warning("queue.note_failed", error=str(exc))
        return held

    async def _cancelled(self, batch_id: str) -> bool:
        now = time.monotonic()
        cached = self._states.get(batch_id)
        if cached is None or now - cached[0] > STATE_CACHE_S:
            try:
                state = await self._client.hget(self._keys.batch(batch_id), "state")
            except RedisError:
                state = None if cached is None else cached[1]
            cached = self._states[batch_id] = (now, None if state is None else text(state))
        return cached[1] == "cancelled"

    # --- record -----------------------------------------------------------------------------------------

    def record(self, outcome: Outcome) -> None:
        """Hand one outcome to the writer (the pipeline's recorder; Redis is written off the pipeline's path)."""
        self._results.put_nowait((outcome.seq, self.in_flight[outcome.seq], outcome))

    async def _write_results(self) -> None:
        while True:
            items = [await self._results.get()]
            while len(items) < RECORD_BATCH and not self._results.empty():
                items.append(self._results.get_nowait())
            while True:
                try:
                    await self._write(items)
                    break
                except RedisError as exc:
                    self.healthy = False
                    log.warning("queue.record_failed", error=str(exc), retryS=RETRY_S, results=len(items))
                    await asyncio.sleep(RETRY_S)
            for _ in items:
                self._results.task_done()

    async def _write(self, items: list[tuple[int | None, Delivery, Outcome]]) -> None:
        keys = self._keys
        pipe = self._client.pipeline(transaction=False)
        for _, delivery, outcome in items:
            await self._record(
                keys=[
                    keys.batch(delivery.batch_id),
                    keys.done(delivery.batch_id),
                    keys.results(delivery.batch_id),
                    keys.jobs,
                    keys.errors,
                ],
                args=[delivery.line, result_line(outcome), outcome.status, GROUP, delivery.entry_id],
                client=pipe,
            )
        recorded = await pipe.execute()
        self.healthy = True
        for (seq, _, outcome), fresh in zip(items, recorded, strict=True):
            if fresh == 1:
                self._metrics.observe_outcome(outcome)
            if seq is not None:
                self.in_flight.pop(seq, None)

    async def _flush(self, writer: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(self._results.join(), FLUSH_TIMEOUT_S)
        except TimeoutError:
            log.warning("queue.flush_timeout", unrecorded=self._results.qsize())
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)

    # --- claims ---------------------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._queue.claim_idle_s / 3)
            ids = [delivery.entry_id for delivery in self.in_flight.values()]
            try:
                await self._source.renew(ids)
            except RedisError as exc:
                log.warning("queue.renew_failed", error=str(exc))

    async def _note_unfinished(self) -> None:
        """Leave a last error on the jobs this replica gives up at shutdown (they are reclaimed by others)."""
        if not self.in_flight:
            return
        reason = f"replica {self.name} shut down before recording a result"
        try:
            await self._client.hset(
                self._keys.errors, mapping={delivery.entry_id: reason for delivery in self.in_flight.values()}
            )
        except RedisError as exc:
            log.warning("queue.note_failed", error=str(exc))
        log.warning("queue.left_pending", jobs=len(self.in_flight), claimIdleS=self._queue.claim_idle_s)


def _parse(delivery: Delivery, graph: GraphSettings) -> Job | Rejected:
    raw = OVERSIZED if delivery.raw == OVERSIZED else delivery.raw  # the source's marker, by identity
    parsed = parse_input_line(
        raw,
        delivery.line,
        default_tenant=graph.default_tenant,
        max_line_bytes=DEFAULT_MAX_LINE_BYTES,
        version=graph_version(graph.base_url),
    )
    if parsed is None:  # never enqueued, but a result for every entry keeps the stream clean
        error = FieldError(loc="", message="blank line", type="blank_line")
        return Rejected(str(delivery.line), delivery.line, "blank_line", "blank line", (error,))
    return parsed


def _job_id(delivery: Delivery, graph: GraphSettings) -> str:
    return _parse(delivery, graph).job_id
