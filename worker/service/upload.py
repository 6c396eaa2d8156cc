"""Receive a request body onto disk in chunks, with our own size limit, counting the lines as they pass.

aiohttp's `client_max_size` (1 MiB) only guards `request.read()`/`post()`, which hold the whole body in
memory; here the body goes from `request.content` to a file a chunk at a time, so memory stays flat for
any size up to `service.max_upload_bytes`. The file name is ours (the batch id): nothing the client sends
becomes part of a path. Any failure (too large, client gone, disk full) removes the partial file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

from worker.service.batches import Upload
from worker.sources.jsonl import DEFAULT_MAX_LINE_BYTES

CHUNK = 256 * 1024
#: Media types a JSONL body may be sent as (parameters such as charset are ignored).
JSONL_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "text/plain"})


class UploadTooLargeError(Exception):
    """The body is larger than the limit."""


class UploadStalledError(Exception):
    """The client sent nothing for the body's idle timeout (a slow-body attack or a dead client)."""


class LineCounter:
    """Counts the lines that will get a result exactly as the JSONL source splits them: non-blank ones, and
    any line longer than `max_line_bytes` (rejected as too long even when it is only whitespace)."""

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.lines = 0
        self._max = max_line_bytes
        self._open_has_content = False  # the current (unterminated) line has a non-blank byte
        self._open_length = 0  # bytes of the current line so far

    def feed(self, chunk: bytes) -> None:
        """Count the lines completed by `chunk`."""
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:  # each ends a line
            if self._counts(piece):
                self.lines += 1
            self._open_has_content, self._open_length = False, 0
        last = pieces[-1]
        self._open_has_content = self._counts(last)
        self._open_length += len(last)

    def _counts(self, piece: bytes) -> bool:
        """Whether the open line, ended (so far) by `piece`, gets a result."""
        if self._open_has_content or self._open_length + len(piece) > self._max:
            return True
        return bool(piece) and not piece.isspace()

    def finish(self) -> int:
        """The count, with a last line that has no newline."""
        if self._open_has_content:
            self.lines += 1
            self._open_has_content, self._open_length = False, 0
        return self.lines


async def receive(request: web.Request, path: Path, limit: int, idle_timeout_s: float = 60.0) -> Upload:
    """Write the body of `request` to `path`; UploadTooLargeError past `limit` bytes, UploadStalledError when
    no byte comes for `idle_timeout_s` (the file is removed either way)."""
    if request.content_length is not None and request.content_length > limit:
        raise UploadTooLargeError
    counter = LineCounter()
    out = await asyncio.to_thread(path.open, "xb")
    try:
        size = await _copy(request, out, counter, limit, idle_timeout_s)
        await asyncio.to_thread(_sync_close, out)
    except BaseException:
        await asyncio.to_thread(_discard, out, path)
        raise
    return Upload(path=path, size=size, lines=counter.finish())


async def _copy(request: web.Request, out: BinaryIO, counter: LineCounter, limit: int, idle_s: float) -> int:
    size = 0
    while chunk := await _read(request, idle_s):
        size += len(chunk)
        if size > limit:
            raise UploadTooLargeError
        counter.feed(chunk)
        await asyncio.to_thread(out.write, chunk)
    return size


async def _read(request: web.Request, idle_s: float) -> bytes:
    try:
        async with asyncio.timeout(idle_s):
            return await request.content.read(CHUNK)
    except TimeoutError:
        raise UploadStalledError from None


def _sync_close(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


def _discard(out: BinaryIO, path: Path) -> None:
    with contextlib.suppress(OSError):
        out.close()
    path.unlink(missing_ok=True)
