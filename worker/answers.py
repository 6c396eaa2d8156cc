"""What one attempt returns, and the seams that return it: shared by schedule, send, record and the service.

These live below every stage that uses them so imports run one way only (see the import-linter contracts
in pyproject.toml): lanes pace a `Sender` and read its `Answer`, the `$batch` client answers with a list
of `ItemResult`, the pipeline runs an `Execute`, and the service's metrics wrap both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from worker.errors import SendError
from worker.jobs import Job, Outcome


class Answer:
    """A successful attempt: the status, and the throttle hint and resource-unit cost Graph may have sent."""

    __slots__ = ("status", "throttle_percent", "units")

    def __init__(self, status: int, throttle_percent: float | None, units: int | None = None) -> None:
        self.status = status
        self.throttle_percent = throttle_percent
        self.units = units  # x-ms-resource-unit: what the request cost against its scope's quota


ItemResult = Answer | SendError  # one $batch item: answered 2xx, or why not

#: Runs one job to its final Outcome (the pipeline's view of the whole sending stack).
Execute = Callable[[Job], Awaitable[Outcome]]


class Sender(Protocol):
    """Something that makes one attempt at a job (GraphClient, or a lane wrapping it)."""

    async def patch(self, job: Job) -> Answer:
        """One attempt: an Answer on 2xx, a SendError otherwise."""
        ...
