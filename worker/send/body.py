"""Reading an answer's body from a server we do not control: bounded in size and in time.

aiohttp reads whatever it is sent: `response.read()` has no size cap and inflates gzip without limit (a
1 MB gzip body becomes 1 GB), and `sock_read` bounds only the gap between chunks (a body dripping a byte a
second never trips it). Here the body is read in chunks, counting the *decompressed* bytes, under one
deadline for the whole read (and the status line and headers under one of their own: `sock_read` would
let them drip too). A 2xx body is not needed: it is read (and dropped) up to the cap so the
connection can go back to the pool, and beyond the cap the connection is closed instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from worker.send.deadline import Deadline

CHUNK = 64 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 512 * 1024
DEFAULT_READ_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """How much of an answer is read (decompressed bytes), how long the whole read may take, and how long
    the answer's status and headers may take from the request's start (None: no bound beyond `sock_read`)."""

    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    headers_timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class Body:
    """What was read: at most `max_bytes` bytes, and whether the server sent more."""

    data: bytes
    cut: bool


def answer_deadline(limits: BodyLimits) -> Deadline:
    """The deadline of one attempt: `headers_timeout_s` for the status and headers; `read_body` then moves
    it to `read_timeout_s` from then on for the body (one deadline per attempt, and no timer of its own:
    it is on every request's path, see `worker.send.deadline`)."""
    return Deadline(limits.headers_timeout_s)


def read_received(
    response: aiohttp.ClientResponse, limits: BodyLimits, deadline: Deadline, *, keep: bool = True
) -> Body | None:
    """The body when all of it has been received already (a small answer usually has), else None.

    Nothing to wait for, so no deadline and no coroutine (this is on every request's path); the size
    cap applies as in `read_body`.
    """
    content = response.content
    if not content.is_eof():
        return None
    deadline.reschedule(None)
    data = content.read_nowait()
    if len(data) > limits.max_bytes:
        response.close()
        return Body(data[: limits.max_bytes], cut=True)
    return Body(data, cut=False) if keep and data else EMPTY


async def read_body(
    response: aiohttp.ClientResponse, limits: BodyLimits, deadline: Deadline, *, keep: bool = True
) -> Body:
    """Read the body up to `limits.max_bytes` within `limits.read_timeout_s` (TimeoutError beyond).

    With `keep=False` the bytes are counted and dropped. A body over the cap closes the connection: the
    rest is never read.
    """
    received = read_received(response, limits, deadline, keep=keep)
    if received is not None:  # no body (204), or all of it received: nothing to wait for
        return received
    content = response.content
    deadline.reschedule(asyncio.get_running_loop().time() + limits.read_timeout_s)
    parts: list[bytes] = []
    size = 0
    while chunk := await content.read(min(CHUNK, limits.max_bytes + 1 - size)):
        size += len(chunk)
        if keep:
            parts.append(chunk)
        if size > limits.max_bytes:
            response.close()
            return Body(b"".join(parts)[: limits.max_bytes], cut=True)
    return Body(b"".join(parts), cut=False)


EMPTY = Body(b"", cut=False)
