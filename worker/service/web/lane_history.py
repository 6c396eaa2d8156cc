"""Each lane's recent rate, sampled once a second into a bounded ring buffer, for the page's sparklines.

The lanes (`worker.schedule.lane_set.LaneSet`) keep totals only; a rate over time needs samples. A sampler
task reads `LaneSet.stats()` every SAMPLE_S and keeps, per lane, the last HISTORY samples of successes per
second, 429s in that second, whether the lane was paused, and its paced rate: constant memory for the
life of the service.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from worker.jobs import LaneKey
from worker.loop import in_background
from worker.schedule.lane_set import LaneSet

SAMPLE_S = 1.0
#: samples kept per lane (two minutes at one a second)
HISTORY = 120


class LaneHistory:
    """Per lane: a ring of [seconds ago, succeeded/s, 429s, paused, paced rate] samples."""

    def __init__(self, lanes: LaneSet, size: int = HISTORY) -> None:
        self._lanes = lanes
        self._size = size
        self._rings: dict[LaneKey, deque[tuple[float, float, int, bool, float | None]]] = {}
        self._last: dict[LaneKey, dict[str, Any]] = {}
        self._last_at = time.monotonic()

    def sample(self) -> None:
        """Take one sample of every lane."""
        moment = time.monotonic()
        span = max(moment - self._last_at, 1e-6)
        for stats in self._lanes.stats():
            name = (stats["lane"], stats["scope"])
            before = self._last.get(name, {"succeeded": 0, "throttled": 0, "pausedS": 0.0})
            ring = self._rings.setdefault(name, deque(maxlen=self._size))
            ring.append(
                (
                    moment,
                    round((stats["succeeded"] - before["succeeded"]) / span, 2),
                    stats["throttled"] - before["throttled"],
                    stats["pausedS"] > before["pausedS"],
                    stats["pacedRate"],
                )
            )
            self._last[name] = stats
        self._last_at = moment

    def snapshot(self) -> list[dict[str, Any]]:
        """Every lane's figures (`LaneSet.stats()`), in-flight count and its history, oldest sample first."""
        moment = time.monotonic()
        found = []
        for stats in self._lanes.stats():
            key = (stats["lane"], stats["scope"])
            lane = self._lanes.lanes.get(key)
            ring = self._rings.get(key, ())
            found.append(
                {
                    **stats,
                    "inFlight": None if lane is None else lane.limit.in_flight,
                    "paused": False if lane is None else not lane.gate.is_open(),
                    "history": [
                        {"ago": round(moment - at, 1), "rate": rate, "throttled": n, "paused": paused, "paced": paced}
                        for at, rate, n, paused, paced in ring
                    ],
                }
            )
        return found

    async def run(self, every: float = SAMPLE_S) -> None:
        """Sample forever."""
        while True:
            await asyncio.sleep(every)
            self.sample()


def sampling(history: LaneHistory) -> Any:
    """An aiohttp cleanup context that samples while the app runs."""

    async def context(_app: web.Application) -> AsyncIterator[None]:
        async with in_background(history.run(), "lane-history"):
            yield

    return context
