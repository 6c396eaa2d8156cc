"""One consumer of a queue: the pipeline of `run` fed by a `QueueSource`, and every message settled once.

- source: each message gets a sequence number of this consumer's (`Job.seq`; its `line` is None), handed to
  the pipeline where a file's line number goes, and `record` finds the message by it; at most
  `max_in_flight` messages are held at once (memory, and the jobs a killed consumer leaves to be sent again).
- record: outcomes go to a writer task, off the pipeline's path, which settles them in batches through the
  source (result written, then the message removed: exactly one result per message) and waits out a queue
  that is away (`QueueUnavailableError`), trying the same items again.
- the delivery rules, the same for every backend: a retryable failure (5xx, 429, no answer, once the retry
  policy gave up) is released for another delivery, or dead-lettered with its result when this was
  delivery `max_deliveries`; a message delivered more often than that (its consumers died) is
  dead-lettered at once without being sent; any other outcome is settled.
- claims: a heartbeat extends the claim on the messages held (`keep`), every `claim_idle_s / 3`: those in
  flight and the one waiting for room (a backend also keeps what it has taken and not yet handed over).
- stop: a systemic failure (credentials refused, ...) stops the consumer like SIGTERM; messages without a
  result are released at the end with the reason, so another consumer takes them at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Literal

import orjson
import structlog

from worker.answers import Execute
from worker.compose import parse_input_line
from worker.jobs import ErrorInfo, FieldError, Job, Outcome, Rejected, result_fields
from worker.models.registry import graph_version
from worker.pipeline.protocols import Hold
from worker.pipeline.run import Pipeline
from worker.record.metrics import ServiceMetrics
from worker.record.recorder import ResultsRecorder
from worker.record.summary import NOT_SENT
from worker.settings import GraphSettings, Settings
from worker.sources.jsonl import DEFAULT_MAX_LINE_BYTES, OVERSIZED
from worker.sources.queue import Message, QueueSource, QueueUnavailableError, Settlement

log = structlog.get_logger("worker.consume")

RETRY_S = 1.0  # pause before writing again to a queue that is away
SETTLE_BATCH = 200  # results settled per round trip
FLUSH_TIMEOUT_S = 10.0  # how long the last results may take to be written at shutdown
DELIVERY_LIMIT = "delivery_limit"

Action = Literal["settle", "release", "dead"]


@dataclass(frozen=True, slots=True)
class _Done:
    """An outcome on its way to the queue, and what to do with its message."""

    seq: int | None  # None: a message never given to the pipeline (dead-lettered on arrival)
    message: Message
    outcome: Outcome
    action: Action
    error: str = ""  # the last error, for `release` and `dead`


def retryable(outcome: Outcome) -> bool:
    """A failure another delivery may cure: no HTTP answer, 429 or 5xx (a job that was sent)."""
    error = outcome.error
    if outcome.status != "failed" or error is None or error.kind == NOT_SENT:
        return False
    status = outcome.http_status
    return status is None or status == 429 or status >= 500


class QueueConsumer:
    """Takes messages from a queue source and runs them through the pipeline until `stop`."""

    def __init__(
        self,
        settings: Settings,
        source: QueueSource,
        execute: Execute,
        *,
        recorder: ResultsRecorder,
        metrics: ServiceMetrics,
        stop: asyncio.Event,
        hold: Hold | None = None,
    ) -> None:
        self._settings = settings
        self._source = source
        self._execute = execute
        self._recorder = recorder
        self._metrics = metrics
        self._hold = hold
        self.stop = stop
        self.in_flight: dict[int, Message] = {}
        self._waiting: Message | None = None  # taken from the queue, waiting for room: its claim is kept too
        self._seq = 0
        self._room = asyncio.Event()
        self._done: asyncio.Queue[_Done] = asyncio.Queue()
        self.valid_jobs = 0

    async def run(self, *, until_empty_s: float | None = None) -> None:
        """Consume until `stop` (or, with `until_empty_s`, until the queue has been idle that long), then drain."""
        run = self._settings.run
        workers_per_lane = run.concurrency * run.batch_size
        pipeline = Pipeline(
            source=self,
            parse=self._parse,
            execute=self._execute,
            recorder=self,
            workers_per_lane=workers_per_lane,
            grace_s=run.grace_s,
            stop=self.stop,
            hold=self._hold,
            max_workers=max(4 * self._settings.graph.max_connections, 2 * workers_per_lane),
        )
        helpers = [self._heartbeat(), self._wake_on_stop()]
        if until_empty_s is not None:
            helpers.append(self._until_empty(until_empty_s))
        tasks = [asyncio.create_task(helper) for helper in helpers]
        writer = asyncio.create_task(self._write_forever(), name="queue-writer")
        log.info("consume.started", consumer=self._source.name, maxInFlight=self._settings.queue.max_in_flight)
        try:
            await pipeline.run()
        finally:
            await self._flush(writer)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._give_back()
            self.valid_jobs = pipeline.valid_jobs

    # --- source ---------------------------------------------------------------------------------------

    async def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        """Messages as (sequence number, raw line), at most `queue.max_in_flight` held at once."""
        max_deliveries = self._settings.queue.max_deliveries
        async for message in self._source.messages(self.stop):
            if message.deliveries > max_deliveries:
                self._give_up(message)
                continue
            self._waiting = message
            await self._wait_for_room()
            self._waiting = None
            self._seq += 1
            self.in_flight[self._seq] = message
            yield self._seq, OVERSIZED if len(message.raw) > DEFAULT_MAX_LINE_BYTES else message.raw

    async def _wait_for_room(self) -> None:
        while len(self.in_flight) >= self._settings.queue.max_in_flight and not self.stop.is_set():
            self._room.clear()
            await self._room.wait()

    async def _wake_on_stop(self) -> None:
        await self.stop.wait()
        self._room.set()

    def _give_up(self, message: Message) -> None:
        """A message delivered past `max_deliveries`: dead-lettered with a `failed` result, not sent."""
        reason = message.last_error or "the consumers that took it stopped before recording a result"
        text = f"delivered {message.deliveries} times without a result (queue.max_deliveries); last error: {reason}"
        outcome = Outcome(
            job_id=self._job_id(message),
            line=None,
            status="failed",
            http_status=None,
            attempts=0,
            elapsed_ms=0.0,
            client_request_id=None,
            error=ErrorInfo(kind=DELIVERY_LIMIT, message=text),
        )
        self._done.put_nowait(_Done(None, message, outcome, "dead", reason))

    # --- parse ----------------------------------------------------------------------------------------

    def _parse(self, raw: bytes, seq: int) -> Job | Rejected:
        parsed = _parsed(raw, seq, self._settings.graph)
        # no jobId of its own: the message id names it, not our sequence number
        job_id = self.in_flight[seq].id if parsed.job_id == str(seq) else parsed.job_id
        return replace(parsed, job_id=job_id, line=None, seq=seq)  # a message has no line number

    def _job_id(self, message: Message) -> str:
        parsed = _parsed(message.raw, 0, self._settings.graph)
        return message.id if parsed.job_id == "0" else parsed.job_id

    # --- record ---------------------------------------------------------------------------------------

    def record(self, outcome: Outcome) -> None:
        """Decide what becomes of the outcome's message and hand it to the writer (the pipeline's recorder)."""
        seq = outcome.seq
        message = self.in_flight[seq]
        error = outcome.error
        if error is not None and error.kind == NOT_SENT:  # a systemic failure: stop, give the message back
            self.stop.set()
            return
        if not retryable(outcome) or error is None:
            self._done.put_nowait(_Done(seq, message, outcome, "settle"))
            return
        reason = _describe(outcome.http_status, error)
        last = message.deliveries >= self._settings.queue.max_deliveries
        self._done.put_nowait(_Done(seq, message, outcome, "dead" if last else "release", reason))

    async def _write_forever(self) -> None:
        while True:
            items = [await self._done.get()]
            while len(items) < SETTLE_BATCH and not self._done.empty():
                items.append(self._done.get_nowait())
            while True:
                try:
                    await self._write(items)
                    break
                except QueueUnavailableError as exc:
                    log.warning("consume.record_failed", error=str(exc), retryS=RETRY_S, results=len(items))
                    await asyncio.sleep(RETRY_S)
            for _ in items:
                self._done.task_done()

    async def _write(self, items: list[_Done]) -> None:
        """Every item to the queue; safe to repeat (a message already settled is not settled twice)."""
        settles = [item for item in items if item.action == "settle"]
        if settles:
            fresh = await self._source.settle([Settlement(item.message, self._result(item)) for item in settles])
            for item, new in zip(settles, fresh, strict=True):
                if new:
                    self._count(item.outcome)
        for item in items:
            if item.action == "release":
                await self._source.release(item.message, item.error)
                log.info("consume.released", messageId=item.message.id, deliveries=item.message.deliveries)
            elif item.action == "dead" and await self._source.dead_letter(item.message, self._result(item), item.error):
                self._count(item.outcome)
                log.warning("consume.dead_lettered", messageId=item.message.id, deliveries=item.message.deliveries)
        for item in items:
            self._forget(item.seq)

    def _result(self, item: _Done) -> bytes:
        return orjson.dumps({**result_fields(item.outcome), "line": None, "messageId": item.message.id})

    def _count(self, outcome: Outcome) -> None:
        self._recorder.record(outcome)
        self._metrics.observe_outcome(outcome)

    def _forget(self, seq: int | None) -> None:
        if seq is not None:
            self.in_flight.pop(seq, None)
            if len(self.in_flight) < self._settings.queue.max_in_flight:
                self._room.set()

    async def _flush(self, writer: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(self._done.join(), FLUSH_TIMEOUT_S)
        except TimeoutError:
            log.warning("consume.flush_timeout", unrecorded=self._done.qsize())
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)

    # --- claims and the end ---------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._settings.queue.claim_idle_s / 3)
            held = [*self.in_flight.values(), *([] if self._waiting is None else [self._waiting])]
            try:
                await self._source.keep(held)
            except QueueUnavailableError as exc:
                log.warning("consume.keep_failed", error=str(exc))

    async def _until_empty(self, idle_s: float) -> None:
        """Set `stop` once the queue has been empty, with nothing in flight, for `idle_s` seconds."""
        quiet_since: float | None = None
        while not self.stop.is_set():
            await asyncio.sleep(min(0.1, idle_s / 4))
            if not self._source.is_empty() or self.in_flight or not self._done.empty():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= idle_s:
                log.info("consume.queue_empty", idleS=idle_s)
                self.stop.set()

    async def _give_back(self) -> None:
        """Release the messages left without a result, so another consumer takes them without waiting."""
        if not self.in_flight:
            return
        reason = f"consumer {self._source.name} stopped before recording a result"
        try:
            for message in self.in_flight.values():
                await self._source.release(message, reason)
        except QueueUnavailableError as exc:
            log.warning("consume.release_failed", error=str(exc))
        log.warning("consume.left_in_queue", messages=len(self.in_flight))


def _describe(http_status: int | None, error: ErrorInfo) -> str:
    """A last error in one line: "HTTP 503 serviceUnavailable: message" (no status for no answer)."""
    head = error.kind if http_status is None else f"HTTP {http_status} {error.kind}"
    return f"{head}: {error.message}" if error.message else head


def _parsed(raw: bytes, seq: int, graph: GraphSettings) -> Job | Rejected:
    """The message's line parsed like a line of a file (with the models of the base URL's Graph version); an
    empty message is rejected (it has a result too)."""
    parsed = parse_input_line(
        raw,
        seq,
        default_tenant=graph.default_tenant,
        max_line_bytes=DEFAULT_MAX_LINE_BYTES,
        version=graph_version(graph.base_url),
    )
    if parsed is None:
        error = FieldError(loc="", message="empty message", type="blank_line")
        return Rejected(str(seq), seq, "blank_line", "empty message", (error,))
    return parsed
