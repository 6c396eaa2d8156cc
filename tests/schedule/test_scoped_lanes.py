"""Lanes keyed by (tenant, scope), each scope's app-wide pacer, resource-unit costs and the limit a refusal
names, against the real emulator: a request costing N units (`x-ms-resource-unit`) takes N of its lane's
pacer slots."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from worker.auth.tokens import Credentials, StaticToken
from worker.compose import lane_limits
from worker.emulator.config import EmulatorConfig
from worker.emulator.running import start_emulator
from worker.errors import ThrottledError
from worker.jobs import Job
from worker.schedule.lane import LaneLimits
from worker.schedule.lane_sender import LaneSender
from worker.schedule.lane_set import LaneSet
from worker.schedule.learned_pace import LearnedPace
from worker.send.http import GraphClient, new_session
from worker.settings import ScopeSettings, Settings, TenantSettings

TOKEN = "emu.contoso.secret"
USER = "/users/8a7b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


def job(path: str, scope: str, tenant: str = "contoso") -> Job:
    body = b'{"department": "Finance"}' if scope == "directory" else b'{"action": "Update"}'
    return Job(str(uuid.uuid4()), 1, tenant, path, body, str(uuid.uuid4()), scope=scope)


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


async def test_a_refusal_naming_the_apps_limit_reaches_the_lanes_sharing_bookkeeping() -> None:
    # two tenants under one app-wide limit (10 at once, then 100/s), their own limits far off; the emulator
    # names the refusing limit as identity and access do (x-ms-throttle-scope)
    config = EmulatorConfig(
        quota_per_s=1000.0, app_quota_per_s=100.0, app_quota_burst=10, throttle_scope=True, retry_after="fractional"
    )
    async with await start_emulator(config) as emulator:
        session = new_session(max_connections=16, connect_timeout_s=2, read_timeout_s=5)
        async with session:
            lanes = LaneSet(lambda _key: LaneLimits(max_concurrency=8))
            tokens = {tenant: StaticToken(f"emu.{tenant}.secret") for tenant in ("north", "south")}
            client = GraphClient(session, emulator.base_url, Credentials(default=None, tenants=dict(tokens)))
            sender = LaneSender(lanes, client.patch)
            told: list[tuple[object, str | None]] = []
            for tenant in tokens:
                lane = lanes.lane(tenant, "reports")
                tell = lane.on_paused
                assert tell is not None

                def spy(key: object, scope: str | None, tell: object = tell) -> None:
                    told.append((key, scope))
                    tell(key, scope)  # type: ignore[operator]

                lane.on_paused = spy

            async def send(tenant: str) -> None:
                for _ in range(60):
                    with contextlib.suppress(ThrottledError):  # refused: the lane pauses, the job is dropped
                        await sender.patch(job("/auditLogs/provisioning", "reports", tenant))

            await asyncio.gather(*(send(tenant) for tenant in tokens))

            assert {key for key, scope in told if scope == "Application"} == {
                ("north", "reports"),
                ("south", "reports"),
            }
            assert {scope for _, scope in told} == {"Application"}  # never their own tenants' limits
