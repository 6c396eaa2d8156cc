"""A lane's rate shared by every replica: each attempt first reserves a send slot in Redis.

The pacer's own algorithm (`worker.schedule.pacer`), with the lane's next free slot kept in Redis and
moved by one Lua script, so that three replicas sending for one tenant together stay within that tenant's
configured rate instead of tripling it. The slot time comes from Redis's clock: replicas' clocks never
have to agree. Each replica's lanes still pace, gate and adapt on their own as well (they slow down on
429s); the shared slot is the ceiling they share.

It applies to lanes (a tenant in a scope) with a configured rate (`tenants.<name>.rate` or
`scopes.<name>.rate`, else `run.rate`) and to `run.app_rate` across lanes; a lane whose rate is learned
(rate 0) has no shared ceiling.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from worker.answers import Answer, Sender
from worker.compose import lane_limits
from worker.jobs import Job, LaneKey
from worker.service.redis.keys import RESERVE, Keys
from worker.settings import Settings

APP_LANE = "@app"  # not a valid tenant name, so it cannot collide with one


class SharedRate:
    """Slot reservations per lane, in Redis."""

    def __init__(self, client: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self._keys = keys
        self._reserve = client.register_script(RESERVE)
        self._limits = lane_limits(settings)
        self._burst = settings.run.burst
        self._app_rate = settings.run.app_rate or None

    async def acquire(self, lane: LaneKey) -> None:
        """Wait for this lane's next shared slot (and the app-wide one)."""
        rate = self._limits(lane).rate
        if rate is not None:
            tenant, scope = lane
            await self._wait(self._keys.rate(f"{tenant}/{scope}"), rate)
        if self._app_rate is not None:
            await self._wait(self._keys.rate(APP_LANE), self._app_rate)

    async def _wait(self, key: str, rate: float) -> None:
        delay = float(await self._reserve(keys=[key], args=[1.0 / rate, 1, self._burst]))
        if delay > 0:
            await asyncio.sleep(delay)


class SharedRateSender:
    """A Sender whose every attempt takes its lane's shared slot first."""

    def __init__(self, sender: Sender, rate: SharedRate) -> None:
        self._sender = sender
        self._rate = rate

    async def patch(self, job: Job) -> Answer:
        """One attempt, once the lane's shared slot has come."""
        await self._rate.acquire(job.lane)
        return await self._sender.patch(job)
