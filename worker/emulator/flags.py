"""Command-line flags for the emulator, shared by `python -m worker.emulator` and `patch-worker emulate`."""

from __future__ import annotations

import argparse
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from worker.emulator.config import ERROR_STATUSES, RETRY_AFTER_FORMATS, EmulatorConfig, SettingError, check_setting
from worker.emulator.graph_limits import graph_rules
from worker.emulator.rules import QUOTA_MODELS, QuotaRule, RuleError, rule_from_json


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
    group = parser.add_argument_group(
        "latency, quota and Retry-After",
        "Every PATCH (single or $batch item) costs --resource-unit-cost units against every quota in force: "
        "the per-tenant one (--quota), the app's across all tenants (--app-quota) and each --quota-rule. It "
        "passes only if all of them admit it; otherwise 429 with the longest of their waits as Retry-After. "
        "A quota of PER_S over a window of W seconds allows PER_S * W units per W seconds: a token bucket "
        "refills PER_S units a second up to its burst (default PER_S * W), a fixed window admits PER_S * W "
        "units per window (windows back to back from the emulator's start), a sliding window at most PER_S * W "
        "units in any W-second span.",
    )
    group.add_argument(
        "--latency-ms",
        type=_checked("latency_ms", float),
        default=0.0,
        metavar="MS",
        help="delay before every HTTP request (a PATCH or a whole $batch) is answered, in milliseconds (default: 0)",
    )
    _add_quota_arguments(parser, "quota", "per tenant")
    _add_quota_arguments(parser, "app_quota", "for the whole app, across all tenants")
    group.add_argument(
        "--quota-rule",
        dest="quotas",
        type=_rule,
        action="append",
        default=None,
        metavar="JSON",
        help='a further quota as JSON, e.g. \'{"model": "fixed-window", "limit": 5, "window_s": 10, '
        '"per": "tenant"}\' (limit units per window_s; burst for token buckets; per tenant or app; '
        '"tenant": "NAME" for that tenant only; "scope": "directory" or "reports" for that scope only); repeatable',
    )
    group.add_argument(
        "--graph-limits",
        choices=("small", "medium", "large"),
        default=None,
        metavar="TENANT_SIZE",
        help="add Graph's documented limits of both scopes (directory: resource-unit bucket by tenant size "
        "small/medium/large and the write windows; reports: 5 per 10 s): see worker/emulator/graph_limits.py",
    )
    group.add_argument(
        "--resource-unit-cost",
        type=_checked("resource_unit_cost", int),
        default=1,
        metavar="UNITS",
        help="units each PATCH costs against every quota, sent back as x-ms-resource-unit (default: %(default)s)",
    )
    group.add_argument(
        "--no-throttle-header",
        dest="throttle_header",
        action="store_false",
        help="never send x-ms-throttle-limit-percentage (default: sent on 200s past 80 %% of a quota)",
    )
    group.add_argument(
        "--throttle-scope",
        action="store_true",
        help=(
            "send x-ms-throttle-scope on 429s, as Graph does for identity and access: "
            "Tenant_Application/Write/APP/TENANT when a per-tenant rule refused, Application/... when the "
            "app-wide one did (default: not sent, as by most of Graph)"
        ),
    )
    group.add_argument(
        "--retry-after",
        choices=RETRY_AFTER_FORMATS,
        default="seconds",
        metavar="FORMAT",
        help=(
            "Retry-After shape on 429s and injected 5xx: seconds (integer, rounded up), "
            "fractional (e.g. 2.128), http-date, past-date (an HTTP-date already gone), "
            "garbage (unparseable), none (no header), combined (two values joined by a proxy, "
            "'own,4 x own', e.g. '2,8': the larger is never early), rotate (each in turn but combined) "
            "(default: %(default)s)"
        ),
    )
    _add_fault_arguments(parser)
    _add_token_arguments(parser)


