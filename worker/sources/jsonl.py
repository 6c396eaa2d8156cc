"""A JSONL file or stdin (`-`), gzip or not (told by its magic bytes), read in a thread a chunk at a time.

Reading happens off the event loop (stdin can block for as long as its writer likes), a 1 MiB chunk at
a time, so the thread hop and the read call are paid once per several hundred lines. A line longer than
`max_line_bytes` is not held in memory: it is yielded as `OVERSIZED` and skipped to its end, and
becomes a rejected result (even when it is only whitespace: it is counted as a line everywhere).
Blank lines are not yielded at all (their numbers are still counted), so an input of millions of empty
lines costs one split per chunk, not one trip through the pipeline per line.

A gzip input that inflates more than `max_decompressed_ratio` times its compressed size (checked once
`RATIO_CHECK_AFTER` bytes are out, so small files never trip it) is refused as a likely gzip bomb.
"""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from worker.errors import InputError

CHUNK_BYTES = 1 << 20
DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024
OVERSIZED = b"\x00oversized"  # never valid JSON, so it cannot collide with a real line
GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_MAX_DECOMPRESSED_RATIO = 500.0  # real JSONL deflates 5-300x; a bomb of one repeated byte ~1000x
RATIO_CHECK_AFTER = 16 << 20


class _Counting:
    """gzip's input, counting the compressed bytes taken (stdin cannot say where it is): the ratio check."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.taken = 0

    def read(self, size: int = -1, /) -> bytes:
        """Read from the input, counting."""
        data = self._raw.read(size)
        self.taken += len(data)
        return data

    def seek(self, offset: int, /) -> int:
        """Only for gzip rewinding (never done here)."""
        return self._raw.seek(offset)


class JsonlSource:
    """Lines of one input, as (line number, bytes) pairs."""

    def __init__(
        self,
        target: str,
        *,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_decompressed_ratio: float = DEFAULT_MAX_DECOMPRESSED_RATIO,
    ) -> None:
        self.name = "stdin" if target == "-" else target
        self._target = target
        self.max_line_bytes = max_line_bytes
        self.max_decompressed_ratio = max_decompressed_ratio
        self._inflated = 0
        self._compressed: _Counting | None = None  # gzip's input, when it is gzip
        self._raw = self._open(target)
        self._stream: BinaryIO | None = None  # decided by the first bytes, in the reading thread (stdin may wait)
        self.total_bytes = self._size(target)
        self._line_no = 0
        self._carry = b""
        self._oversized = False  # inside a line already reported as oversized
        self.exhausted = False

    @property
    def rereadable(self) -> bool:
        """True for a file (it can be read again from the start); stdin cannot."""
        return self._target != "-"

    def reopen(self) -> JsonlSource:
        """A new source reading the same file from its first line."""
        if not self.rereadable:
            raise InputError("stdin cannot be read a second time")
        return JsonlSource(
            self._target, max_line_bytes=self.max_line_bytes, max_decompressed_ratio=self.max_decompressed_ratio
        )

    @staticmethod
    def _open(target: str) -> BinaryIO:
        if target == "-":
            return sys.stdin.buffer
        path = Path(target)
        try:
            return path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot open input {path}: {exc.strerror or exc}") from None

    def _decompressed(self) -> BinaryIO:
        """The input's bytes, through gzip for a .gz name or gzip's magic bytes (whatever the name, stdin too)."""
        peek = getattr(self._raw, "peek", None)
        head = peek(len(GZIP_MAGIC))[: len(GZIP_MAGIC)] if peek is not None else b""
        if head == GZIP_MAGIC or self._target.endswith(".gz"):
            self._compressed = _Counting(self._raw)
            return gzip.GzipFile(fileobj=self._compressed, mode="rb")  # type: ignore[return-value]
        return self._raw

    @staticmethod
    def _size(target: str) -> int | None:
        if target == "-":
            return None
        try:
            return Path(target).stat().st_size
        except OSError:
            return None

    @property
    def lines_read(self) -> int:
        """Lines numbered so far (blank ones too): with `bytes_read`, the progress bar's estimate of the total."""
        return self._line_no

    @property
    def bytes_read(self) -> int:
        """Bytes consumed from the file so far (compressed bytes for .gz): drives the progress bar."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def _read_block(self) -> list[tuple[int, bytes]]:
        try:
            if self._stream is None:
                self._stream = self._decompressed()
            chunk = self._stream.read(CHUNK_BYTES)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise InputError(f"cannot read {self.name} after line {self._line_no}: {exc}") from None
        if not chunk:
            self.exhausted = True
            return self._last_line()
        self._check_ratio(len(chunk))
        if self._oversized:  # still inside a line already reported as too long: drop up to its end
            end = chunk.find(b"\n")
            if end < 0:
                return []
            self._oversized = False
            chunk = chunk[end + 1 :]
        if not self._carry and chunk.count(b"\n") == len(chunk):  # only empty lines: count them, nothing to split
            self._line_no += len(chunk)
            return []
        pieces = chunk.split(b"\n")
        pieces[0] = self._carry + pieces[0]
        self._carry = pieces.pop()  # the unfinished last line, completed by the next chunk
        block = self._numbered(pieces)
        if len(self._carry) > self.max_line_bytes:  # too long already: report it now, drop the rest
            self._carry = b""
            self._oversized = True
            block += self._numbered([OVERSIZED])
        return block

    def _numbered(self, pieces: list[bytes]) -> list[tuple[int, bytes]]:
        """Number the lines, leaving out blank ones (one comprehension: cheap for millions of them)."""
        first, limit = self._line_no + 1, self.max_line_bytes
        self._line_no += len(pieces)
        return [
            (line_no, OVERSIZED if len(piece) > limit else piece)
            for line_no, piece in enumerate(pieces, first)
            if len(piece) > limit or (piece and not piece.isspace())
        ]

    def _check_ratio(self, size: int) -> None:
        """InputError when a gzip input inflates past `max_decompressed_ratio` times what was read of it."""
        if self._compressed is None or not self.max_decompressed_ratio:
            return
        self._inflated += size
        taken = self._compressed.taken
        if self._inflated > RATIO_CHECK_AFTER and self._inflated > self.max_decompressed_ratio * taken:
            raise InputError(
                f"cannot read {self.name} after line {self._line_no}: it inflates more than "
                f"{self.max_decompressed_ratio:g} times its compressed size (a gzip bomb?); "
                "raise run.max_decompressed_ratio (0 = no limit) if the input is genuine"
            )

    def _last_line(self) -> list[tuple[int, bytes]]:
        """The input's last line when it has no trailing newline."""
        carry, self._carry = self._carry, b""
        if self._oversized or not carry:
            return []
        return self._numbered([carry])

    async def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        """Yield (line number, raw bytes) until the input ends."""
        while not self.exhausted:
            for item in await asyncio.to_thread(self._read_block):
                yield item

    def close(self) -> None:
        """Close the file (stdin is left open)."""
        if self._raw is not sys.stdin.buffer:
            if self._stream is not None:
                self._stream.close()
            self._raw.close()
