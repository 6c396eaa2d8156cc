"""The Sender for plain PATCH through the lanes: each attempt waits for its job's lane."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from worker.answers import Answer
from worker.jobs import Job
from worker.schedule.lane_set import LaneSet


class LaneSender:
    """The Sender for plain PATCH: each attempt goes through its lane (tenant and scope)."""

    def __init__(self, lanes: LaneSet, send: Callable[[Job], Awaitable[Answer]]) -> None:
        self._lanes = lanes
        self._send = send

    def patch(self, job: Job) -> Coroutine[Any, Any, Answer]:
        """One attempt at a job, when its lane allows (the lane's coroutine itself: no level of its own)."""
        return self._lanes.lane(job.tenant, job.scope).send(partial(self._send, job))
