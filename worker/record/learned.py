"""Each lane's learned rate, kept beside the resume state so the next run for a lane starts where it ended.

    DIR/lanes.json   {"version": 2, "lanes": {"<tenant>": {"<scope>": {"rate": 0.49, "measured": 0.5,
                                                          "savedAt": "..."}}}}

A lane is a tenant in a throttling scope. Version 1 files (`{"lanes": {"<tenant>": {"rate": ...}}}`) were
written when the reports group's provisioning route was the only one: their rates are read as that scope's.
A damaged or foreign file is ignored (the lane learns again), never an error: it only saves time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from worker.errors import OutputError
from worker.jobs import LaneKey

LANES_FILE = "lanes.json"
VERSION = 2
LEGACY_SCOPE = "reports"  # the scope of a version-1 file's rates


def load_learned(state_dir: Path) -> dict[LaneKey, float]:
    """The rates saved by an earlier run (empty when there are none or the file cannot be read)."""
    try:
        data: Any = orjson.loads((state_dir / LANES_FILE).read_bytes())
        lanes = data["lanes"]
        found: dict[LaneKey, float] = {}
        for tenant, entry in lanes.items():
            if not isinstance(entry, dict):
                continue
            scopes = {LEGACY_SCOPE: entry} if "rate" in entry else entry  # version 1: one rate a tenant
            found.update(
                ((str(tenant), str(scope)), float(lane["rate"]))
                for scope, lane in scopes.items()
                if isinstance(lane, dict) and _positive(lane.get("rate"))
            )
        return found
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return {}


def save_learned(state_dir: Path, lanes: dict[LaneKey, dict[str, float | None]]) -> None:
    """Write each lane's rate (merged over the rates saved before), atomically."""
    saved: dict[LaneKey, dict[str, object]] = {key: {"rate": rate} for key, rate in load_learned(state_dir).items()}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for key, entry in lanes.items():
        if _positive(entry.get("rate")):
            saved[key] = {**entry, "savedAt": now}
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


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
