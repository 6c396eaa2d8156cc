"""Quota rules: the shapes of quota the emulator can enforce, as small frozen values.

A rule says how many requests (in resource units) pass per window and whom it counts: one counter per
tenant (`per="tenant"`, Graph's per-app-per-tenant limit) or one for the whole app across tenants
(`per="app"`), for the requests of one throttling scope (`scope`: a resource's group, e.g. "directory")
or of every scope. Several rules apply at once; `quota.Quotas` admits a request only when all of them do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

QuotaModel = Literal["token-bucket", "fixed-window", "sliding-window"]
Per = Literal["tenant", "app"]

QUOTA_MODELS: tuple[QuotaModel, ...] = ("token-bucket", "fixed-window", "sliding-window")
PERS: tuple[Per, ...] = ("tenant", "app")
_FIELDS = frozenset({"model", "limit", "window_s", "burst", "per", "tenant", "scope"})


class RuleError(ValueError):
    """A rule cannot be built from what was given; the message says which field is wrong."""


@dataclass(frozen=True, slots=True)
class QuotaRule:
    """`limit` resource units per `window_s` seconds, counted per tenant or for the whole app.

    A per-tenant rule applies to every tenant (each with its own counter), or with `tenant` set to that
    tenant only: tenants with different quotas are one such rule each. With `scope` set, the rule counts
    only requests to resources of that scope (`resources.Resource.scope`).

    - token-bucket: refills `limit / window_s` units per second up to `burst` (default: `limit`, one window).
    - fixed-window: at most `limit` units in each window; windows follow each other from the counters'
      start (emulator start, reset or quota change), and a refused request waits until the window ends.
    - sliding-window: at most `limit` units in any span of `window_s` seconds; a refused request waits until
      enough of the oldest counted requests leave the span.
    """

    model: QuotaModel
    limit: float
    window_s: float = 1.0
    burst: float | None = None
    per: Per = "tenant"
    tenant: str | None = None
    scope: str | None = None

    def __post_init__(self) -> None:
        if self.model not in QUOTA_MODELS:
            raise RuleError(f"model must be one of {', '.join(QUOTA_MODELS)}; got {self.model!r}")
        if self.per not in PERS:
            raise RuleError(f"per must be one of {', '.join(PERS)}; got {self.per!r}")
        if self.tenant is not None and (self.per != "tenant" or not isinstance(self.tenant, str) or not self.tenant):
            raise RuleError(f"tenant must be a non-empty string on a per-tenant rule, got {self.tenant!r}")
        if self.scope is not None and (not isinstance(self.scope, str) or not self.scope):
            raise RuleError(f"scope must be a non-empty string, got {self.scope!r}")
        _check_positive("limit", self.limit)
        _check_positive("window_s", self.window_s)
        if self.burst is not None:
            if self.model != "token-bucket":
                raise RuleError(f"burst applies to the token-bucket model only, not {self.model}")
            _check_positive("burst", self.burst)
            if self.burst < 1:
                raise RuleError(f"burst must be >= 1 (one request), got {self.burst!r}")

    @property
    def capacity(self) -> float:
        """The most units the rule ever admits at once: the bucket (never below one request) or the window."""
        if self.model == "token-bucket":
            return self.burst if self.burst is not None else max(1.0, self.limit)
        return self.limit

    @property
    def rate(self) -> float:
        """Units per second in the long run."""
        return self.limit / self.window_s

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as accepted by `rule_from_json` (served by `GET /_emulator/config`)."""
        return {
            "model": self.model,
            "limit": self.limit,
            "window_s": self.window_s,
            "burst": self.burst,
            "per": self.per,
            "tenant": self.tenant,
            "scope": self.scope,
        }

    def applies_to(self, tenant: str, scope: str | None = None) -> bool:
        """True when the rule counts `tenant`'s requests to a resource of `scope`."""
        return (self.tenant is None or self.tenant == tenant) and (self.scope is None or self.scope == scope)


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise RuleError(f"{name} must be a finite number > 0, got {value!r}")


def rule_from_json(value: Any) -> QuotaRule:
    """A rule from its JSON form, e.g. {"model": "fixed-window", "limit": 5, "window_s": 10, "per": "tenant"}."""
    if not isinstance(value, Mapping):
        raise RuleError(f"a quota rule must be an object with model and limit, got {value!r}")
    unknown = sorted(set(value) - _FIELDS)
    if unknown:
        raise RuleError(f"unknown quota rule field(s): {', '.join(unknown)}")
    if "model" not in value or "limit" not in value:
        raise RuleError("a quota rule needs at least model and limit")
    numbers = {name: value[name] for name in ("limit", "window_s", "burst") if value.get(name) is not None}
    for name, number in numbers.items():
        _check_positive(name, number)
    return QuotaRule(
        model=cast("QuotaModel", value["model"]),
        per=cast("Per", value.get("per", "tenant")),
        tenant=value.get("tenant"),
        scope=value.get("scope"),
        **{name: float(number) for name, number in numbers.items()},
    )
