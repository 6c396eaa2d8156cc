"""A JSONL file (gzip by suffix) or stdin (`-`), read in a thread a block of lines at a time.

Reading happens off the event loop (stdin can block for as long as its writer likes), a block at a
time so the thread hop is paid once per few hundred lines. A line longer than `max_line_bytes` is not
held in memory: it is yielded as `OVERSIZED` and skipped to its end, and becomes a rejected result.
"""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from worker.errors import InputError

LINES_PER_BLOCK = 512
DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024
OVERSIZED = b"\x00oversized"  # never valid JSON, so it cannot collide with a real line


class JsonlSource:
    """Lines of one input, as (line number, bytes) pairs."""

    def __init__(self, target: str, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.name = "stdin" if target == "-" else target
        self.max_line_bytes = max_line_bytes
        self._raw, self._stream = self._open(target)
        self.total_bytes = self._size(target)
        self._line_no = 0
        self.exhausted = False

    @staticmethod
    def _open(target: str) -> tuple[BinaryIO, BinaryIO]:
        if target == "-":
            return sys.stdin.buffer, sys.stdin.buffer
        path = Path(target)
        try:
            raw = path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot open input {path}: {exc.strerror or exc}") from None
        if path.suffix == ".gz":
            return raw, gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        return raw, raw

    @staticmethod
    def _size(target: str) -> int | None:
        if target == "-":
            return None
        try:
            return Path(target).stat().st_size
        except OSError:
            return None

    @property
    def bytes_read(self) -> int:
        """Bytes consumed from the file so far (compressed bytes for .gz): drives the progress bar."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def _read_block(self) -> list[tuple[int, bytes]]:
        block: list[tuple[int, bytes]] = []
        limit = self.max_line_bytes + 1
        try:
            while len(block) < LINES_PER_BLOCK:
                data = self._stream.readline(limit)
                if not data:
                    self.exhausted = True
                    break
                self._line_no += 1
                if len(data) == limit and not data.endswith(b"\n"):
                    self._skip_to_line_end()
                    data = OVERSIZED
                block.append((self._line_no, data))
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"cannot read {self.name} after line {self._line_no}: {exc}") from None
        return block

    def _skip_to_line_end(self) -> None:
        while True:
            rest = self._stream.readline(1024 * 1024)
            if not rest or rest.endswith(b"\n"):
                return

    async def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        """Yield (line number, raw bytes) until the input ends."""
        while not self.exhausted:
            for item in await asyncio.to_thread(self._read_block):
                yield item

    def close(self) -> None:
        """Close the file (stdin is left open)."""
        if self._raw is not sys.stdin.buffer:
            self._stream.close()
            self._raw.close()
