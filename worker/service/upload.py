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

from worker.errors import PatchWorkerError
from worker.service.batches import Upload

CHUNK = 256 * 1024
#: Media types a JSONL body may be sent as (parameters such as charset are ignored).
JSONL_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "text/plain"})


class UploadTooLargeError(PatchWorkerError):
    """The body is larger than the limit."""


class LineCounter:
    """Counts the lines that will get a result: non-blank ones, exactly as the JSONL source splits them."""

    def __init__(self) -> None:
        self.lines = 0
        self._open_line_has_content = False  # the current (unterminated) line has a non-blank byte

    def feed(self, chunk: bytes) -> None:
        """Count the lines completed by `chunk`."""
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:  # each ends a line
            if self._open_line_has_content or piece.strip():
                self.lines += 1
            self._open_line_has_content = False
        if pieces[-1].strip():
            self._open_line_has_content = True

    def finish(self) -> int:
        """The count, with a last line that has no newline."""
        if self._open_line_has_content:
            self.lines += 1
            self._open_line_has_content = False
        return self.lines


async def receive(request: web.Request, path: Path, limit: int) -> Upload:
    """Write the body of `request` to `path`; UploadTooLargeError past `limit` bytes (the file is removed)."""
    if request.content_length is not None and request.content_length > limit:
        raise UploadTooLargeError
    counter = LineCounter()
    out = await asyncio.to_thread(path.open, "xb")
    try:
        size = await _copy(request, out, counter, limit)
        await asyncio.to_thread(_sync_close, out)
    except BaseException:
        await asyncio.to_thread(_discard, out, path)
        raise
    return Upload(path=path, size=size, lines=counter.finish())


async def _copy(request: web.Request, out: BinaryIO, counter: LineCounter, limit: int) -> int:
    size = 0
    while chunk := await request.content.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise UploadTooLargeError
        counter.feed(chunk)
        await asyncio.to_thread(out.write, chunk)
    return size


def _sync_close(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


def _discard(out: BinaryIO, path: Path) -> None:
    with contextlib.suppress(OSError):
        out.close()
    path.unlink(missing_ok=True)
