"""The throttle gate: closed for a Retry-After, never shortened, waited out."""

from __future__ import annotations

import time

import pytest

from worker.schedule.gate import ThrottleGate


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_gate_closes_for_retry_after_and_never_shortens() -> None:
    clock = FakeClock()
    gate = ThrottleGate(clock=clock)
    assert gate.is_open()
    gate.close_for(2.128)
    gate.close_for(0.5)  # a shorter Retry-After from a later 429 does not reopen early
    assert not gate.is_open()
    clock.now += 2.1
    assert not gate.is_open()
    clock.now += 0.03
    assert gate.is_open()
    assert gate.paused_s == pytest.approx(2.128)


async def test_gate_wait_returns_after_the_pause() -> None:
    gate = ThrottleGate()
    gate.close_for(0.2)
    started = time.monotonic()
    await gate.wait()
    assert 0.19 <= time.monotonic() - started < 0.5
