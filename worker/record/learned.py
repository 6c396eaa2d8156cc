"""Each lane's learned pace, kept beside the resume state so the next run for a lane starts where it ended.

    DIR/lanes.json   {"version": 2, "lanes": {"<tenant>": {"<scope>": {"rate": 0.49, "measured": 0.5,
                                                          "window": {"count": 5, "seconds": 10.2},
                                                          "savedAt": "..."}}}}

`window` is there when the lane paced a quota of "N per W" as N at each window's start (`Pacer.pace_window`);
readers that predate it ignore it and pace the rate evenly.

A lane is a tenant in a throttling scope. Version 1 files (`{"lanes": {"<tenant>": {"rate": ...}}}`) were
written when the reports group's provisioning route was the only one: their rates are read as that scope's.
A damaged or foreign file is ignored (the lane learns again), never an error: it only saves time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from worker.errors import OutputError
from worker.jobs import LaneKey
from worker.schedule.learned_pace import LearnedPace

LANES_FILE = "lanes.json"
VERSION = 2
LEGACY_SCOPE = "reports"  # the scope of a version-1 file's rates


def load_learned(state_dir: Path) -> dict[LaneKey, LearnedPace]:
    """The paces saved by an earlier run (empty when there are none or the file cannot be read)."""
    try:
        data: Any = orjson.loads((state_dir / LANES_FILE).read_bytes())
        lanes = data["lanes"]
        found: dict[LaneKey, LearnedPace] = {}
        for tenant, entry in lanes.items():
            if not isinstance(entry, dict):
                continue
            scopes = {LEGACY_SCOPE: entry} if "rate" in entry else entry  # version 1: one rate a tenant
            found.update(
                ((str(tenant), str(scope)), _pace(lane))
                for scope, lane in scopes.items()
                if isinstance(lane, dict) and _positive(lane.get("rate"))
            )
        return found
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return {}


def save_learned(state_dir: Path, lanes: Mapping[LaneKey, LearnedPace]) -> None:
    """Write each lane's pace (merged over the paces saved before), atomically."""
    saved: dict[LaneKey, dict[str, object]] = {key: _entry(pace) for key, pace in load_learned(state_dir).items()}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for key, pace in lanes.items():
        if _positive(pace.rate):
            saved[key] = {**_entry(pace), "savedAt": now}
    nested: dict[str, dict[str, dict[str, object]]] = {}
    for (tenant, scope), kept in saved.items():
        nested.setdefault(tenant, {})[scope] = kept
    target = state_dir / LANES_FILE
    temporary = target.with_suffix(".tmp")
    try:
        temporary.write_bytes(orjson.dumps({"version": VERSION, "lanes": nested}, option=orjson.OPT_INDENT_2))
        os.replace(temporary, target)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


def _pace(lane: dict[str, Any]) -> LearnedPace:
    measured = lane.get("measured")
    return LearnedPace(float(lane["rate"]), _window(lane.get("window")), measured if _positive(measured) else None)


def _entry(pace: LearnedPace) -> dict[str, object]:
    entry: dict[str, object] = {"rate": pace.rate}
    if pace.measured is not None:
        entry["measured"] = pace.measured
    if pace.window is not None:
        entry["window"] = {"count": pace.window[0], "seconds": pace.window[1]}
    return entry


def _window(value: object) -> tuple[int, float] | None:
    """A saved window, when whole and sane (a damaged one is dropped: the lane paces its rate evenly)."""
    if not isinstance(value, dict):
        return None
    count, seconds = value.get("count"), value.get("seconds")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 1 and _positive(seconds):
        assert isinstance(seconds, int | float)
        return count, float(seconds)
    return None


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
