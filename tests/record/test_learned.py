"""lanes.json: learned paces per (tenant, scope), merged over what was saved, version 1 files still read."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from worker.record.learned import LANES_FILE, load_learned, save_learned
from worker.schedule.learned_pace import LearnedPace


def test_rates_are_kept_per_tenant_and_scope_and_merged(tmp_path: Path) -> None:
    save_learned(tmp_path, {("contoso", "reports"): LearnedPace(0.49, measured=0.5)})
    save_learned(tmp_path, {("contoso", "directory"): LearnedPace(19.4)})

    assert load_learned(tmp_path) == {
        ("contoso", "reports"): LearnedPace(0.49, measured=0.5),
        ("contoso", "directory"): LearnedPace(19.4),
    }
    saved = orjson.loads((tmp_path / LANES_FILE).read_bytes())
    assert saved["version"] == 2
    assert set(saved["lanes"]["contoso"]) == {"reports", "directory"}
    assert saved["lanes"]["contoso"]["reports"]["measured"] == 0.5


def test_a_window_paced_lane_keeps_its_window(tmp_path: Path) -> None:
    save_learned(tmp_path, {("contoso", "reports"): LearnedPace(0.49, (5, 10.2), measured=0.5)})
    save_learned(tmp_path, {("contoso", "directory"): LearnedPace(19.4)})  # merged: the window stays

    assert load_learned(tmp_path)[("contoso", "reports")] == LearnedPace(0.49, (5, 10.2), measured=0.5)
    saved = orjson.loads((tmp_path / LANES_FILE).read_bytes())
    assert saved["lanes"]["contoso"]["reports"]["window"] == {"count": 5, "seconds": 10.2}


@pytest.mark.parametrize(
    "window",
    [
        {"count": 0, "seconds": 10},
        {"count": 5.5, "seconds": 10},
        {"count": True, "seconds": 10},
        {"count": 5, "seconds": -1},
        {"count": 5, "seconds": "10"},
        [5, 10],
        "5 per 10 s",
        None,
    ],
)
def test_a_damaged_window_is_dropped_and_the_rate_kept(tmp_path: Path, window: object) -> None:
    lane = {"rate": 0.49, "window": window}
    (tmp_path / LANES_FILE).write_bytes(orjson.dumps({"version": 2, "lanes": {"contoso": {"reports": lane}}}))

    assert load_learned(tmp_path) == {("contoso", "reports"): LearnedPace(0.49)}


def test_a_version_1_file_s_rates_are_the_reports_scope_s(tmp_path: Path) -> None:
    (tmp_path / LANES_FILE).write_bytes(orjson.dumps({"version": 1, "lanes": {"contoso": {"rate": 0.5}}}))

    assert load_learned(tmp_path) == {("contoso", "reports"): LearnedPace(0.5)}
    save_learned(tmp_path, {("contoso", "directory"): LearnedPace(20.0)})
    assert load_learned(tmp_path) == {
        ("contoso", "reports"): LearnedPace(0.5),
        ("contoso", "directory"): LearnedPace(20.0),
    }


def test_a_damaged_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / LANES_FILE).write_bytes(b'{"version": 2, "lanes": {"contoso": {"reports": {"rate": "fast"}}}}')

    assert load_learned(tmp_path) == {}


def test_a_rate_that_is_not_finite_is_ignored(tmp_path: Path) -> None:
    (tmp_path / LANES_FILE).write_bytes(b'{"version": 2, "lanes": {"contoso": {"reports": {"rate": 1e999}}}}')

    assert load_learned(tmp_path) == {}
