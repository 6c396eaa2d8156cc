"""The emulator's knobs: latency, quota rules, Retry-After format, injected faults (per PATCH and per $batch),
accepted tokens, and the token endpoint's registered apps, known tenants and token lifetime.

One `EmulatorConfig` is shared by the running app and read on every request, so a change (in-process, or
through `PUT /_emulator/config`) takes effect on the next request. Every value is checked on construction
and on `update`; a bad value raises `SettingError` (a ValueError) naming the knob.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, cast

from worker.emulator.rules import QUOTA_MODELS, Per, QuotaModel, QuotaRule, RuleError, rule_from_json

RetryAfterFormat = Literal["seconds", "fractional", "http-date", "past-date", "garbage", "none", "combined", "rotate"]

#: Every Retry-After shape the emulator can send; "rotate" cycles through those before "combined".
RETRY_AFTER_FORMATS: tuple[RetryAfterFormat, ...] = (
    "seconds",
    "fractional",
    "http-date",
    "past-date",
    "garbage",
    "none",
    "combined",
    "rotate",
)
#: The knobs that make up `EmulatorConfig.rules`.
QUOTA_KNOBS = (
    "quota_per_s",
    "quota_burst",
    "quota_model",
    "quota_window_s",
    "app_quota_per_s",
    "app_quota_burst",
    "app_quota_model",
    "app_quota_window_s",
    "quotas",
)
_RULE_EXAMPLE = '{"model": "fixed-window", "limit": 5, "window_s": 10, "per": "tenant"}'
#: The 5xx statuses that `error_status` may inject.
ERROR_STATUSES = (500, 502, 503, 504)


class SettingError(ValueError):
    """A knob got a value it cannot take; the message names the knob."""


@dataclass(slots=True)
class EmulatorConfig:
    """Runtime-changeable emulator settings; `None` means "off" or "unlimited" where allowed."""

    latency_ms: float = 0.0  # delay before each HTTP request (PATCH or whole $batch) is answered
    quota_per_s: float | None = None  # per-tenant quota in requests (resource units) per second; None: unlimited
    quota_burst: float | None = None  # token-bucket capacity; None: one window (quota_window_s) of quota
    quota_model: QuotaModel = "token-bucket"  # shape of the per-tenant quota
    quota_window_s: float = 1.0  # window: quota_per_s * quota_window_s units per quota_window_s seconds
    app_quota_per_s: float | None = None  # one quota across all tenants (the app's); None: unlimited
    app_quota_burst: float | None = None
    app_quota_model: QuotaModel = "token-bucket"
    app_quota_window_s: float = 1.0
    quotas: tuple[QuotaRule, ...] = ()  # further rules in the generic form (rules.QuotaRule)
    resource_unit_cost: int = 1  # units each PATCH costs against every rule (x-ms-resource-unit)
    throttle_header: bool = True  # send x-ms-throttle-limit-percentage on 200s past 80 % of a quota
    throttle_scope: bool = False  # send x-ms-throttle-scope on 429s: whom the refusing quota counts
    retry_after: RetryAfterFormat = "seconds"  # shape of Retry-After on 429s and injected 5xx
    error_rate: float = 0.0  # share of PATCHes (single or $batch items) answered with error_status
    error_status: int = 503
    error_retry_after: float | None = None  # Retry-After seconds on injected 5xx; None: no header
    reset_rate: float = 0.0  # share of HTTP requests (PATCH or $batch) whose connection is dropped
    batch_error_rate: float = 0.0  # share of whole $batch requests answered with error_status
    accepted_tokens: AbstractSet[str] | None = None  # None: any non-empty bearer token
    token_lifetime_s: float = 3600.0  # expires_in of tokens from POST /{tenant}/oauth2/v2.0/token
    # registered apps: client id -> secret, and client id -> PEM certificate (client assertions are verified
    # against it). With either set, only tokens issued here (or in accepted_tokens) pass. None: any app.
    clients: Mapping[str, str] | None = None
    client_certificates: Mapping[str, str] | None = None
    known_tenants: AbstractSet[str] | None = None  # tenants the token endpoint knows; None: every tenant
    record_limit: int = 200_000  # most recent requests kept by the recorder
    seed: int | None = None  # seeds the fault dice, for reproducible runs

    def __post_init__(self) -> None:
        for name in _CHECKS:
            setattr(self, name, check_setting(name, getattr(self, name)))
        _check_rules(self.rules, self.resource_unit_cost)

    @property
    def burst(self) -> float:
        """Per-tenant bucket capacity: `quota_burst`, else one window of quota, and never below one request."""
        window = None if self.quota_per_s is None else self.quota_per_s * self.quota_window_s
        capacity = self.quota_burst if self.quota_burst is not None else window
        return max(1.0, capacity or 1.0)

    @property
    def rules(self) -> tuple[QuotaRule, ...]:
        """Every quota rule in force: the per-tenant and app knobs' rules, then `quotas`."""
        knobs = (_knob_rule(self, "quota", "tenant"), _knob_rule(self, "app_quota", "app"))
        return (*(rule for rule in knobs if rule is not None), *self.quotas)

    @property
    def registered_apps(self) -> bool:
        """True when apps are registered: the token endpoint checks credentials, Graph only takes its tokens."""
        return self.clients is not None or self.client_certificates is not None

    def update(self, changes: Mapping[str, Any]) -> None:
        """Check every change first, then apply them all (a bad value changes nothing)."""
        unknown = sorted(set(changes) - set(_CHECKS))
        if unknown:
            raise SettingError(f"unknown emulator setting(s): {', '.join(unknown)}")
        checked = {name: check_setting(name, value) for name, value in changes.items()}
        replace(self, **checked)  # checks the knobs together (rules against the cost) before any change
        for name, value in checked.items():
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form served by `GET /_emulator/config` (tokens as a sorted list)."""
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        for name in ("accepted_tokens", "known_tenants", "clients", "client_certificates"):
            value = data[name]
            if value is not None:  # listed sorted; for apps only the client ids (secrets are not served)
                data[name] = sorted(value)
        data["quotas"] = [rule.to_dict() for rule in self.quotas]
        return data


def _knob_rule(config: EmulatorConfig, prefix: str, per: Per) -> QuotaRule | None:
    """The rule of the `quota_*` (per tenant) or `app_quota_*` (app) knobs: per_s * window_s per window_s."""
    per_s: float | None = getattr(config, f"{prefix}_per_s")
    if per_s is None:
        return None
    model: QuotaModel = getattr(config, f"{prefix}_model")
    window_s: float = getattr(config, f"{prefix}_window_s")
    burst: float | None = getattr(config, f"{prefix}_burst")
    if burst is not None and model != "token-bucket":
        raise SettingError(f"{prefix}_burst applies to {prefix}_model token-bucket only, not {model}")
    try:
        return QuotaRule(model, per_s * window_s, window_s, burst, per)
    except RuleError as exc:
        raise SettingError(f"{prefix}: {exc}") from None


def _check_rules(rules: tuple[QuotaRule, ...], cost: int) -> None:
    for rule in rules:
        if rule.capacity < cost:
            raise SettingError(
                f"a {rule.model} quota per {rule.per} holds {rule.capacity:g} unit(s) at most, less than "
                f"resource_unit_cost {cost}: no request could ever pass"
            )


def check_setting(name: str, value: Any) -> Any:
    """Check (and normalise) one knob's value; raises SettingError naming the knob when it is bad."""
    return _CHECKS[name](name, value)


