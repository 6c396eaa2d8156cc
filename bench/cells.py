"""The throttling matrix's cells (issue 13): each quota shape the emulator enforces, its input, its ideal.

Ideal: a tenant with N_t lines under a quota that passes B_t at once (a bucket's capacity, a window's N)
and Q_t per second afterwards needs (N_t - B_t) / Q_t seconds; a cell's ideal is its slowest tenant's, or
(N - B_app) / Q_app under an app-wide quota when that is longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from bench.naive import tenant_token

Q = 200.0
MAX_429 = 0.02
DEFAULT_TENANT = "default"  # the emulator's tenant for the bench's static token


@dataclass(frozen=True)
class Quota:
    """One tenant's (or the app's) quota, as the emulator enforces it: `per_s` a second over `window_s`."""

    model: str = "token-bucket"
    per_s: float = Q
    burst: float | None = None  # token bucket capacity; None: one window of quota
    window_s: float = 1.0

    @property
    def at_once(self) -> float:
        """B: what passes before the rate applies (the bucket's capacity, or one window's requests)."""
        if self.burst is not None:
            return self.burst
        window = self.per_s * self.window_s
        return max(1.0, window) if self.model == "token-bucket" else window

    def ideal_s(self, lines: int) -> float:
        """(N - B) / Q: the shortest time `lines` requests can take under this quota."""
        return max(0.0, lines - self.at_once) / self.per_s

    def rule(self, per: str, tenant: str | None = None) -> str:
        """The emulator's `--quota-rule` JSON for this quota."""
        rule: dict[str, Any] = {"model": self.model, "limit": self.per_s * self.window_s, "window_s": self.window_s}
        rule["per"] = per
        if self.burst is not None:
            rule["burst"] = self.burst
        if tenant is not None:
            rule["tenant"] = tenant
        return orjson.dumps(rule).decode()

    def describe(self) -> str:
        """The quota in a table cell."""
        if self.model == "token-bucket":
            return f"token bucket of {self.at_once:,.0f}, {self.per_s:g}/s"
        return f"{self.model} {self.per_s * self.window_s:g} per {self.window_s:g} s"


@dataclass(frozen=True)
class Cell:
    """One quota shape and its input: lines per tenant (full size), each tenant's quota, the app's."""

    name: str
    title: str
    lines: dict[str, int]
    quotas: dict[str, Quota]
    app: Quota | None = None
    retry_after: str = "seconds"
    scope_header: bool = False  # 429s say whom the refusing limit counts (x-ms-throttle-scope)
    max_429: float = MAX_429
    plot: bool = False
    quick_scale: float = 0.25  # --quick's share of the lines (enough that start-up does not swamp the ideal)

    def sized(self, quick: bool) -> dict[str, int]:
        """Lines per tenant in this mode."""
        scale = self.quick_scale if quick else 1.0
        return {tenant: max(1, round(count * scale)) for tenant, count in self.lines.items()}

    def ideal_s(self, lines: dict[str, int]) -> float:
        """The slowest tenant's (N_t - B_t) / Q_t, or the app's (N - B_app) / Q_app if longer."""
        ideal = max(self.quotas[tenant].ideal_s(count) for tenant, count in lines.items())
        if self.app is not None:
            ideal = max(ideal, self.app.ideal_s(sum(lines.values())))
        return ideal

    @property
    def quota_per_s(self) -> float:
        """The most the server lets through per second, all tenants together (the plot's quota line)."""
        total = sum(quota.per_s for quota in self.quotas.values())
        return total if self.app is None else min(total, self.app.per_s)

    def emulator_flags(self) -> list[str]:
        """The emulator's flags: one quota rule per tenant (and the app's), a token per named tenant."""
        flags = ["--retry-after", self.retry_after]
        for tenant, quota in self.quotas.items():
            flags += ["--quota-rule", quota.rule("tenant", tenant)]
            if tenant != DEFAULT_TENANT:
                flags += ["--token", tenant_token(tenant)]
        if self.app is not None:
            flags += ["--quota-rule", self.app.rule("app")]
        return flags + (["--throttle-scope"] if self.scope_header else [])

    def describe(self) -> str:
        """The quota shape in a table cell."""
        quotas = list(self.quotas.values())
        rates = [quota.per_s for quota in quotas]
        text = quotas[0].describe()
        if len(set(rates)) > 1:  # tenants of the same shape at different rates
            text = text.replace(f"{rates[0]:g}/s", f"{min(rates):g}..{max(rates):g}/s")
        if len(quotas) > 1:
            text += f" per tenant ({len(self.quotas)} tenants)"
        if self.app is not None:
            text += f", app {self.app.describe()}"
        text += f", Retry-After {self.retry_after}"
        return text + (", x-ms-throttle-scope on 429s" if self.scope_header else "")


