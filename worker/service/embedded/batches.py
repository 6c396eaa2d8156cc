"""Embedded mode: one replica, batches in SQLite (`store.py`), each run by the pipeline core with its ledger.

A scheduler starts queued batches, oldest first, up to `service.max_parallel_batches` at once. Each batch
is one call of `worker.compose.process` over its input file, with the results file as its ledger (so a batch
started again after a crash sends only the lines without a result), the service's one sending stack (so
concurrent batches share each tenant's lane and never multiply its rate), and a stop event:

- DELETE sets it: the batch drains (jobs in flight get `run.grace_s`) and stays `cancelled`; then a
  second pass over its input, sending nothing, gives every line still without a result its one result
  (`failed`, kind `cancelled`, or its rejection). A batch cancelled while not running gets that pass at
  once, and a pass cut short by a stop is finished at the next start.
- SIGTERM sets it on every running batch (`drain`): they drain the same way and become `interrupted`;
  the next start resumes them, and every batch still queued.
- A systemic failure (`worker.send.systemic`: a tenant's credentials refused, a permission missing, Graph
  unreachable) halts that lane in every running batch: its lines get `not_sent` results, the batch ends
  `failed` with the cause as its `error`; other lanes go on, and a batch started later tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from worker.answers import Execute, Sender
from worker.compose import SharedStack, process
from worker.errors import PatchWorkerError
from worker.jobs import Outcome
from worker.record.ledger import Ledger
from worker.record.metrics import ServiceMetrics, metered_sender
from worker.record.recorder import ResultsRecorder
from worker.record.results import ResultsWriter
from worker.record.summary import RunSummary
from worker.send.halt import SystemicGuard, SystemicWatch
from worker.service.batches import (
    FINAL_STATES,
    Batch,
    BatchConflictError,
    State,
    Upload,
    final_state,
    not_sent,
    now,
)
from worker.service.embedded.store import BatchStore
from worker.settings import Settings
from worker.sources.jsonl import JsonlSource

log = structlog.get_logger("worker.service")

#: How often a running batch's counts are copied into SQLite.
MIRROR_S = 0.5
READ_CHUNK = 64 * 1024


@dataclass(slots=True)
class _Running:
    """A batch this process is running."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False
    task: asyncio.Task[None] | None = None


