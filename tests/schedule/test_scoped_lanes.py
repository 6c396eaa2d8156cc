"""Lanes keyed by (tenant, scope), each scope's app-wide pacer, and resource-unit costs, against the real
emulator: a request costing N units (`x-ms-resource-unit`) takes N of its lane's pacer slots."""

from __future__ import annotations

import asyncio
import time
import uuid

from worker.auth.tokens import Credentials, StaticToken
from worker.compose import lane_limits
from worker.emulator.config import EmulatorConfig
from worker.emulator.running import start_emulator
from worker.jobs import Job
from worker.schedule.lane import LaneLimits
from worker.schedule.lane_sender import LaneSender
from worker.schedule.lane_set import LaneSet
from worker.schedule.learned_pace import LearnedPace
from worker.send.http import GraphClient, new_session
from worker.settings import ScopeSettings, Settings, TenantSettings

TOKEN = "emu.contoso.secret"
USER = "/users/8a7b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


def job(path: str, scope: str) -> Job:
    body = b'{"department": "Finance"}' if scope == "directory" else b'{"action": "Update"}'
    return Job(str(uuid.uuid4()), 1, "contoso", path, body, str(uuid.uuid4()), scope=scope)


async def _sent_in(sender: LaneSender, jobs: list[Job]) -> float:
    started = time.monotonic()
    for each in jobs:  # one after the other: the spacing is the pacer's
        await sender.patch(each)
    return time.monotonic() - started


async def test_a_request_costing_n_units_takes_n_slots_of_its_lane() -> None:
    # an exact 40 units/s: 1-unit requests 25 ms apart, 4-unit ones (as the emulator says) 100 ms apart
    async with await start_emulator(EmulatorConfig(resource_unit_cost=4)) as emulator:
        session = new_session(max_connections=8, connect_timeout_s=2, read_timeout_s=5)
        async with session:
            lanes = LaneSet(lambda _key: LaneLimits(rate=40.0))
            client = GraphClient(session, emulator.base_url, Credentials(default=StaticToken(TOKEN)))
            sender = LaneSender(lanes, client.patch)
            await sender.patch(job(USER, "directory"))  # learns the cost
            elapsed = await _sent_in(sender, [job(USER, "directory") for _ in range(6)])

            lane = lanes.lane("contoso", "directory")
            assert lane.cost == 4
            assert lane.stats()["unitsPerRequest"] == 4
            assert elapsed >= 6 * 0.1 * 0.8  # not 6 * 25 ms


async def test_each_scope_is_its_own_lane_and_one_scope_s_app_rate_paces_only_it() -> None:
    async with await start_emulator(EmulatorConfig()) as emulator:
        session = new_session(max_connections=8, connect_timeout_s=2, read_timeout_s=5)
        async with session:
            lanes = LaneSet(lambda _key: LaneLimits(), scope_app_rates={"reports": 10.0})
            client = GraphClient(session, emulator.base_url, Credentials(default=StaticToken(TOKEN)))
            sender = LaneSender(lanes, client.patch)
            reports = [job("/auditLogs/provisioning", "reports") for _ in range(20)]
            users = [job(USER, "directory") for _ in range(40)]

            slow, fast = await asyncio.gather(_sent_in(sender, reports), _sent_in(sender, users))

            assert set(lanes.lanes) == {("contoso", "reports"), ("contoso", "directory")}
            assert slow >= 10 * 0.1 * 0.8  # the reports scope at its app-wide 10/s (a second's burst first)
            assert fast < slow  # 40 users unpaced, never held by the reports scope's pacer


def test_a_lane_s_ceiling_is_the_lower_of_its_tenant_s_and_its_scope_s() -> None:
    settings = Settings(
        tenants={"contoso": TenantSettings(rate=3.0)},
        scopes={"reports": ScopeSettings(rate=0.5, app_rate=12.2), "directory": ScopeSettings(rate=20.0)},
    )
    limits = lane_limits(
        settings, {("contoso", "directory"): LearnedPace(2.5), ("contoso", "reports"): LearnedPace(5.0, (5, 10.2))}
    )

    assert limits(("contoso", "reports")).ceiling == 0.5
    assert limits(("contoso", "directory")).ceiling == 3.0
    assert limits(("contoso", "directory")).learned == LearnedPace(2.5)
    assert limits(("contoso", "reports")).learned == LearnedPace(0.5)  # a pace over the ceiling is the ceiling
    assert limits(("fabrikam", "directory")).ceiling == 20.0
    assert limits(("fabrikam", "other")).ceiling is None
