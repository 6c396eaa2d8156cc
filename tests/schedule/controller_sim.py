"""Drive real lanes (pacer, gate, concurrency, controller) and the real executor against a simulated Graph.

Everything runs on the virtual clock: `simulate` returns how long N jobs took and how often the server
said 429, for any quota shape, in a fraction of a real second.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tests.schedule.simulated_graph import SimulatedGraph
from tests.schedule.virtual_time import run_virtual
from worker.jobs import Job, Outcome
from worker.schedule.lane import LaneLimits
from worker.schedule.lane_sender import LaneSender
from worker.schedule.lane_set import LaneSet
from worker.send.executor import JobExecutor
from worker.send.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class SimRun:
    """How a simulated run went."""

    elapsed_s: float
    succeeded: int
    failed: int
    requests: int
    throttled: int
    finished_at: dict[str, float]

    @property
    def throttled_share(self) -> float:
        """Share of requests answered 429."""
        return self.throttled / max(1, self.requests)


def simulate(graph: SimulatedGraph, jobs: dict[str, int], *, concurrency: int = 32) -> SimRun:
    """Send `jobs[tenant]` jobs for each tenant through lanes, `concurrency` workers per lane."""
    return run_virtual(_run(graph, jobs, concurrency))


async def _run(graph: SimulatedGraph, jobs: dict[str, int], concurrency: int) -> SimRun:
    loop = asyncio.get_running_loop()
    lanes = LaneSet(lambda _t: LaneLimits(max_concurrency=concurrency), clock=loop.time)
    policy = RetryPolicy(max_attempts=1000, max_elapsed_s=1e9, max_retry_after_s=1e9)
    executor = JobExecutor(LaneSender(lanes, graph.patch), policy)
    started = loop.time()
    finished: dict[str, float] = {}
    outcomes: list[Outcome] = []

    async def lane(tenant: str, count: int) -> None:
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for line in range(1, count + 1):
            queue.put_nowait(Job(str(line), line, tenant, "/auditLogs/provisioning", b"{}", f"id-{line}"))

        async def work() -> None:
            while not queue.empty():
                outcomes.append(await executor.execute(queue.get_nowait()))

        await asyncio.gather(*(work() for _ in range(concurrency)))
        finished[tenant] = loop.time() - started

    await asyncio.gather(*(lane(tenant, count) for tenant, count in jobs.items()))
    succeeded = sum(outcome.status == "succeeded" for outcome in outcomes)
    return SimRun(
        elapsed_s=loop.time() - started,
        succeeded=succeeded,
        failed=len(outcomes) - succeeded,
        requests=graph.ok + graph.throttled,
        throttled=graph.throttled,
        finished_at=finished,
    )
