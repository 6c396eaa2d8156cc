"""The embedded service on a systemic failure: the failing lane stops, other tenants and later batches go on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import TOKEN
from tests.service.helpers import API_KEY, results, started, upload, wait_for_state
from worker.emulator.running import RunningEmulator
from worker.settings import Settings, load_settings

WRONG_TOKEN = "wrong-token-5b0d7e19"  # the emulator accepts only TOKEN
IN_FLIGHT = 32  # run.concurrency


def settings(base_url: str, state_dir: Path, queue: str | None = None) -> Settings:
    """A service whose default credentials work and whose tenant `broken` has a token Graph refuses."""
    service: dict[str, Any] = {"api_key": API_KEY, "state_dir": state_dir, "port": 0}
    if queue is not None:
        service["queue"] = queue
    return load_settings(
        None,
        {
            "graph": {"base_url": base_url},
            "auth": {"token": TOKEN},
            "tenants": {"broken": {"token": WRONG_TOKEN}},
            "retry": {"backoff_initial_s": 0.01, "backoff_max_s": 0.05},
            "service": service,
        },
    )


@pytest.fixture(params=["embedded", pytest.param("distributed", marks=pytest.mark.redis)])
def queue(request: pytest.FixtureRequest) -> str | None:
    """Each test runs in both modes: embedded (None) and distributed (a fresh redis-server's URL)."""
    if request.param == "embedded":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


def lines(count: int, tenant: str | None) -> bytes:
    """`count` envelopes for `tenant` (None: the default tenant)."""
    rows = [{"jobId": f"{tenant or 'default'}-{i}", "body": {"action": "Update"}} for i in range(count)]
    if tenant is not None:
        rows = [{**row, "tenant": tenant} for row in rows]
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def interleave(first: bytes, second: bytes) -> bytes:
    pairs = zip(first.splitlines(keepends=True), second.splitlines(keepends=True), strict=True)
    return b"".join(a + b for a, b in pairs)


async def test_a_refused_tenant_stops_in_its_batch_while_others_and_later_batches_go_on(
    emulator: RunningEmulator, tmp_path: Path, queue: str | None
) -> None:
    async with started(settings(emulator.base_url, tmp_path / "state", queue)) as (_, client):
        mixed = await upload(client, interleave(lines(300, "broken"), lines(300, None)))
        mixed_done = await wait_for_state(client, mixed["id"])
        mixed_rows = await results(client, mixed["id"])
        refused_first = len(emulator.requests(status=401))

        later = await upload(client, lines(100, None))
        later_done = await wait_for_state(client, later["id"])
        again = await upload(client, lines(50, "broken"))  # a later batch tries the tenant again
        again_done = await wait_for_state(client, again["id"])
        refused_in_all = len(emulator.requests(status=401))

    assert mixed_done["state"] == "failed"
    message = mixed_done["error"]["message"]
    assert "'broken'" in message
    assert "401" in message
    assert WRONG_TOKEN not in message
    by_tenant = Counter(
        (row["jobId"].split("-")[0], row["status"], (row["error"] or {}).get("kind")) for row in mixed_rows
    )
    assert by_tenant[("default", "succeeded", None)] == 300  # the working tenant is unaffected
    assert 1 <= refused_first <= IN_FLIGHT
    assert by_tenant[("broken", "failed", "InvalidAuthenticationToken")] == refused_first
    assert by_tenant[("broken", "failed", "not_sent")] == 300 - refused_first
    assert len(mixed_rows) == 600

    assert later_done["state"] == "succeeded"
    assert later_done["error"] is None
    assert again_done["state"] == "failed"
    assert "'broken'" in again_done["error"]["message"]
    assert refused_first < refused_in_all <= refused_first + IN_FLIGHT
