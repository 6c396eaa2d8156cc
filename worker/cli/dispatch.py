"""The entry point of `patch-worker` and `python -m worker`: parse, run the command, turn errors into exit codes."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence

from worker.cli.commands import cmd_consume, cmd_demo, cmd_emulate, cmd_run, cmd_serve, cmd_submit, cmd_validate
from worker.cli.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE
from worker.cli.parser import build_parser
from worker.errors import PatchWorkerError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "validate": cmd_validate,
    "demo": cmd_demo,
    "emulate": cmd_emulate,
    "serve": cmd_serve,
    "submit": cmd_submit,
    "consume": cmd_consume,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `patch-worker` and `python -m worker`."""
    # what is alive now (modules, classes, schemas) lives as long as the process: moved out of the cycle
    # collector's reach, no collection walks it again, during the run or at exit (~0.04 s of CPU, measured)
    gc.freeze()
    ns = build_parser().parse_args(argv)
    try:
        return COMMANDS[ns.command](ns)
    except PatchWorkerError as exc:
        print(f"patch-worker: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("patch-worker: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `patch-worker ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