def _number(name: str, value: Any) -> float:
    # bool is an int subclass: `true` in a PUT body is a mistake, not 1.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise SettingError(f"{name} must be finite, got {value!r}")
    return number


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingError(f"{name} must be an integer, got {value!r}")
    return value


def _non_negative(name: str, value: Any) -> float:
    number = _number(name, value)
    if number < 0:
        raise SettingError(f"{name} must be >= 0, got {value!r}")
    return number


def _fraction(name: str, value: Any) -> float:
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise SettingError(f"{name} must be between 0 and 1, got {value!r}")
    return number


def _optional(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    def optional(name: str, value: Any) -> Any:
        return None if value is None else check(name, value)

    return optional


def _positive(name: str, value: Any) -> float:
    number = _number(name, value)
    if number <= 0:
        raise SettingError(f"{name} must be > 0, got {value!r}")
    return number


def _burst(name: str, value: Any) -> float:
    number = _number(name, value)
    # a bucket that cannot hold one whole token would never admit a request
    if number < 1:
        raise SettingError(f"{name} must be >= 1 (one request), got {value!r}")
    return number


def _retry_after(name: str, value: Any) -> RetryAfterFormat:
    if value not in RETRY_AFTER_FORMATS:
        raise SettingError(f"{name} must be one of {', '.join(RETRY_AFTER_FORMATS)}; got {value!r}")
    return cast("RetryAfterFormat", value)


def _quota_model(name: str, value: Any) -> QuotaModel:
    if value not in QUOTA_MODELS:
        raise SettingError(f"{name} must be one of {', '.join(QUOTA_MODELS)}; got {value!r}")
    return cast("QuotaModel", value)


def _quota_rules(name: str, value: Any) -> tuple[QuotaRule, ...]:
    if isinstance(value, str | Mapping) or not isinstance(value, list | tuple):
        raise SettingError(f"{name} must be a list of rules such as {_RULE_EXAMPLE}, got {value!r}")
    try:
        return tuple(rule if isinstance(rule, QuotaRule) else rule_from_json(rule) for rule in value)
    except RuleError as exc:
        raise SettingError(f"{name}: {exc}") from None


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingError(f"{name} must be true or false, got {value!r}")
    return value


def _error_status(name: str, value: Any) -> int:
    if _integer(name, value) not in ERROR_STATUSES:
        raise SettingError(f"{name} must be one of {ERROR_STATUSES}, got {value!r}")
    return cast("int", value)


def _tokens(name: str, value: Any) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, AbstractSet | list | tuple):
        raise SettingError(f"{name} must be a list of strings or null, got {value!r}")
    if not all(isinstance(token, str) and token for token in value):
        raise SettingError(f"{name} must contain only non-empty strings")
    return frozenset(value)


