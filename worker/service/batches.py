"""What the API knows of a batch (`Batch`), and the seam between the HTTP routes and a mode (`Batches`).

Two modes implement `Batches`: the embedded one (`embedded.py`: SQLite + a results file per batch, one
replica) and the distributed one (`distributed.py`: Redis, any number of replicas).

States:

    queued ──> running ──> succeeded     every line has a result and every job succeeded
                 │    └──> failed        every line has a result, some failed or were rejected; or the batch
                 │                       could not go on (`error` says why)
                 ├──> interrupted        the service stopped (SIGTERM) mid-batch: resumed when it starts again
                 └──> cancelled          DELETE /v1/batches/{id} (from queued, running or interrupted): jobs
                                         in flight finish; every line never sent still gets its one result,
                                         `failed` with error kind `cancelled` (or its rejection)

The API shows a cancelled batch as `cancelling` (no `finishedAt`) until every line has its result: jobs in
flight still finish after the DELETE, so counts move until then, and `cancelled` means they are final.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from worker.errors import PatchWorkerError
from worker.jobs import ErrorInfo, Job, Outcome

State = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
STATES: tuple[State, ...] = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
STATUSES = ("succeeded", "failed", "rejected")

_ID = re.compile(r"[0-9a-f]{32}")


async def not_sent(job: Job) -> Outcome:
    """The result of a job of a cancelled batch that was never sent (an `Execute` that sends nothing)."""
    return Outcome(
        job_id=job.job_id,
        line=job.line,
        status="failed",
        http_status=None,
        attempts=0,
        elapsed_ms=0.0,
        client_request_id=None,
        error=ErrorInfo(kind="cancelled", message="not sent: the batch was cancelled before this line's turn"),
        seq=job.seq,
    )


def new_batch_id() -> str:
    """A fresh batch id: 32 hex digits (a random UUID), never derived from anything the client sent."""
    return uuid.uuid4().hex


def is_batch_id(text: str) -> bool:
    """True when `text` has the shape of a batch id (anything else is simply not found)."""
    return _ID.fullmatch(text) is not None


def final_state(counts: Mapping[str, int]) -> State:
    """The state of a batch whose every line has a result."""
    return "succeeded" if counts.get("failed", 0) == 0 and counts.get("rejected", 0) == 0 else "failed"


@dataclass(slots=True)
class Batch:
    """One submitted batch, as the store keeps it."""

    id: str
    state: State
    created: float
    updated: float
    name: str | None = None
    input_bytes: int = 0
    total: int | None = None  # lines that get a result (blank lines do not); None until known
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    started: float | None = None
    finished: float | None = None
    error: str | None = None

    @property
    def done(self) -> int:
        """Lines with a result so far."""
        return sum(self.counts.get(status, 0) for status in STATUSES)

    def to_json(self) -> dict[str, Any]:
        """The API's view of the batch."""
        total = self.total
        progress = None if not total else round(min(1.0, self.done / total), 4)
        draining = self.state == "cancelled" and (total is None or self.done < total)
        return {
            "id": self.id,
            "name": self.name,
            "state": "cancelling" if draining else self.state,
            "createdAt": _iso(self.created),
            "updatedAt": _iso(self.updated),
            "startedAt": _iso(self.started),
            "finishedAt": None if draining else _iso(self.finished),
            "inputBytes": self.input_bytes,
            "total": total,
            "done": self.done,
            "progress": progress,
            "counts": {status: self.counts.get(status, 0) for status in STATUSES},
            "error": None if self.error is None else {"code": "batch_failed", "message": self.error},
            "links": links(self.id),
        }


def links(batch_id: str) -> dict[str, str]:
    """Where a batch and its results are."""
    return {"self": f"/v1/batches/{batch_id}", "results": f"/v1/batches/{batch_id}/results"}


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> float:
    """Wall-clock seconds (stored timestamps are wall clock: they must survive a restart)."""
    return time.time()


@dataclass(frozen=True, slots=True)
class Upload:
    """A request body written to disk: where, how big, and how many lines will get a result."""

    path: Path
    size: int
    lines: int


class BatchConflictError(PatchWorkerError):
    """The batch is in a state that does not allow the request (e.g. cancelling a finished batch)."""


class StoreUnavailableError(PatchWorkerError):
    """The store (Redis in distributed mode) cannot be reached: the API answers 503."""


class Batches(Protocol):
    """What the HTTP routes need from a mode."""

    @property
    def upload_dir(self) -> Path:
        """Where request bodies are received (`ID.part`) before `accept`."""
        ...

    async def accept(self, batch_id: str, upload: Upload, name: str | None) -> Batch:
        """Take ownership of an uploaded file and queue it as a new batch."""
        ...

    async def get(self, batch_id: str) -> Batch | None:
        """One batch, or None."""
        ...

    async def page(self, limit: int, cursor: str | None) -> tuple[list[Batch], str | None]:
        """Batches newest first, `limit` at most, after `cursor`; and the cursor of the next page (or None)."""
        ...

    async def cancel(self, batch_id: str) -> Batch | None:
        """Stop a batch; None when unknown; BatchConflictError when it has already finished."""
        ...

    async def prune(self, finished_before: float) -> int:
        """Delete every batch (and its results) that finished before this moment; how many were deleted."""
        ...

    def results(self, batch_id: str) -> AsyncIterator[bytes]:
        """The results JSONL so far, in chunks (constant memory)."""
        ...

    async def count_by_state(self) -> dict[str, int]:
        """How many batches are in each state (for /metrics)."""
        ...

    def ready(self) -> bool:
        """True while the store is open and the service is not draining."""
        ...
