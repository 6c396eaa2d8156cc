"""Command-line flags for the emulator, shared by `python -m worker.emulator` and `patch-worker emulate`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from worker.emulator.config import ERROR_STATUSES, RETRY_AFTER_FORMATS, EmulatorConfig, check_setting


def _checked(knob: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse `type`: convert the text, then apply the config's own check (exit 2 when bad)."""

    def parse(text: str) -> Any:
        try:
            return check_setting(knob, convert(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def add_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's flags (--host, --port and one per knob) to `parser`."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8081, help="port to listen on; 0 picks a free one (default: %(default)s)"
    )
    group = parser.add_argument_group("latency and quota")
    group.add_argument(
        "--latency-ms",
        type=_checked("latency_ms", float),
        default=0.0,
        metavar="MS",
        help="delay before every HTTP request (a PATCH or a whole $batch) is answered, in milliseconds (default: 0)",
    )
    group.add_argument(
        "--quota",
        dest="quota_per_s",
        type=_checked("quota_per_s", float),
        default=None,
        metavar="PER_S",
        help="requests per second allowed per tenant (token bucket); beyond it: 429 (default: unlimited)",
    )
    group.add_argument(
        "--quota-burst",
        type=_checked("quota_burst", float),
        default=None,
        metavar="REQUESTS",
        help="bucket capacity: requests a rested tenant may send at once (default: one second of --quota)",
    )
    group.add_argument(
        "--retry-after",
        choices=RETRY_AFTER_FORMATS,
        default="seconds",
        metavar="FORMAT",
        help=(
            "Retry-After shape on 429s and injected 5xx: seconds (integer, rounded up), "
            "fractional (e.g. 2.128), http-date, past-date (an HTTP-date already gone), "
            "garbage (unparseable), none (no header), rotate (each in turn) (default: %(default)s)"
        ),
    )
    _add_fault_arguments(parser)


def _add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("faults and auth")
    group.add_argument(
        "--error-rate",
        type=_checked("error_rate", float),
        default=0.0,
        metavar="FRACTION",
        help="fraction (0..1) of PATCHes (single or $batch items) answered with --error-status (default: 0)",
    )
    group.add_argument(
        "--error-status",
        type=int,
        choices=ERROR_STATUSES,
        default=503,
        metavar="STATUS",
        help="status of injected errors: 500, 502, 503 or 504 (default: %(default)s)",
    )
    group.add_argument(
        "--error-retry-after",
        type=_checked("error_retry_after", float),
        default=None,
        metavar="SECONDS",
        help="Retry-After seconds sent with injected errors, in the --retry-after shape (default: no header)",
    )
    group.add_argument(
        "--reset-rate",
        type=_checked("reset_rate", float),
        default=0.0,
        metavar="FRACTION",
        help="fraction (0..1) of HTTP requests (a PATCH or a whole $batch) whose connection is dropped "
        "without any response (default: 0)",
    )
    group.add_argument(
        "--batch-error-rate",
        type=_checked("batch_error_rate", float),
        default=0.0,
        metavar="FRACTION",
        help="fraction (0..1) of whole $batch requests answered with --error-status (and --error-retry-after) "
        "instead of evaluating their items (default: 0)",
    )
    group.add_argument(
        "--token",
        dest="tokens",
        action="append",
        default=None,
        metavar="TOKEN",
        help="a bearer token to accept; repeat for several (default: any non-empty bearer token). "
        "A token emu.<tenant>.<anything> belongs to <tenant>, any other to tenant 'default'",
    )
    group.add_argument(
        "--record-limit",
        type=_checked("record_limit", int),
        default=200_000,
        metavar="COUNT",
        help="most recent requests kept for /_emulator/requests (default: %(default)s)",
    )
    group.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="INT",
        help="random seed, for reproducible fault injection (default: none)",
    )


def config_from_args(ns: argparse.Namespace) -> EmulatorConfig:
    """Build the config from flags added by `add_emulator_arguments`."""
    return EmulatorConfig(
        latency_ms=ns.latency_ms,
        quota_per_s=ns.quota_per_s,
        quota_burst=ns.quota_burst,
        retry_after=ns.retry_after,
        error_rate=ns.error_rate,
        error_status=ns.error_status,
        error_retry_after=ns.error_retry_after,
        reset_rate=ns.reset_rate,
        batch_error_rate=ns.batch_error_rate,
        accepted_tokens=None if ns.tokens is None else frozenset(ns.tokens),
        record_limit=ns.record_limit,
        seed=ns.seed,
    )