class MeteredRecorder:
    """The batch's results recorder, plus the service's metrics."""

    def __init__(self, inner: ResultsRecorder, metrics: ServiceMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def record(self, outcome: Outcome) -> None:
        """Write the result line (the durable part) first, then count it."""
        self._inner.record(outcome)
        self._metrics.observe_outcome(outcome)


class EmbeddedBatches:
    """`Batches` for one replica: SQLite index, a ledger per batch, a scheduler of batch runs."""

    def __init__(
        self,
        settings: Settings,
        store: BatchStore,
        metrics: ServiceMetrics,
        execute: Execute,
        *,
        guard: SystemicGuard | None = None,
    ) -> None:
        self._settings = settings
        self._guard = guard
        self._store = store
        self._metrics = metrics
        self._execute = execute
        self._wake = asyncio.Event()
        self._running: dict[str, _Running] = {}
        self._draining = False
        self._scheduler: asyncio.Task[None] | None = None
        self._closing: dict[str, asyncio.Task[None]] = {}

    @property
    def upload_dir(self) -> Path:
        """Bodies are received next to the batches, on the same file system (the move is a rename)."""
        return self._store.uploads

    def start(self) -> None:
        """Start the scheduler; it resumes every queued, running or interrupted batch, oldest first."""
        self._scheduler = asyncio.create_task(self._schedule(), name="batch-scheduler")

    def ready(self) -> bool:
        """Open and not draining."""
        return self._store.is_open and not self._draining

    async def drain(self) -> None:
        """Stop starting batches; let running ones drain (grace period) and leave them `interrupted`."""
        self._draining = True
        self._wake.set()
        for running in self._running.values():
            running.stop.set()
        tasks = [running.task for running in self._running.values() if running.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        for closing in self._closing.values():  # idempotent: the next start finishes them
            closing.cancel()
        await asyncio.gather(*self._closing.values(), return_exceptions=True)
        if self._scheduler is not None:
            self._scheduler.cancel()
            await asyncio.gather(self._scheduler, return_exceptions=True)

    async def accept(self, batch_id: str, upload: Upload, name: str | None) -> Batch:
        """Move the received body into the batch's folder and queue the batch."""
        target = self._store.input_path(batch_id)
        await asyncio.to_thread(_move, upload.path, target)
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
        await self._store.insert(batch)
        log.info("batch.accepted", batchId=batch_id, bytes=upload.size, lines=upload.lines)
        self._wake.set()
        return batch

    async def get(self, batch_id: str) -> Batch | None:
        """One batch."""
        return await self._store.get(batch_id)

    async def page(self, limit: int, cursor: str | None) -> tuple[list[Batch], str | None]:
        """A page of batches, newest first; the cursor is the store's sequence number."""
        before = int(cursor) if cursor is not None and cursor.isdigit() else None
        batches, next_seq = await self._store.page(limit, before)
        return batches, None if next_seq is None else str(next_seq)

    async def cancel(self, batch_id: str) -> Batch | None:
        """Mark the batch cancelled, then stop it if it runs here."""
        batch = await self._store.get(batch_id)
        if batch is None:
            return None
        if batch.state in FINAL_STATES:
            raise BatchConflictError(f"batch {batch_id} has already finished ({batch.state})")
        running = self._running.get(batch_id)
        if running is not None:  # before the store's update: the run must not write its own final state
            running.cancelled = True
        if not await self._store.cancel_if_unfinished(batch_id):
            raise BatchConflictError(f"batch {batch_id} has already finished")
        running = self._running.get(batch_id)  # again: it may have been launched while the store was busy
        if running is not None:
            running.cancelled = True
            running.stop.set()  # its run gives the unsent lines their results when it has drained
        else:
            self._close_later(batch_id)
        log.info("batch.cancelled", batchId=batch_id, wasRunning=running is not None)
        return await self._store.get(batch_id)

    async def prune(self, finished_before: float) -> int:
        """Delete old finished batches: the folder first, then the row (a crash between leaves a row to retry)."""
        pruned = 0
        for batch_id in await self._store.finished_before(finished_before):
            if batch_id in self._closing or batch_id in self._running:  # still writing its results
                continue
            await asyncio.to_thread(shutil.rmtree, self._store.batch_dir(batch_id), ignore_errors=True)
            await self._store.delete(batch_id)
            pruned += 1
        return pruned

    async def results(self, batch_id: str) -> AsyncIterator[bytes]:
        """The results file as far as it is written, whole lines only (a line being written is left out)."""
        path = self._store.batch_dir(batch_id) / "results.jsonl"
        try:
            stream = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            return
        try:
            pending = b""
            while chunk := await asyncio.to_thread(stream.read, READ_CHUNK):
                chunk = pending + chunk
                cut = chunk.rfind(b"\n") + 1
                pending = chunk[cut:]
                if cut:
                    yield chunk[:cut]
        finally:
            await asyncio.to_thread(stream.close)

    async def count_by_state(self) -> dict[str, int]:
        """Batches per state."""
        return await self._store.count_by_state()

    async def _schedule(self) -> None:
        for batch in await self._store.with_state("cancelled"):
            if batch.total is None or batch.done < batch.total:  # a pass cut short by the last stop
                self._close_later(batch.id)
        limit = self._settings.service.max_parallel_batches
        while not self._draining:
            self._wake.clear()
            if len(self._running) < limit:
                waiting = await self._store.with_state("running", "interrupted", "queued")
                for batch in waiting:
                    if len(self._running) >= limit or self._draining:
                        break
                    if batch.id not in self._running:
                        self._launch(batch)
            await self._wake.wait()

    def _launch(self, batch: Batch) -> None:
        running = self._running[batch.id] = _Running()
        running.task = asyncio.create_task(self._run(batch, running), name=f"batch-{batch.id}")

    async def _run(self, batch: Batch, running: _Running) -> None:
        try:
            if not await self._store.set_state(batch.id, "running"):  # cancelled since the scheduler looked
                self._close_later(batch.id)
                return
            log.info("batch.started", batchId=batch.id, resumed=batch.state != "queued")
            state, error = await self._process(batch, running)
        except Exception as exc:  # a batch that cannot go on fails alone; the service goes on
            state, error = "failed", _reason(exc)
            log.exception("batch.crashed", batchId=batch.id)
        finally:
            del self._running[batch.id]
            self._wake.set()
        if running.cancelled:
            self._close_later(batch.id)
        else:
            await self._store.set_state(batch.id, state, error=error)
        log.info("batch.finished", batchId=batch.id, state="cancelled" if running.cancelled else state)

    async def _process(self, batch: Batch, running: _Running) -> tuple[State, str | None]:
        try:
            with self._watch() as watch:
                summary = await self._pass(batch.id, self._execute, running.stop, watch)
        except PatchWorkerError as exc:  # e.g. the input is gone or the results cannot be written
            return "failed", str(exc)
        if running.stop.is_set():
            return ("cancelled" if running.cancelled else "interrupted"), None
        if summary.stopped_by:  # a lane halted: its lines have `not_sent` results
            return "failed", f"stopped: {summary.stopped_by}"
        return final_state(summary.by_status), None

    def _watch(self) -> contextlib.AbstractContextManager[SystemicWatch | None]:
        return contextlib.nullcontext() if self._guard is None else self._guard.watch()

    async def _pass(
        self, batch_id: str, execute: Execute, stop: asyncio.Event | None, watch: SystemicWatch | None = None
    ) -> RunSummary:
        """One pass of the pipeline over the batch's lines without a result, appending to its results file."""
        ledger = await asyncio.to_thread(Ledger.open, self._store.batch_dir(batch_id), self._input(batch_id), None)
        source = JsonlSource(self._input(batch_id))
        summary = RunSummary()
        summary.add_previous(ledger.previous)
        writer = ResultsWriter(str(ledger.results), append=True, each_line=True)
        mirror = asyncio.create_task(self._mirror(batch_id, summary))
        try:
            await process(
                self._settings,
                source,
                MeteredRecorder(ResultsRecorder(writer, summary), self._metrics),
                sending=SharedStack(execute, watch),
                summary=summary,
                skip=ledger.done.__contains__,
                stop=stop,
            )
        finally:
            mirror.cancel()
            source.close()
            with contextlib.suppress(PatchWorkerError):
                await asyncio.to_thread(writer.close)
            await self._store.set_counts(batch_id, summary.by_status)
        return summary

    def _input(self, batch_id: str) -> str:
        return str(self._store.input_path(batch_id))

    def _close_later(self, batch_id: str) -> None:
        """Start the pass that gives a cancelled batch's unsent lines their results (once per batch)."""
        if batch_id not in self._closing and not self._draining:
            self._closing[batch_id] = asyncio.create_task(self._close(batch_id), name=f"close-{batch_id}")

    async def _close(self, batch_id: str) -> None:
        try:
            summary = await self._pass(batch_id, not_sent, None)
            log.info("batch.closed", batchId=batch_id, counts=dict(summary.by_status))
        except PatchWorkerError as exc:
            log.exception("batch.close_failed", batchId=batch_id, error=str(exc))
        finally:
            del self._closing[batch_id]

    async def _mirror(self, batch_id: str, summary: RunSummary) -> None:
        while True:
            await asyncio.sleep(MIRROR_S)
            await self._store.set_counts(batch_id, dict(summary.by_status))


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source.replace(target)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@asynccontextmanager
async def open_backend(
    settings: Settings, metrics: ServiceMetrics
) -> AsyncIterator[tuple[Callable[[Execute, SystemicGuard | None], EmbeddedBatches], Callable[[Sender], Sender]]]:
    """The SQLite index under `service.state_dir`, open for the life of the service."""
    store = BatchStore(settings.service.state_dir)
    await store.open()
    try:

        def embedded(execute: Execute, guard: SystemicGuard | None) -> EmbeddedBatches:
            return EmbeddedBatches(settings, store, metrics, execute, guard=guard)

        yield embedded, metered_sender(metrics)
    finally:
        await store.close()
