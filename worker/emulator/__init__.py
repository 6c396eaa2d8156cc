"""The local Microsoft Graph emulator: the test double for patch-worker's tests, demo and benchmarks.

Names are imported on first use: `patch-worker run` imports the emulator's flag definitions (for the
`emulate` subcommand's help) and must not pay for the server side at every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.emulator.config import EmulatorConfig
    from worker.emulator.flags import add_emulator_arguments, config_from_args
    from worker.emulator.running import RunningEmulator, run_forever, start_emulator

_WHERE = {
    "add_emulator_arguments": "worker.emulator.flags",
    "config_from_args": "worker.emulator.flags",
    "EmulatorConfig": "worker.emulator.config",
    "RunningEmulator": "worker.emulator.running",
    "run_forever": "worker.emulator.running",
    "start_emulator": "worker.emulator.running",
}

__all__ = [
    "EmulatorConfig",
    "RunningEmulator",
    "add_emulator_arguments",
    "config_from_args",
    "run_forever",
    "start_emulator",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'worker.emulator' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
