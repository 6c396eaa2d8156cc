"""The Sender for plain PATCH through the lanes: each attempt waits for its job's lane."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from worker.answers import Answer
from worker.jobs import Job
from worker.schedule.lane_set import LaneSet


class LaneSender:
    """The Sender for plain PATCH: each attempt goes through its lane (tenant and scope)."""

    def __init__(self, lanes: LaneSet, send: Callable[[Job], Awaitable[Answer]]) -> None:
        self._lanes = lanes
        self._send = send

    async def patch(self, job: Job) -> Answer:
        """One attempt at a job, when its lane allows."""
        send = self._send
        return await self._lanes.lane(job.tenant, job.scope).send(lambda: send(job))
