"""The service keeps what its lanes learned in the store's lanes.json while it runs, not only at a clean stop."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.polling import until
from tests.service.helpers import AUTH, NDJSON, service_settings, started, wait_for_state
from worker.emulator.running import RunningEmulator
from worker.record.learned import LANES_FILE, load_learned


async def test_a_learned_rate_is_kept_while_the_service_runs(emulator: RunningEmulator, tmp_path: Path) -> None:
    emulator.configure(quota_per_s=50.0, quota_burst=5, retry_after="fractional")
    settings = service_settings(emulator.base_url, tmp_path, lane_idle_s=0.5)
    body = b"".join(
        orjson.dumps({"jobId": f"j{n}", "tenant": "contoso", "body": {"action": "Update"}}) + b"\n" for n in range(150)
    )
    async with started(settings) as (_, client):
        async with client.post("/v1/batches", data=body, headers={**AUTH, **NDJSON}) as response:
            assert response.status == 202, await response.text()
            batch = await response.json()
        assert (await wait_for_state(client, batch["id"]))["state"] == "succeeded"

        async def kept() -> bool:  # a killed service would lose nothing it learned more than idle_s / 2 ago
            return ("contoso", "reports") in load_learned(tmp_path)

        await until(kept, "the learned rate written to lanes.json", timeout=10, every=0.1)
        rate = load_learned(tmp_path)["contoso", "reports"].rate
        assert 10.0 <= rate <= 60.0  # learned under the 50/s quota
    assert orjson.loads((tmp_path / LANES_FILE).read_bytes())["version"] == 2
