"""The composition root in-process (`worker.compose`): the sending stack and `process` against a real emulator.

The CLI tests run the same code in a subprocess; these see inside: what the summary, the lanes and the
state directory hold once `process` returns, and which requests the emulator received.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import TOKEN, write_lines
from worker.compose import DryRun, OwnStack, credentials, keeping_learned, lane_set, parse_input_line, process
from worker.emulator.running import RunningEmulator
from worker.jobs import Job, Outcome, Rejected
from worker.record.learned import LANES_FILE, load_learned
from worker.record.summary import RunSummary
from worker.schedule.learned_pace import LearnedPace
from worker.settings import Settings, load_settings
from worker.sources.jsonl import OVERSIZED, JsonlSource


class ListRecorder:
    """Keeps every outcome (the pipeline's recorder interface)."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


def _settings(emulator: RunningEmulator, **run: Any) -> Settings:
    return load_settings(
        None,
        {"graph": {"base_url": emulator.base_url}, "auth": {"token": TOKEN}, "run": {"concurrency": 4, **run}},
    )


def _input(tmp_path: Path, count: int, tenants: tuple[str, ...] = ("contoso", "fabrikam")) -> Path:
    lines: list[object] = [
        {"tenant": tenants[i % len(tenants)], "body": {"action": "Update", "activityDateTime": "2024-01-01T00:00:00Z"}}
        for i in range(count)
    ]
    lines.append({"body": {"unknownProperty": 1}})  # rejected, never sent
    return write_lines(tmp_path / "in.jsonl", lines)


async def _process(
    settings: Settings, path: Path, *, dry_run: bool = False, state: Path | None = None
) -> tuple[RunSummary, ListRecorder]:
    summary, recorder = RunSummary(), ListRecorder()
    source = JsonlSource(str(path))
    tokens = None if dry_run else credentials(settings)
    sending = DryRun() if tokens is None else OwnStack(tokens)
    try:
        await process(settings, source, recorder, sending=sending, summary=summary, state_dir=state)
    finally:
        source.close()
        if tokens is not None:
            await tokens.aclose()
    return summary, recorder


async def test_process_sends_each_valid_line_once_and_records_every_line(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    summary, recorder = await _process(_settings(emulator), _input(tmp_path, 40))
    statuses = sorted((o.line, o.status) for o in recorder.outcomes)
    assert statuses == [(line, "succeeded") for line in range(1, 41)] + [(41, "rejected")]
    assert emulator.stats()["distinct_succeeded"] == 40
    assert summary.valid == 40
    assert sorted(lane["lane"] for lane in summary.lanes) == ["contoso", "fabrikam"]
    assert all(lane["succeeded"] == 20 for lane in summary.lanes)
    assert summary.stopped_by is None


async def test_a_dry_run_sends_nothing_and_plans_each_lane(emulator: RunningEmulator, tmp_path: Path) -> None:
    summary, recorder = await _process(_settings(emulator), _input(tmp_path, 10), dry_run=True)
    assert emulator.stats()["distinct_succeeded"] == 0
    assert emulator.requests() == []
    assert summary.plan is not None
    plan = orjson.loads(orjson.dumps(summary.plan))
    assert sorted((lane["lane"], lane["jobs"]) for lane in plan["lanes"]) == [("contoso", 5), ("fabrikam", 5)]
    assert [o.status for o in recorder.outcomes] == ["rejected"]


async def test_with_a_state_directory_each_lane_leaves_its_rate_for_the_next_run(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    emulator.configure(quota_per_s=50.0, quota_burst=5, retry_after="fractional")
    state = tmp_path / "state"
    state.mkdir()
    await _process(_settings(emulator), _input(tmp_path, 120, tenants=("contoso",)), state=state)
    learned = load_learned(state)
    assert ("contoso", "reports") in learned  # the provisioning route's scope
    assert 10.0 <= learned["contoso", "reports"].rate <= 60.0  # learned under the 50/s quota


async def test_batch_size_sends_graph_json_batches(emulator: RunningEmulator, tmp_path: Path) -> None:
    _summary, recorder = await _process(_settings(emulator, batch_size=10), _input(tmp_path, 30))
    assert sum(o.status == "succeeded" for o in recorder.outcomes) == 30
    assert all(request.via_batch for request in emulator.requests())


def test_a_line_too_long_is_rejected_naming_the_limit() -> None:
    parsed = parse_input_line(OVERSIZED, 7, default_tenant="t", max_line_bytes=1024)
    assert isinstance(parsed, Rejected)
    assert parsed.line == 7
    assert parsed.kind == "line_too_long"
    assert "1024" in parsed.message


@pytest.mark.parametrize("raw", [b'{"action": "Update"}', b'{"tenant": "t2", "body": {"action": "Update"}}'])
def test_a_line_parses_to_a_job_in_its_lane(raw: bytes) -> None:
    parsed = parse_input_line(raw, 3, default_tenant="t1", max_line_bytes=1024)
    assert isinstance(parsed, Job)
    assert parsed.line == 3
    assert parsed.tenant == ("t2" if b"tenant" in raw else "t1")


async def test_what_the_lanes_learned_is_written_while_they_run_when_it_changed(tmp_path: Path) -> None:
    # a run or service killed mid-way (kill -9) keeps what its lanes learned up to `every_s` before
    lanes = lane_set(Settings(), {("contoso", "reports"): LearnedPace(0.49, (5, 10.2))})
    async with keeping_learned(lanes, tmp_path, every_s=0.05):
        await asyncio.sleep(0.2)
        assert not (tmp_path / LANES_FILE).exists()  # nothing changed: nothing written
        lanes.lane("contoso", "reports")
        lanes.lane("contoso", "directory")  # unpaced, nothing learned yet: not kept
        await asyncio.sleep(0.2)
        kept = load_learned(tmp_path)
        assert list(kept) == [("contoso", "reports")]
        assert kept["contoso", "reports"].window == (5, 10.2)
        assert kept["contoso", "reports"].rate == pytest.approx(5 / 10.2)
