"""`python -m worker.emulator`: serve the local Graph emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from worker.emulator.flags import add_emulator_arguments, config_from_args, ssl_context_from_args
from worker.emulator.running import run_forever
from worker.errors import ConfigError, listening


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags and serve; prints `emulator listening on http://HOST:PORT/beta` once ready."""
    parser = argparse.ArgumentParser(
        prog="python -m worker.emulator",
        description=(
            "A local Microsoft Graph emulator for patch-worker's tests, demo and benchmarks: it answers "
            "PATCH /beta/... and /v1.0/... and POST /{beta,v1.0}/$batch (JSON batching, up to 20 items, each "
            "evaluated on its own) like Graph (auth, quotas per tenant and per app with 429 + Retry-After, "
            "validation) and injects latency and faults. Inspect it under /_emulator/ "
            "(requests, stats, config, reset, health)."
        ),
        allow_abbrev=False,
    )
    add_emulator_arguments(parser)
    ns = parser.parse_args(argv)
    try:
        with listening(ns.host, ns.port):
            run_forever(config_from_args(ns), ns.host, ns.port, ssl_context_from_args(ns))
    except ConfigError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")


if __name__ == "__main__":
    main()
