"""The embedded store: the batch index in SQLite, each batch's files in its own folder.

Why results are a file per batch and not a jobs table: the results JSONL of a batch *is* its resume ledger
(`worker.record.ledger.Ledger`, the same one `run --state` uses). Each result line is one write(2), so a
SIGKILL loses no recorded result; on restart the Ledger reads the file back, cuts a torn last line, and the
pipeline skips every line that has a result: exactly one result per line, with no second copy of each job
to keep consistent. SQLite holds what a file cannot answer quickly: which batches exist, their state,
and counts mirrored from the ledger a few times a second (display only: resume never trusts them).

    STATE_DIR/service.db             batches (SQLite, WAL)
    STATE_DIR/uploads/ID.part        a body being received (removed on 413 or on any failure)
    STATE_DIR/batches/ID/input.jsonl the accepted body
    STATE_DIR/batches/ID/results.jsonl, state.json   the ledger

All SQLite calls go through one thread (a single writer): the event loop never waits on the disk, and
the connection is never shared between threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from worker.errors import OutputError
from worker.service.batches import STATUSES, Batch, State, now

T = TypeVar("T")

DB_FILE = "service.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    name        TEXT,
    state       TEXT NOT NULL,
    created     REAL NOT NULL,
    updated     REAL NOT NULL,
    started     REAL,
    finished    REAL,
    input_path  TEXT NOT NULL,
    input_bytes INTEGER NOT NULL,
    total       INTEGER,
    succeeded   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS batches_state ON batches (state, seq);
"""
COLUMNS = (
    "seq, id, name, state, created, updated, started, finished, input_bytes, total, succeeded, failed, rejected, error"
)


class BatchStore:
    """The `batches` table, used from the event loop; every call runs on the store's one thread."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.uploads = state_dir / "uploads"
        self.batches = state_dir / "batches"
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-store")
        self._db: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        """True between `open` and `close`."""
        return self._db is not None

    async def open(self) -> None:
        """Create the folders and the database if needed (OutputError when the state dir is unusable)."""
        await self._call(self._open)

    def _open(self) -> None:
        try:
            self.uploads.mkdir(parents=True, exist_ok=True)
            self.batches.mkdir(parents=True, exist_ok=True)
            for leftover in self.uploads.glob("*.part"):  # bodies whose upload a crash cut short
                leftover.unlink()
            db = sqlite3.connect(self.state_dir / DB_FILE, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process crash
            db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"cannot use state directory {self.state_dir}: {exc}") from None
        self._db = db

    async def close(self) -> None:
        """Close the database and stop the store's thread."""
        if self._db is not None:
            await self._call(self._db.close)
            self._db = None
        self._thread.shutdown(wait=True)

    def batch_dir(self, batch_id: str) -> Path:
        """The folder of a batch's files."""
        return self.batches / batch_id

    def input_path(self, batch_id: str) -> Path:
        """Where a batch's accepted body is."""
        return self.batch_dir(batch_id) / "input.jsonl"

    async def insert(self, batch: Batch) -> None:
        """Add a new batch."""
        await self._write(
            "INSERT INTO batches (id, name, state, created, updated, input_path, input_bytes, total)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                batch.id,
                batch.name,
                batch.state,
                batch.created,
                batch.updated,
                str(self.input_path(batch.id)),
                batch.input_bytes,
                batch.total,
            ),
        )

    async def get(self, batch_id: str) -> Batch | None:
        """One batch, or None."""
        rows = await self._read(f"SELECT {COLUMNS} FROM batches WHERE id = ?", (batch_id,))  # noqa: S608
        return _batch(rows[0]) if rows else None

    async def page(self, limit: int, before_seq: int | None) -> tuple[list[Batch], int | None]:
        """Up to `limit` batches newest first, older than `before_seq`; and the seq to continue from."""
        rows = await self._read(
            f"SELECT {COLUMNS} FROM batches WHERE seq < ? ORDER BY seq DESC LIMIT ?",  # noqa: S608
            (before_seq if before_seq is not None else 2**62, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return [_batch(row) for row in rows], (int(rows[-1][0]) if more else None)

    async def with_state(self, *states: State) -> list[Batch]:
        """Batches in any of these states, oldest first."""
        marks = ", ".join("?" * len(states))
        rows = await self._read(
            f"SELECT {COLUMNS} FROM batches WHERE state IN ({marks}) ORDER BY seq",  # noqa: S608
            states,
        )
        return [_batch(row) for row in rows]

    async def finished_before(self, moment: float) -> list[str]:
        """Ids of the batches in a final state that finished before `moment`, oldest first."""
        rows = await self._read(
            "SELECT id FROM batches WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished < ? ORDER BY seq",
            (moment,),
        )
        return [str(row[0]) for row in rows]

    async def delete(self, batch_id: str) -> None:
        """Forget a batch."""
        await self._write("DELETE FROM batches WHERE id = ?", (batch_id,))

    async def count_by_state(self) -> dict[str, int]:
        """Batches per state."""
        rows = await self._read("SELECT state, COUNT(*) FROM batches GROUP BY state", ())
        return {str(state): int(count) for state, count in rows}

    async def set_state(self, batch_id: str, state: State, *, error: str | None = None) -> bool:
        """Move a batch to `state` (stamping started/finished); a cancelled batch stays cancelled. True if moved."""
        moment = now()
        started = moment if state == "running" else None
        finished = moment if state in ("succeeded", "failed", "cancelled") else None
        changed = await self._call(
            self._execute_count,
            "UPDATE batches SET state = ?, updated = ?, error = COALESCE(?, error),"
            " started = COALESCE(started, ?), finished = COALESCE(?, finished) WHERE id = ? AND state != 'cancelled'",
            (state, moment, error, started, finished, batch_id),
        )
        return changed == 1

    async def cancel_if_unfinished(self, batch_id: str) -> bool:
        """Mark a batch cancelled unless it has already finished; True when it was."""
        moment = now()
        changed = await self._call(
            self._execute_count,
            "UPDATE batches SET state = 'cancelled', updated = ?, finished = ?"
            " WHERE id = ? AND state IN ('queued', 'running', 'interrupted')",
            (moment, moment, batch_id),
        )
        return changed == 1

    async def set_counts(self, batch_id: str, counts: Mapping[str, int], total: int | None = None) -> None:
        """Mirror a batch's result counts (and its line total, once known)."""
        await self._write(
            "UPDATE batches SET succeeded = ?, failed = ?, rejected = ?, total = COALESCE(?, total), updated = ?"
            " WHERE id = ?",
            (counts.get("succeeded", 0), counts.get("failed", 0), counts.get("rejected", 0), total, now(), batch_id),
        )

    async def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        await self._call(self._execute_count, sql, params)

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return await self._call(self._fetch, sql, params)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise OutputError("the batch store is closed")
        return self._db

    def _execute_count(self, sql: str, params: tuple[Any, ...]) -> int:
        try:
            return self._connection().execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise OutputError(f"batch store: {exc}") from None

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise OutputError(f"batch store: {exc}") from None

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)


def _batch(row: tuple[Any, ...]) -> Batch:
    (_, batch_id, name, state, created, updated, started, finished, input_bytes, total, *counts, error) = row
    return Batch(
        id=batch_id,
        state=state,
        created=created,
        updated=updated,
        name=name,
        input_bytes=input_bytes,
        total=total,
        counts=dict(zip(STATUSES, counts, strict=True)),
        started=started,
        finished=finished,
        error=error,
    )
