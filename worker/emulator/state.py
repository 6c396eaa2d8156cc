"""Everything one emulator instance keeps between requests: config, quota counters, recorder, fault dice."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from worker.emulator.bearer import IssuedTokens
from worker.emulator.config import QUOTA_KNOBS, EmulatorConfig
from worker.emulator.quota import Quotas
from worker.emulator.request_log import RequestLog
from worker.emulator.retry_after_shapes import RetryAfterRenderer

# resource_unit_cost is not among them: it is read on every request, no reset needed
_QUOTA_KNOBS = frozenset(QUOTA_KNOBS)


class EmulatorState:
    """The shared state behind one emulator app; tests reach it through `RunningEmulator.state`."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.quotas = Quotas(config)
        self.recorder = RequestLog(config)
        self.retry_after = RetryAfterRenderer()
        # one seeded generator for every fault decision, so a seeded run injects the same faults
        self.rng = random.Random(config.seed)
        # tokens from the token endpoint; a reset keeps them (a client holding one may still use it)
        self.issued = IssuedTokens()

    def reset(self) -> None:
        """Clear records, counters and quota counters; reseed the fault dice and restart the Retry-After rotation."""
        self.recorder.clear()
        self.quotas.clear()
        self.retry_after.restart()
        self.rng.seed(self.config.seed)

    def reconfigure(self, changes: Mapping[str, Any]) -> None:
        """Change knobs at runtime, all or nothing; a new quota starts every counter afresh."""
        self.config.update(changes)
        if "seed" in changes:
            self.rng.seed(self.config.seed)
        if _QUOTA_KNOBS.intersection(changes):
            self.quotas.clear()

    def roll(self, rate: float) -> bool:
        """True with probability `rate` (no draw at all when the fault is off, keeping seeded runs stable)."""
        return rate > 0.0 and self.rng.random() < rate


#: Where `create_app` keeps the state on the aiohttp application.
STATE = web.AppKey("emulator_state", EmulatorState)
