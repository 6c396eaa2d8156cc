"""What a pipeline run is given: the lines to read, how to parse one, and what holds a job back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol

from worker.jobs import Job, Outcome, Rejected

Parse = Callable[[bytes, int], Job | Rejected | None]
Hold = Callable[[Job], Outcome | None]


class LineSource(Protocol):
    """Yields (line number, raw line) pairs lazily."""

    def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        """The lines of the input, in order."""
        ...


class ClosableLineSource(LineSource, Protocol):
    """A line source that holds a file until closed."""

    def close(self) -> None:
        """Release the input."""
        ...
