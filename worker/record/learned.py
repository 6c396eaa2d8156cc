"""Each lane's learned rate, kept beside the resume state so the next run for a tenant starts where this one ended.

    DIR/lanes.json   {"version": 1, "lanes": {"<tenant>": {"rate": 0.49, "measured": 0.5, "savedAt": "..."}}}

A damaged or foreign file is ignored (the lane learns again), never an error: it only saves time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from worker.errors import OutputError

LANES_FILE = "lanes.json"
VERSION = 1


def load_learned(state_dir: Path) -> dict[str, float]:
    """The rates saved by an earlier run (empty when there are none or the file cannot be read)."""
    try:
        data: Any = orjson.loads((state_dir / LANES_FILE).read_bytes())
        lanes = data["lanes"]
        return {
            str(name): float(entry["rate"])
            for name, entry in lanes.items()
            if isinstance(entry, dict) and _positive(entry.get("rate"))
        }
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return {}


def save_learned(state_dir: Path, lanes: dict[str, dict[str, float | None]]) -> None:
    """Write each lane's rate (merged over the rates saved before), atomically."""
    saved: dict[str, dict[str, object]] = {name: {"rate": rate} for name, rate in load_learned(state_dir).items()}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for name, entry in lanes.items():
        if _positive(entry.get("rate")):
            saved[name] = {**entry, "savedAt": now}
    target = state_dir / LANES_FILE
    temporary = target.with_suffix(".tmp")
    try:
        temporary.write_bytes(orjson.dumps({"version": VERSION, "lanes": saved}, option=orjson.OPT_INDENT_2))
        os.replace(temporary, target)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
