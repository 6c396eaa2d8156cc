"""Quota models on an injected clock: exact admit/refuse sequences for every shape, app and tenant rules
together, resource-unit cost, usage; and the config checks that keep a rule satisfiable."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fake_clock import FakeClock
from worker.emulator import EmulatorConfig
from worker.emulator.config import SettingError
from worker.emulator.quota import Quotas
from worker.emulator.rules import QuotaRule, RuleError, rule_from_json


def _quotas(**knobs: Any) -> tuple[Quotas, FakeClock]:
    clock = FakeClock()
    return Quotas(EmulatorConfig(**knobs), clock), clock


def test_token_bucket_of_one_admits_one_request_per_refill() -> None:
    quotas, clock = _quotas(quota_per_s=200, quota_burst=1)

    assert quotas.try_acquire("t") is None
    assert quotas.try_acquire("t") == pytest.approx(0.005)
    clock.now += 0.005
    assert quotas.try_acquire("t") is None
    assert quotas.try_acquire("t") == pytest.approx(0.005)


def test_token_bucket_window_holds_that_many_seconds_of_quota() -> None:
    quotas, _clock = _quotas(quota_per_s=200, quota_window_s=10)

    assert sum(quotas.try_acquire("t") is None for _ in range(2000)) == 2000
    assert quotas.try_acquire("t") == pytest.approx(0.005)


def test_fixed_window_admits_n_per_window_and_waits_for_its_end() -> None:
    # the seed's quota: 5 requests per 10 seconds; windows start when the counters do (t = 1000)
    quotas, clock = _quotas(quota_per_s=0.5, quota_window_s=10, quota_model="fixed-window")
    clock.now += 1.0

    assert [quotas.try_acquire("t") for _ in range(5)] == [None] * 5
    assert quotas.try_acquire("t") == pytest.approx(9.0)
    clock.now += 8.5
    assert quotas.try_acquire("t") == pytest.approx(0.5)
    clock.now += 0.5  # exactly the advertised wait: the next window
    assert [quotas.try_acquire("t") for _ in range(5)] == [None] * 5
    assert quotas.try_acquire("t") == pytest.approx(10.0)


def test_fixed_window_skips_idle_windows_and_realigns_after_clear() -> None:
    quotas, clock = _quotas(quota_per_s=2, quota_model="fixed-window")
    clock.now += 5.25

    assert [quotas.try_acquire("t") for _ in range(2)] == [None, None]
    assert quotas.try_acquire("t") == pytest.approx(0.75)

    quotas.clear()  # windows now start at 1005.25
    clock.now += 0.5
    assert [quotas.try_acquire("t") for _ in range(2)] == [None, None]
    assert quotas.try_acquire("t") == pytest.approx(0.5)


def test_sliding_window_waits_until_the_oldest_request_leaves_the_span() -> None:
    quotas, clock = _quotas(quota_per_s=3, quota_model="sliding-window")
    admitted_at = [0.0, 0.2, 0.5]
    for offset in admitted_at:
        clock.now = 1000 + offset
        assert quotas.try_acquire("t") is None

    clock.now = 1000.6
    assert quotas.try_acquire("t") == pytest.approx(0.4)
    clock.now = 1001.0  # the first left
    assert quotas.try_acquire("t") is None
    clock.now = 1001.1
    assert quotas.try_acquire("t") == pytest.approx(0.1)
    clock.now = 1001.2
    assert quotas.try_acquire("t") is None


def test_sliding_window_counts_units_and_waits_for_enough_of_them_to_leave() -> None:
    quotas, clock = _quotas(quota_per_s=5, quota_model="sliding-window", resource_unit_cost=2)
    assert quotas.try_acquire("t") is None
    clock.now += 0.3
    assert quotas.try_acquire("t") is None

    # 4 units in the span, 2 more would make 6 > 5: one request must leave first (at +1.0)
    clock.now += 0.1
    assert quotas.try_acquire("t") == pytest.approx(0.6)


def test_tenant_rule_and_app_rule_together() -> None:
    quotas, _clock = _quotas(quota_per_s=1, app_quota_per_s=10, app_quota_burst=3)

    assert quotas.try_acquire("a") is None
    # refused by its tenant's rule: nothing taken from the app's
    assert all(quotas.try_acquire("a") is not None for _ in range(5))
    assert quotas.try_acquire("b") is None
    assert quotas.try_acquire("c") is None
    # the app's bucket (3) is now empty, though tenant d's is full
    assert quotas.try_acquire("d") == pytest.approx(0.1)


def test_refused_wait_is_the_longest_among_the_refusing_rules() -> None:
    quotas, _clock = _quotas(quota_per_s=1, quota_burst=1, app_quota_per_s=0.25, app_quota_burst=2)
    assert quotas.try_acquire("a") is None
    assert quotas.try_acquire("b") is None

    # tenant a's bucket refills in 1 s, the app's in 4 s
    assert quotas.try_acquire("a") == pytest.approx(4.0)


def test_generic_rules_add_to_the_knobs() -> None:
    rules = [{"model": "fixed-window", "limit": 2, "window_s": 10, "per": "app"}]
    quotas, clock = _quotas(quota_per_s=100, quotas=rules)

    assert [quotas.try_acquire(tenant) for tenant in "ab"] == [None, None]
    assert quotas.try_acquire("c") == pytest.approx(10.0)
    clock.now += 10
    assert quotas.try_acquire("c") is None


def test_a_rule_for_one_tenant_gives_it_its_own_quota() -> None:
    rules = [{"model": "token-bucket", "limit": 1, "tenant": "slow"}, {"model": "token-bucket", "limit": 2}]
    quotas, _clock = _quotas(quotas=rules)

    assert [quotas.try_acquire("slow") is None for _ in range(2)] == [True, False]
    assert [quotas.try_acquire("fast") is None for _ in range(3)] == [True, True, False]


def test_cost_takes_that_many_units() -> None:
    quotas, _clock = _quotas(quota_per_s=10, quota_burst=5, resource_unit_cost=2)

    assert [quotas.try_acquire("t") for _ in range(2)] == [None, None]
    # one unit left, two needed: 0.1 s at 10 units/s
    assert quotas.try_acquire("t") == pytest.approx(0.1)


def test_usage_is_that_of_the_most_used_rule() -> None:
    quotas, clock = _quotas(
        quota_per_s=0.1, quota_burst=10, app_quota_per_s=1, app_quota_window_s=8, app_quota_model="fixed-window"
    )
    for _ in range(7):
        quotas.try_acquire("t")

    assert quotas.usage("t") == pytest.approx(7 / 8)  # the app's window, not the tenant's bucket (0.7)
    assert quotas.usage("other") == pytest.approx(7 / 8)
    clock.now += 8  # a new window: the bucket (refilled by 0.8) is now the most used
    assert quotas.usage("t") == pytest.approx(0.62)


def test_sliding_window_usage_forgets_what_left_the_span() -> None:
    quotas, clock = _quotas(quota_per_s=4, quota_model="sliding-window")
    for _ in range(3):
        quotas.try_acquire("t")

    assert quotas.usage("t") == pytest.approx(0.75)
    clock.now += 1
    assert quotas.usage("t") == 0.0


def test_no_rule_no_limit() -> None:
    quotas, _clock = _quotas(resource_unit_cost=7)

    assert all(quotas.try_acquire("t") is None for _ in range(1000))
    assert quotas.usage("t") == 0.0


def test_the_knobs_make_rules() -> None:
    config = EmulatorConfig(
        quota_per_s=0.5,
        quota_window_s=10,
        quota_model="fixed-window",
        app_quota_per_s=600,
        quotas=(rule_from_json({"model": "sliding-window", "limit": 9, "per": "app"}),),
    )

    assert config.rules == (
        QuotaRule("fixed-window", 5.0, 10.0, None, "tenant"),
        QuotaRule("token-bucket", 600.0, 1.0, None, "app"),
        QuotaRule("sliding-window", 9.0, 1.0, None, "app"),
    )
    assert config.to_dict()["quotas"] == [
        {
            "model": "sliding-window",
            "limit": 9.0,
            "window_s": 1.0,
            "burst": None,
            "per": "app",
            "tenant": None,
            "scope": None,
        }
    ]


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"quota_per_s": 1, "quota_model": "fixed-window", "quota_burst": 3}, "quota_burst applies to"),
        ({"app_quota_per_s": 1, "app_quota_model": "sliding-window", "app_quota_burst": 3}, "app_quota_burst"),
        ({"quota_per_s": 0.5, "quota_model": "fixed-window"}, "no request could ever pass"),
        ({"quota_per_s": 2, "quota_burst": 2, "resource_unit_cost": 3}, "resource_unit_cost 3"),
        ({"resource_unit_cost": 0}, "resource_unit_cost must be >= 1"),
        ({"resource_unit_cost": 1.5}, "resource_unit_cost must be an integer"),
        ({"throttle_header": 1}, "throttle_header must be true or false"),
        ({"quota_model": "leaky"}, "quota_model must be one of"),
        ({"quota_window_s": 0}, "quota_window_s must be > 0"),
        ({"quotas": {"model": "fixed-window"}}, "quotas must be a list"),
        ({"quotas": [{"model": "fixed-window"}]}, "needs at least model and limit"),
        ({"quotas": [{"model": "fixed-window", "limit": 1, "scop": "x"}]}, "unknown quota rule field(s): scop"),
        ({"quotas": [{"model": "fixed-window", "limit": 1, "per": "user"}]}, "per must be one of tenant, app"),
        ({"quotas": [{"model": "token-bucket", "limit": 1, "burst": 0.5}]}, "burst must be >= 1"),
        ({"quotas": [{"model": "token-bucket", "limit": 1, "per": "app", "tenant": "a"}]}, "on a per-tenant rule"),
        ({"quotas": [{"model": "token-bucket", "limit": 1, "tenant": ""}]}, "tenant must be a non-empty string"),
        ({"quotas": [{"model": "token-bucket", "limit": "1"}]}, "limit must be a finite number > 0"),
    ],
)
def test_bad_quota_settings_are_refused(knobs: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)")):
        EmulatorConfig(**knobs)


def test_update_checks_the_knobs_together_and_changes_nothing_when_refused() -> None:
    config = EmulatorConfig(quota_per_s=2, quota_burst=2)

    with pytest.raises(SettingError, match="no request could ever pass"):
        config.update({"resource_unit_cost": 3, "latency_ms": 5})

    assert (config.resource_unit_cost, config.latency_ms) == (1, 0.0)
    config.update({"resource_unit_cost": 3, "quota_burst": 3})
    assert (config.resource_unit_cost, config.burst) == (3, 3.0)


def test_a_rule_is_a_frozen_value() -> None:
    rule = rule_from_json({"model": "token-bucket", "limit": 10, "burst": 1})

    assert rule == QuotaRule("token-bucket", 10.0, 1.0, 1.0, "tenant")
    assert rule.capacity == 1.0
    assert rule.rate == 10.0
    with pytest.raises(RuleError, match="burst applies to the token-bucket model only"):
        QuotaRule("fixed-window", 10.0, burst=2.0)


def test_a_direct_config_update_takes_effect_on_the_next_request() -> None:
    config = EmulatorConfig(quota_per_s=1)
    quotas = Quotas(config, FakeClock())
    assert [quotas.try_acquire("t") is None for _ in range(2)] == [True, False]

    config.update({"app_quota_per_s": 1, "quota_per_s": 100})

    assert quotas.try_acquire("u") is None
    assert quotas.try_acquire("v") is not None  # the new app rule is in force
