"""The pipeline core in-process: a lane that falls behind, stop with a grace period, failures that stop the run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from tests.polling import eventually
from worker.errors import OutputError
from worker.jobs import Job, Outcome, Rejected
from worker.pipeline.lane_pools import LANE_BUFFER
from worker.pipeline.run import Pipeline


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every log entry of the test, whatever another test left configured (a level filter would drop info)."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    try:
        with capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(**saved)


class Lines:
    """A re-readable source over raw lines (each line is its tenant's name)."""

    def __init__(self, raw: list[bytes]) -> None:
        self.raw = raw
        self.closed = 0

    async def lines(self) -> AsyncIterator[tuple[int, bytes]]:
        for number, line in enumerate(self.raw, 1):
            yield number, line

    def close(self) -> None:
        self.closed += 1


class Results:
    """A recorder keeping every outcome (or failing once told to)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.outcomes: list[Outcome] = []
        self.recorded = asyncio.Event()
        self._fail_after = fail_after

    def record(self, outcome: Outcome) -> None:
        if self._fail_after is not None and len(self.outcomes) >= self._fail_after:
            raise OutputError("the results file cannot be written")
        self.outcomes.append(outcome)
        self.recorded.set()


def parse(raw: bytes, line: int) -> Job | Rejected | None:
    tenant = raw.decode()
    return Job(str(line), line, tenant, "/auditLogs/provisioning", b"{}", f"crid-{line}")


def succeeded(job: Job) -> Outcome:
    return Outcome(job.job_id, job.line, "succeeded", 200, 1, 1.0, job.client_request_id, None, job.tenant)


async def test_a_lane_that_falls_behind_is_read_again_and_holds_no_other_lane_up(
    logs: list[MutableMapping[str, Any]],
) -> None:
    slow_lines = LANE_BUFFER + 50
    source = Lines([b"slow"] * slow_lines + [b"fast"] * 20)
    rereads: list[Lines] = []
    release = asyncio.Event()
    results = Results()

    async def execute(job: Job) -> Outcome:
        if job.tenant == "slow":
            await release.wait()
        return succeeded(job)

    def reread() -> Lines:
        rereads.append(Lines(source.raw))
        return rereads[-1]

    pipeline = Pipeline(
        source=source, parse=parse, execute=execute, recorder=results, workers_per_lane=1, reread=reread
    )
    running = asyncio.create_task(pipeline.run())

    async def fast_done() -> None:
        while sum(1 for outcome in results.outcomes if outcome.tenant == "fast") < 20:
            results.recorded.clear()
            await results.recorded.wait()

    await asyncio.wait_for(fast_done(), 10)
    assert not running.done()
    release.set()  # the fast lane finished while the slow one had sent nothing
    await asyncio.wait_for(running, 30)
    events = [entry["event"] for entry in logs]
    assert "lane.behind" in events
    assert "run.reading_deferred" in events
    assert sorted(outcome.line or 0 for outcome in results.outcomes) == list(range(1, slow_lines + 21))  # each once
    assert pipeline.deferred > 0
    assert [reading.closed for reading in rereads] == [1]


async def test_stop_gives_jobs_in_flight_the_grace_period_then_abandons_them(
    logs: list[MutableMapping[str, Any]],
) -> None:
    results = Results()
    started = asyncio.Event()

    async def execute(job: Job) -> Outcome:
        started.set()
        await asyncio.sleep(60)  # a request that hangs
        return succeeded(job)

    stop = asyncio.Event()
    pipeline = Pipeline(
        source=Lines([b"a"] * 10),
        parse=parse,
        execute=execute,
        recorder=results,
        workers_per_lane=2,
        grace_s=0.2,
        stop=stop,
    )
    running = asyncio.create_task(pipeline.run())
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await asyncio.wait_for(running, 10)
    assert pipeline.abandoned == 2  # both workers' jobs: no result, so a resumed run sends them
    assert results.outcomes == []
    assert [entry["event"] for entry in logs] == ["run.grace_expired"]


async def test_a_failing_recorder_stops_the_run_and_its_error_comes_out() -> None:
    results = Results(fail_after=3)

    async def execute(job: Job) -> Outcome:
        return succeeded(job)

    pipeline = Pipeline(source=Lines([b"a"] * 100), parse=parse, execute=execute, recorder=results, workers_per_lane=1)
    with pytest.raises(OutputError, match="cannot be written"):
        await asyncio.wait_for(pipeline.run(), 10)
    assert len(results.outcomes) == 3
    assert pipeline.stop.is_set()


async def test_a_later_reading_does_not_wait_on_a_lane_still_full(logs: list[MutableMapping[str, Any]]) -> None:
    # both lanes fall behind in the first reading; in the second, the slow one is still full: the other lane's
    # lines must not wait for it (they did: the reader waited for room in each line's lane, in file order)
    count = LANE_BUFFER + 100
    source = Lines([b"slow", b"busy"] * count)
    rereads: list[Lines] = []
    release_slow, release_busy = asyncio.Event(), asyncio.Event()
    results = Results()

    async def execute(job: Job) -> Outcome:
        await (release_slow if job.tenant == "slow" else release_busy).wait()
        return succeeded(job)

    def reread() -> Lines:
        rereads.append(Lines(source.raw))
        return rereads[-1]

    pipeline = Pipeline(
        source=source, parse=parse, execute=execute, recorder=results, workers_per_lane=1, reread=reread
    )
    running = asyncio.create_task(pipeline.run())
    await eventually(lambda: any(entry["event"] == "run.reading_deferred" for entry in logs), "a second reading")
    release_busy.set()  # the busy lane drains; the slow one stays full

    async def busy_done() -> None:
        while sum(1 for outcome in results.outcomes if outcome.tenant == "busy") < count:
            results.recorded.clear()
            await results.recorded.wait()

    await asyncio.wait_for(busy_done(), 10)
    assert not running.done()
    release_slow.set()
    await asyncio.wait_for(running, 30)
    assert sorted(outcome.line or 0 for outcome in results.outcomes) == list(range(1, 2 * count + 1))  # each once
    assert len(rereads) >= 2  # the slow lane's lines came in a later reading
    assert all(reading.closed == 1 for reading in rereads)


async def test_a_lane_freeing_slots_slowly_does_not_set_the_pace_of_the_others(
    logs: list[MutableMapping[str, Any]],
) -> None:
    # the slow lane frees a slot every 5 ms, so the reader never waits BEHIND_AFTER_S on it; waiting at all
    # handed the busy lane its lines at the slow lane's pace (a lane paced at 245/s got 35/s in the real cell)
    count = 3 * LANE_BUFFER
    source = Lines([b"slow", b"busy"] * count)
    results = Results()
    loop = asyncio.get_running_loop()
    busy_done_at: list[float] = []

    async def execute(job: Job) -> Outcome:
        if job.tenant == "slow":
            await asyncio.sleep(0.005)
        elif len(busy_done_at) == count - 1:
            busy_done_at.append(loop.time())
        else:
            busy_done_at.append(0.0)
        return succeeded(job)

    def reread() -> Lines:
        return Lines(source.raw)

    started = loop.time()
    pipeline = Pipeline(
        source=source, parse=parse, execute=execute, recorder=results, workers_per_lane=1, reread=reread
    )
    await asyncio.wait_for(pipeline.run(), 60)
    slow_alone_s = count * 0.005  # the slow lane's own time, at one worker
    assert busy_done_at[-1] - started < slow_alone_s / 2  # the busy lane was not held to the slow one's pace
    assert any(entry["event"] == "lane.behind" and entry["lane"] == "slow" for entry in logs)
    assert sorted(outcome.line or 0 for outcome in results.outcomes) == list(range(1, 2 * count + 1))  # each once
