"""lanes.json: learned rates per (tenant, scope), merged over what was saved, version 1 files still read."""

from __future__ import annotations

from pathlib import Path

import orjson

from worker.record.learned import LANES_FILE, load_learned, save_learned


def test_rates_are_kept_per_tenant_and_scope_and_merged(tmp_path: Path) -> None:
    save_learned(tmp_path, {("contoso", "reports"): {"rate": 0.49, "measured": 0.5}})
    save_learned(tmp_path, {("contoso", "directory"): {"rate": 19.4, "measured": None}})

    assert load_learned(tmp_path) == {("contoso", "reports"): 0.49, ("contoso", "directory"): 19.4}
    saved = orjson.loads((tmp_path / LANES_FILE).read_bytes())
    assert saved["version"] == 2
    assert set(saved["lanes"]["contoso"]) == {"reports", "directory"}


def test_a_version_1_file_s_rates_are_the_reports_scope_s(tmp_path: Path) -> None:
    (tmp_path / LANES_FILE).write_bytes(orjson.dumps({"version": 1, "lanes": {"contoso": {"rate": 0.5}}}))

    assert load_learned(tmp_path) == {("contoso", "reports"): 0.5}
    save_learned(tmp_path, {("contoso", "directory"): {"rate": 20.0}})
    assert load_learned(tmp_path) == {("contoso", "reports"): 0.5, ("contoso", "directory"): 20.0}


def test_a_damaged_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / LANES_FILE).write_bytes(b'{"version": 2, "lanes": {"contoso": {"reports": {"rate": "fast"}}}}')

    assert load_learned(tmp_path) == {}
