"""An input changed between the first and second reading: never sent, one result per line, InputError.

In-process over the real emulator, with a lane slow enough to fall behind (one request in flight, 300 ms
each) and a small lane queue, so its later lines wait for the second reading.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.conftest import TOKEN, write_lines
from worker.compose import OwnStack, credentials, process
from worker.emulator.running import RunningEmulator
from worker.errors import InputError
from worker.jobs import Outcome
from worker.pipeline import lane_pools
from worker.record.summary import RunSummary
from worker.settings import load_settings
from worker.sources.jsonl import JsonlSource

SLOW, FAST = 30, 10


def lines(marker: str) -> list[dict[str, object]]:
    tenants = ["a"] * SLOW + ["b"] * FAST
    return [
        {"jobId": f"{tenant}-{i}", "tenant": tenant, "body": {"action": marker}} for i, tenant in enumerate(tenants)
    ]


def rewrite(path: Path) -> None:
    """The same file (inode), other content of the same length: only the per-line CRC can tell."""
    changed = path.read_bytes().replace(b'"Update"', b'"Evilxx"')
    with path.open("r+b") as out:
        out.write(changed)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))  # hide the edit from the mtime check too


def replace(path: Path) -> None:
    """Another file renamed over the input (a new inode)."""
    other = write_lines(path.with_suffix(".new"), lines("Evilxx"))
    os.replace(other, path)


class ChangingRecorder:
    """Keeps outcomes; changes the input when the first one arrives (the reader is past the slow lane)."""

    def __init__(self, change: Callable[[], None]) -> None:
        self.outcomes: list[Outcome] = []
        self._change: Callable[[], None] | None = change

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        change, self._change = self._change, None
        if change is not None:
            change()


@pytest.mark.parametrize("change", [rewrite, replace])
async def test_a_changed_input_is_never_sent(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[Path], None]
) -> None:
    monkeypatch.setattr(lane_pools, "LANE_BUFFER", 8)
    emulator.config.update({"latency_ms": 300})
    path = write_lines(tmp_path / "in.jsonl", lines("Update"))
    settings = load_settings(
        None, {"graph": {"base_url": emulator.base_url}, "auth": {"token": TOKEN}, "run": {"concurrency": 1}}
    )
    tokens = credentials(settings)
    recorder = ChangingRecorder(lambda: change(path))
    source = JsonlSource(str(path))
    try:
        with pytest.raises(InputError, match="changed during the run"):
            await process(settings, source, recorder, sending=OwnStack(tokens), summary=RunSummary())
    finally:
        source.close()
        await tokens.aclose()
    by_line = sorted(outcome.line or 0 for outcome in recorder.outcomes)
    assert by_line == list(range(1, SLOW + FAST + 1))  # exactly one result per line
    sent = [orjson.loads(request.raw_body or b"{}") for request in emulator.recorder.requests()]
    assert len(sent) == sum(outcome.status == "succeeded" for outcome in recorder.outcomes)
    assert all(body.get("action") == "Update" for body in sent)  # nothing of the new content went out
    not_sent = [outcome for outcome in recorder.outcomes if outcome.error and outcome.error.kind == "not_sent"]
    assert all(outcome.status == "failed" and (outcome.line or SLOW + 1) <= SLOW for outcome in not_sent)
