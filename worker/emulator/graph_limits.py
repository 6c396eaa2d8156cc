"""Graph's documented throttling limits for the emulator's two scopes, as quota rules, scalable for tests.

From Microsoft Graph's service-specific throttling limits (identity and access):

- directory (PATCH on users, groups, devices, applications, servicePrincipals): a resource-unit token bucket
  of 3,500 / 5,000 / 8,000 units per 10 s per app and tenant (tenant under 50 users / up to 500 / more),
  a PATCH costing 1 unit (`x-ms-resource-unit`); and writes: 3,000 per 150 s per app and tenant, 35,000
  per 5 min per app across tenants, 18,000 per 5 min per tenant across apps (the emulator serves one app,
  so that one is a per-tenant rule).
- reports (identity-and-access reports, the provisioning resource): 5 requests per 10 s per app and tenant,
  122 per 10 s per app across tenants.

Graph does not say whether a write window is fixed or sliding: it is a sliding window here (at most N in
any span of W seconds: the stricter reading). `time_scale` divides every window (limits stay), so the
shapes hold at a multiple of the rates; `count_scale` multiplies every limit (at least 1 unit), so fewer
requests fill a window (each scope may have its own). Tests run scaled-down, faster variants;
`--graph-limits` serves them full size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from worker.emulator.resources import DIRECTORY, REPORTS
from worker.emulator.rules import Per, QuotaModel, QuotaRule

TenantSize = Literal["small", "medium", "large"]

#: Resource units per 10 s per app and tenant, by tenant size (under 50 users, 50 to 500, more)
RESOURCE_UNITS = {"small": 3500.0, "medium": 5000.0, "large": 8000.0}

_SHAPES: tuple[tuple[str, QuotaModel, float, float, Per], ...] = (
    # scope, model, limit, window_s, per
    (DIRECTORY, "sliding-window", 3000.0, 150.0, "tenant"),
    (DIRECTORY, "sliding-window", 35000.0, 300.0, "app"),
    (DIRECTORY, "sliding-window", 18000.0, 300.0, "tenant"),
    (REPORTS, "fixed-window", 5.0, 10.0, "tenant"),
    (REPORTS, "fixed-window", 122.0, 10.0, "app"),
)


Scale = tuple[float, float]  # (time_scale, count_scale)


def graph_rules(
    *,
    tenant_size: TenantSize = "large",
    time_scale: float = 1.0,
    count_scale: float = 1.0,
    scales: Mapping[str, Scale] | None = None,
) -> tuple[QuotaRule, ...]:
    """Every documented rule of both scopes, windows divided by `time_scale`, limits times `count_scale`
    (`scales`: a (time_scale, count_scale) of its own for a scope)."""
    own = scales or {}

    def rule(scope: str, model: QuotaModel, count: float, window_s: float, per: Per) -> QuotaRule:
        times, counts = own.get(scope, (time_scale, count_scale))
        if times <= 0 or counts <= 0:
            raise ValueError("time and count scales must be > 0")
        return QuotaRule(model, max(1.0, round(count * counts)), window_s / times, per=per, scope=scope)

    bucket = rule(DIRECTORY, "token-bucket", RESOURCE_UNITS[tenant_size], 10.0, "tenant")
    return (bucket, *(rule(*shape) for shape in _SHAPES))
