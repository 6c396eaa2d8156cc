"""A monotonic clock the test moves by hand: time-based rules checked without waiting for real time."""

from __future__ import annotations


class FakeClock:
    """Stands still until `advance` (an emulator or service beside it keeps real time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
