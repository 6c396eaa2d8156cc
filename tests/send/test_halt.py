"""The guard: what a trip halts (every lane for `run`, one for the service), for whom, and for how long."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.send.test_systemic import unauthorized
from worker.answers import Answer
from worker.errors import NotSentError
from worker.jobs import Job
from worker.send.halt import BatchHalts, SystemicGuard

BASE = "http://127.0.0.1:9/beta"


def test_run_mode_halts_every_lane_the_service_only_the_tripped_one() -> None:
    run = SystemicGuard(BASE, halt_all=True)
    service = SystemicGuard(BASE, halt_all=False)
    for guard in (run, service):
        guard.observe("contoso", unauthorized())
        assert guard.halted("contoso") is not None
    assert run.halted("fabrikam") is not None
    assert service.halted("fabrikam") is None


def test_a_watch_keeps_what_tripped_while_it_ran_and_a_new_one_lifts_the_halt() -> None:
    guard = SystemicGuard(BASE, halt_all=False)
    job = Job("1", 1, "contoso", "/auditLogs/provisioning", b"{}", "crid")
    with guard.watch() as first:
        guard.observe("contoso", unauthorized())
        with guard.watch() as second:  # a batch started later tries again
            assert guard.halted("contoso") is None
            assert second.hold(job) is None
            held = first.hold(job)
            assert held is not None
            assert held.error is not None
            assert (held.status, held.http_status, held.attempts, held.error.kind) == ("failed", None, 0, "not_sent")
    assert first.cause is not None
    assert "'contoso'" in first.cause
    assert second.cause is None


async def test_a_halted_lane_sends_nothing_and_a_waiting_retry_wakes_at_once() -> None:
    guard = SystemicGuard(BASE, halt_all=True)
    sent: list[Job] = []

    async def send(job: Job) -> Answer:
        sent.append(job)
        return Answer(204, None)

    guarded = guard.guarded(send)
    job = Job("1", 1, "contoso", "/auditLogs/provisioning", b"{}", "crid")
    await guarded(job)
    started = time.monotonic()
    waiting = asyncio.create_task(guard.pause(job.lane, 30.0))
    await asyncio.sleep(0)  # one turn of the loop (no wait): the task is now in `pause`, waiting
    guard.observe("contoso", unauthorized())
    await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - started < 5
    with pytest.raises(NotSentError):
        await guarded(job)
    assert sent == [job]


def test_batch_halts_stop_the_lane_in_running_batches_and_a_later_batch_tries_again() -> None:
    guard = SystemicGuard(BASE, halt_all=False)
    running = ["b1"]
    halts = BatchHalts(guard, lambda: running)
    contoso = Job("1", 1, "contoso", "/auditLogs/provisioning", b"{}", "crid")
    fabrikam = Job("2", 2, "fabrikam", "/auditLogs/provisioning", b"{}", "crid")
    with guard.listen(halts.on_trip):
        guard.observe("contoso", unauthorized())
    assert halts.hold("b1", contoso) is not None
    assert halts.hold("b1", fabrikam) is None  # another lane of the same batch goes on
    cause = halts.report("b1")
    assert cause is not None
    assert "'contoso'" in cause
    assert halts.report("b1") is None  # written to the batch once
    assert guard.halted("contoso") is not None
    assert halts.hold("b2", contoso) is None  # a batch first seen after the trip lifts the halt
    assert guard.halted("contoso") is None
    assert halts.hold("b1", contoso) is not None  # the running batch stays stopped
