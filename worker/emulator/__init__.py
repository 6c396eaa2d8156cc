"""The local Microsoft Graph emulator: the test double for patch-worker's tests, demo and benchmarks."""

from worker.emulator.cli import add_emulator_arguments, config_from_args
from worker.emulator.config import EmulatorConfig
from worker.emulator.server import RunningEmulator, run_forever, start_emulator

__all__ = [
    "EmulatorConfig",
    "RunningEmulator",
    "add_emulator_arguments",
    "config_from_args",
    "run_forever",
    "start_emulator",
]