def _add_quota_arguments(parser: argparse.ArgumentParser, knob: str, whom: str) -> None:
    """--quota, --quota-burst, --quota-model, --quota-window-s (or the same with app-), knob = quota_*."""
    flag = "--" + knob.replace("_", "-")
    group = parser.add_argument_group(f"{flag} ({whom})")
    group.add_argument(
        flag,
        dest=f"{knob}_per_s",
        type=_checked(f"{knob}_per_s", float),
        default=None,
        metavar="PER_S",
        help=f"requests (units) per second allowed {whom}; beyond it: 429 (default: unlimited)",
    )
    group.add_argument(
        f"{flag}-model",
        dest=f"{knob}_model",
        choices=QUOTA_MODELS,
        default="token-bucket",
        help="shape of the quota (default: %(default)s)",
    )
    group.add_argument(
        f"{flag}-window-s",
        dest=f"{knob}_window_s",
        type=_checked(f"{knob}_window_s", float),
        default=1.0,
        metavar="W",
        help=f"window in seconds: {flag} PER_S allows PER_S * W units per W seconds (default: 1)",
    )
    group.add_argument(
        f"{flag}-burst",
        dest=f"{knob}_burst",
        type=_checked(f"{knob}_burst", float),
        default=None,
        metavar="REQUESTS",
        help="token bucket only: capacity, the requests a rested client may send at once; 1 works "
        "(default: one window of quota, PER_S * W)",
    )


def _rule(text: str) -> QuotaRule:
    try:
        return rule_from_json(orjson.loads(text))
    except orjson.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"not JSON: {text!r}") from None
    except RuleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _client(text: str) -> tuple[str, str]:
    client_id, sep, secret = text.partition("=")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError("expected CLIENT_ID=SECRET")
    return client_id, secret


def _add_token_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "token endpoint (POST /{tenant}/oauth2/v2.0/token, the client-credentials flow) and TLS"
    )
    group.add_argument(
        "--token-lifetime-s",
        type=_checked("token_lifetime_s", float),
        default=3600.0,
        metavar="SECONDS",
        help="expires_in of issued tokens; Graph answers 401 to a token past it (default: %(default)s)",
    )
    group.add_argument(
        "--client",
        dest="clients",
        type=_client,
        action="append",
        default=None,
        metavar="CLIENT_ID=SECRET",
        help="register an app; repeat for several. With registered apps a wrong secret is refused "
        "(AADSTS7000215) and Graph takes only tokens issued here (default: any app, any secret)",
    )
    group.add_argument(
        "--known-tenant",
        dest="known_tenants",
        action="append",
        default=None,
        metavar="TENANT",
        help="a tenant that exists; repeat for several; others get AADSTS90002 (default: every tenant exists)",
    )
    group.add_argument(
        "--tls-cert", type=Path, default=None, metavar="PEM", help="serve HTTPS with this certificate (chain)"
    )
    group.add_argument("--tls-key", type=Path, default=None, metavar="PEM", help="the private key of --tls-cert")


def ssl_context_from_args(ns: argparse.Namespace) -> ssl.SSLContext | None:
    """The server TLS context named by --tls-cert/--tls-key, or None for plain HTTP."""
    cert: Path | None = getattr(ns, "tls_cert", None)
    if cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    key: Path | None = getattr(ns, "tls_key", None)
    context.load_cert_chain(cert, key)
    return context


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
    """Build the config from flags added by `add_emulator_arguments`.

    Flags that each pass but do not fit together (a burst for a window model, a cost above a quota) end
    the program with a one-line usage error (exit 2), as argparse does for a single bad flag.
    """
    try:
        return _config(ns)
    except SettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _config(ns: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        latency_ms=ns.latency_ms,
        quota_per_s=ns.quota_per_s,
        quota_burst=ns.quota_burst,
        quota_model=ns.quota_model,
        quota_window_s=ns.quota_window_s,
        app_quota_per_s=ns.app_quota_per_s,
        app_quota_burst=ns.app_quota_burst,
        app_quota_model=ns.app_quota_model,
        app_quota_window_s=ns.app_quota_window_s,
        quotas=(*(ns.quotas or ()), *(() if ns.graph_limits is None else graph_rules(tenant_size=ns.graph_limits))),
        resource_unit_cost=ns.resource_unit_cost,
        throttle_header=ns.throttle_header,
        throttle_scope=ns.throttle_scope,
        retry_after=ns.retry_after,
        error_rate=ns.error_rate,
        error_status=ns.error_status,
        error_retry_after=ns.error_retry_after,
        reset_rate=ns.reset_rate,
        batch_error_rate=ns.batch_error_rate,
        accepted_tokens=None if ns.tokens is None else frozenset(ns.tokens),
        record_limit=ns.record_limit,
        seed=ns.seed,
        token_lifetime_s=ns.token_lifetime_s,
        clients=None if ns.clients is None else dict(ns.clients),
        known_tenants=None if ns.known_tenants is None else frozenset(ns.known_tenants),
    )
