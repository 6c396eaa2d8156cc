"""The identity of an input file (size, modification time, inode), so a second reading can tell it changed.

The pipeline reads an input twice when a slow lane's lines were deferred (see `worker.pipeline.deferral`). If the
file was replaced or edited in between, the second reading would send content nobody validated against
the first: `guarded_reopen` refuses to reopen a file whose identity is no longer the one it had when the
run began, and checks it again every `CHECK_EVERY` lines and at the end of the second reading (the
pipeline also compares a CRC of every deferred line, which catches an edit that keeps size and time).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from worker.errors import InputError
from worker.sources.jsonl import JsonlSource

CHECK_EVERY = 4096


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What changes when a file is written to, truncated or replaced."""

    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, path: str) -> FileIdentity:
        """The file's identity now; InputError when it is gone."""
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise InputError(f"the input {path} cannot be read again: {exc.strerror or exc}") from None
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_dev)


class CheckedSource:
    """A second reading that raises InputError as soon as the file's identity is seen to differ."""

    def __init__(self, source: JsonlSource, identity: FileIdentity) -> None:
        self._source = source
        self._identity = identity

    def check(self) -> None:
        """InputError when the file is no longer the one the run began with."""
        now = FileIdentity.of(self._source.name)
        if now != self._identity:
            raise InputError(
                f"the input {self._source.name} changed during the run (size {self._identity.size} -> "
                f"{now.size}, or its modification time or inode); lines left for the second reading are not sent"
            )

    async def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        """The source's lines, checking the file's identity every `CHECK_EVERY` lines and at the end."""
        count = 0
        async for item in self._source.lines():
            count += 1
            if count % CHECK_EVERY == 0:
                self.check()
            yield item
        self.check()

    def close(self) -> None:
        """Close the file."""
        self._source.close()


def guarded_reopen(source: JsonlSource) -> Callable[[], CheckedSource]:
    """`source.reopen` that refuses (InputError), now or while reading, a file changed since this call."""
    identity = FileIdentity.of(source.name)

    def reopen() -> CheckedSource:
        checked = CheckedSource(source.reopen(), identity)
        try:
            checked.check()
        except InputError:
            checked.close()
            raise
        return checked

    return reopen