def _secrets(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and key and isinstance(item, str) and item for key, item in value.items()
    ):
        raise SettingError(f"{name} must map client ids to non-empty strings, or be null")
    return dict(value)


def _certificates(name: str, value: Any) -> dict[str, str]:
    # imported here: every `patch-worker` start builds the emulator's flags, few load certificates
    from cryptography import x509

    checked = _secrets(name, value)
    for client_id, pem in checked.items():
        try:
            x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            raise SettingError(f"{name}: the value for {client_id!r} is not a PEM certificate") from None
    return checked


def _at_least_one(name: str, value: Any) -> int:
    if _integer(name, value) < 1:
        raise SettingError(f"{name} must be >= 1, got {value!r}")
    return cast("int", value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "latency_ms": _non_negative,
    "quota_per_s": _optional(_positive),
    "quota_burst": _optional(_burst),
    "quota_model": _quota_model,
    "quota_window_s": _positive,
    "app_quota_per_s": _optional(_positive),
    "app_quota_burst": _optional(_burst),
    "app_quota_model": _quota_model,
    "app_quota_window_s": _positive,
    "quotas": _quota_rules,
    "resource_unit_cost": _at_least_one,
    "throttle_header": _flag,
    "throttle_scope": _flag,
    "retry_after": _retry_after,
    "error_rate": _fraction,
    "error_status": _error_status,
    "error_retry_after": _optional(_non_negative),
    "reset_rate": _fraction,
    "batch_error_rate": _fraction,
    "accepted_tokens": _optional(_tokens),
    "token_lifetime_s": _positive,
    "clients": _optional(_secrets),
    "client_certificates": _optional(_certificates),
    "known_tenants": _optional(_tokens),
    "record_limit": _at_least_one,
    "seed": _optional(_integer),
}
