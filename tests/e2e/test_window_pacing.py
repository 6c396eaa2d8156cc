"""The seed's quota, 5 requests per 10 s, against the emulator in a real run: N at each window's start.

Kept in `--state DIR` (lanes.json), the window is paced again by the next run there: at once, no refusal.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from tests.conftest import TOKEN, CliResult, read_results, run_args, run_cli, write_lines
from worker.emulator.running import RunningEmulator


def _fifteen_lines_under_5_per_10_s(emulator: RunningEmulator, tmp_path: Path) -> Path:
    emulator.config.update({"quota_per_s": 0.5, "quota_window_s": 10, "quota_model": "fixed-window"})
    return write_lines(tmp_path / "in.jsonl", [{"tenant": "contoso", "body": {"action": "Update"}}] * 15)


async def _timed_run(emulator: RunningEmulator, source: Path, results: Path, state: Path) -> tuple[CliResult, float]:
    """A run with `--state` against the emulator, its windows from the run's start: its result and seconds."""
    emulator.reset()
    started = time.monotonic()
    done = await run_cli(
        *run_args(source, emulator.base_url, results),
        "--state",
        str(state),
        "--no-progress",
        env={"GRAPH_TOKEN": TOKEN},
    )
    return done, time.monotonic() - started


async def test_a_window_of_5_per_10_s_is_paced_as_5_at_each_windows_start(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    source = _fifteen_lines_under_5_per_10_s(emulator, tmp_path)
    results = tmp_path / "results.jsonl"
    done, elapsed = await _timed_run(emulator, source, results, tmp_path / "state")
    assert done.code == 0, done.stderr
    assert [row["status"] for row in read_results(results)] == ["succeeded"] * 15
    # 5 at once, the 6th refused (wait 10 s), then 5 at each window's start: ~22 s; paced evenly at what
    # it measured (0.49/s), the last window's 5 would go one by one: ~29 s
    assert elapsed < 26.0, f"{elapsed:.1f} s"
    assert emulator.stats()["throttled"] <= 2
    accepted = sorted(request.time for request in emulator.requests(status=204) + emulator.requests(status=200))
    windows = [accepted[:5], accepted[5:10], accepted[10:]]
    assert all(window[-1] - window[0] < 3.0 for window in windows)  # each window's 5 together
    assert windows[2][0] - windows[1][0] >= 10.0  # never 6 in any 10 s
    kept = orjson.loads((tmp_path / "state" / "lanes.json").read_bytes())["lanes"]["contoso"]["reports"]
    assert kept["window"]["count"] == 5
    assert 10.0 <= kept["window"]["seconds"] <= 11.0


async def test_a_window_kept_by_an_earlier_run_is_paced_from_the_start(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    source = _fifteen_lines_under_5_per_10_s(emulator, tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    window = {"count": 5, "seconds": 10.2}
    lanes = {"contoso": {"reports": {"rate": 5 / 10.2, "window": window}}}
    (state / "lanes.json").write_bytes(orjson.dumps({"version": 2, "lanes": lanes}))
    plan = await run_cli("run", str(source), "--dry-run", "--state", str(state), env={"GRAPH_TOKEN": TOKEN})
    planned = orjson.loads(plan.stdout.splitlines()[-1])["plan"]["lanes"][0]
    assert (planned["rateSource"], planned["window"]) == ("persisted", window)
    assert planned["estimatedS"] == 20.4  # 5 at 0, 10.2 and 20.4 s (15 / 0.49 would say 30.6 s)
    done, elapsed = await _timed_run(emulator, source, tmp_path / "results.jsonl", state)
    assert done.code == 0, done.stderr
    # 5 at once at 0, 10.2 and 20.4 s: ~23 s and not one refusal; its rate paced evenly (0.49/s): ~29 s
    assert elapsed < 26.0, f"{elapsed:.1f} s"
    assert emulator.stats()["throttled"] == 0
