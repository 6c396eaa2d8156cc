"""Rejected and failed lines, a page at a time, read straight through a batch's results stream.

A batch of 1,000,000 lines must not load into memory or into the browser: the results stream (the results
file in embedded mode, the Redis list in distributed mode) is read chunk by chunk; lines before the cursor are
only counted (`bytes.count`, no parsing), and a line is parsed only when its status is one asked for. The
cursor is the number of result lines already read past, so it means the same in both modes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from worker.service.batches import STATUSES

#: the byte form of a line's status as `worker.jobs.result_line` writes it (orjson, compact)
_MARKS = {status: f'"status":"{status}"'.encode() for status in STATUSES}


@dataclass(frozen=True, slots=True)
class LinesPage:
    """Up to `limit` matching result lines, and the cursor to read on from (None at the end so far)."""

    lines: list[dict[str, Any]]
    next: int | None
    scanned: int


def parse_statuses(text: str | None) -> frozenset[str] | None:
    """`failed,rejected` as a set; None when a name is not a status."""
    wanted = frozenset(part.strip() for part in (text or "failed,rejected").split(",") if part.strip())
    return wanted if wanted and wanted <= set(STATUSES) else None


def _matches(line: bytes, marks: Iterable[bytes]) -> bool:
    return any(mark in line for mark in marks)


async def lines_page(stream: AsyncIterator[bytes], statuses: frozenset[str], limit: int, cursor: int) -> LinesPage:
    """Read `stream` (whole-line chunks) past `cursor` lines; the next `limit` lines with one of `statuses`."""
    marks = [_MARKS[status] for status in statuses]
    try:
        return await _scan(stream, marks, statuses, limit, cursor)
    finally:
        close = getattr(stream, "aclose", None)  # stop reading now: close the results file (or Redis reads)
        if close is not None:
            await close()


async def _scan(
    stream: AsyncIterator[bytes], marks: list[bytes], statuses: frozenset[str], limit: int, cursor: int
) -> LinesPage:
    found: list[dict[str, Any]] = []
    seen = 0  # result lines read past so far
    async for chunk in stream:
        count = chunk.count(b"\n")
        if seen + count <= cursor or not _matches(chunk, marks):  # before the cursor, or no line of interest
            seen += count
            continue
        for line in chunk.split(b"\n")[:-1]:
            seen += 1
            if seen <= cursor or not _matches(line, marks):
                continue
            row = orjson.loads(line)
            if row.get("status") in statuses:
                found.append(row)
                if len(found) == limit:
                    return LinesPage(found, seen, seen - cursor)
    return LinesPage(found, None, max(0, seen - cursor))
