"""What a lane learned of its quota, kept for the next run for that lane (`worker.record.learned`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LearnedPace:
    """A lane's pace when it ended: its rate, and for a quota of "N per W" the window it paced (N, W' seconds).

    Without the window, the next run would pace N/W' evenly: right on average, but its last N go one by one
    across the last window (a run of 60 under the seed's 5 per 10 s: ~1.1x its ideal, against ~1.04x).
    """

    rate: float
    window: tuple[int, float] | None = None
    measured: float | None = None  # the quota measured, when it was (kept for the reader of lanes.json)

    def under(self, ceiling: float | None) -> LearnedPace:
        """The pace within a configured ceiling: a lower ceiling is the rate, paced evenly."""
        if ceiling is None or self.rate <= ceiling:
            return self
        return LearnedPace(ceiling)