def _one(quota: Quota, lines: int = 6000, **options: Any) -> dict[str, Any]:
    return {"lines": {DEFAULT_TENANT: lines}, "quotas": {DEFAULT_TENANT: quota}, **options}


_EIGHT = {f"t{n}": (50.0 * n, lines) for n, lines in enumerate([1000, 1000, 1200, 1600, 1500, 1800, 1400, 1600], 1)}
_FOUR = [f"a{n}" for n in range(1, 5)]

CELLS: tuple[Cell, ...] = (
    Cell("bucket-1", "token bucket of 1", **_one(Quota(burst=1)), plot=True),
    Cell(
        "bucket-10-fractional",
        "token bucket of 10, fractional Retry-After",
        **_one(Quota(burst=10), retry_after="fractional"),
    ),
    Cell("bucket-10-integer", "token bucket of 10, integer Retry-After", **_one(Quota(burst=10))),
    Cell("fixed-window", "fixed window, 200 per 1 s", **_one(Quota("fixed-window")), plot=True),
    Cell("sliding-window", "sliding window, 200 per 1 s", **_one(Quota("sliding-window"))),
    Cell("bucket-200", "token bucket of 200 (one second)", **_one(Quota())),
    # half the lines in quick mode: a quarter (1,500) would fit in the bucket
    Cell("bucket-10s", "token bucket of 2,000 (ten seconds)", **_one(Quota(window_s=10)), quick_scale=0.5),
    Cell(
        "seed",
        "the seed's quota: 5 per 10 s per tenant, fixed window",
        **_one(Quota("fixed-window", per_s=0.5, window_s=10), lines=60),
        max_429=0.05,
        plot=True,
    ),
    Cell(
        "tenants-8",
        "8 tenants, 50..400/s (bucket 10 each), different line counts",
        lines={tenant: lines for tenant, (_, lines) in _EIGHT.items()},
        quotas={tenant: Quota(per_s=rate, burst=10) for tenant, (rate, _) in _EIGHT.items()},
        plot=True,
        quick_scale=0.5,
    ),
    Cell(
        "app-4",
        "4 tenants at 200/s each, app-wide 400/s",
        lines=dict.fromkeys(_FOUR, 1500),
        quotas=dict.fromkeys(_FOUR, Quota()),
        app=Quota(per_s=400),
        quick_scale=0.5,
    ),
    # the same, where Graph says which limit refused (identity and access send x-ms-throttle-scope)
    Cell(
        "app-4-scope",
        "4 tenants at 200/s each, app-wide 400/s, 429s naming their limit",
        lines=dict.fromkeys(_FOUR, 1500),
        quotas=dict.fromkeys(_FOUR, Quota()),
        app=Quota(per_s=400),
        scope_header=True,
        quick_scale=0.5,
    ),
)


def interleave(lines: dict[str, int]) -> list[str]:
    """The tenant of each input line: every tenant's lines spread evenly through the file."""
    spots = [((index + 0.5) / count, tenant) for tenant, count in lines.items() for index in range(count)]
    return [tenant for _, tenant in sorted(spots)]
