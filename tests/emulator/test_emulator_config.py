"""EmulatorConfig checks every knob, and the command-line flags build the same config."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from worker.emulator import EmulatorConfig, add_emulator_arguments, config_from_args
from worker.emulator.config import SettingError


def test_defaults_are_a_fault_free_unlimited_emulator() -> None:
    config = EmulatorConfig()

    assert config.to_dict() == {
        "latency_ms": 0.0,
        "quota_per_s": None,
        "quota_burst": None,
        "quota_model": "token-bucket",
        "quota_window_s": 1.0,
        "app_quota_per_s": None,
        "app_quota_burst": None,
        "app_quota_model": "token-bucket",
        "app_quota_window_s": 1.0,
        "quotas": [],
        "resource_unit_cost": 1,
        "throttle_header": True,
        "throttle_scope": False,
        "retry_after": "seconds",
        "error_rate": 0.0,
        "error_status": 503,
        "error_retry_after": None,
        "reset_rate": 0.0,
        "batch_error_rate": 0.0,
        "accepted_tokens": None,
        "token_lifetime_s": 3600.0,
        "clients": None,
        "client_certificates": None,
        "known_tenants": None,
        "record_limit": 200_000,
        "seed": None,
    }


@pytest.mark.parametrize(
    ("rate", "burst", "expected"), [(20.0, None, 20.0), (20.0, 5.0, 5.0), (0.5, None, 1.0), (None, None, 1.0)]
)
def test_burst_defaults_to_one_second_of_quota(rate: float | None, burst: float | None, expected: float) -> None:
    assert EmulatorConfig(quota_per_s=rate, quota_burst=burst).burst == expected


def test_tokens_are_kept_as_a_frozenset_and_listed_sorted() -> None:
    config = EmulatorConfig(accepted_tokens={"b", "a"})

    assert config.accepted_tokens == frozenset({"a", "b"})
    assert config.to_dict()["accepted_tokens"] == ["a", "b"]


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("latency_ms", -1),
        ("latency_ms", float("nan")),
        ("latency_ms", "5"),
        ("quota_per_s", 0),
        ("quota_burst", 0.5),
        ("retry_after", "later"),
        ("error_rate", 1.5),
        ("error_rate", True),
        ("error_status", 404),
        ("error_status", 503.0),
        ("error_retry_after", -0.1),
        ("reset_rate", -0.1),
        ("batch_error_rate", 1.01),
        ("batch_error_rate", "0.5"),
        ("accepted_tokens", "a-token"),
        ("accepted_tokens", [""]),
        ("record_limit", 0),
        ("seed", 1.5),
    ],
)
def test_bad_values_are_refused_naming_the_knob(knob: str, value: Any) -> None:
    with pytest.raises(SettingError, match=knob):
        EmulatorConfig(**{knob: value})


def test_update_is_all_or_nothing() -> None:
    config = EmulatorConfig()

    with pytest.raises(SettingError, match="latency_ms"):
        config.update({"error_rate": 0.5, "latency_ms": -5})
    with pytest.raises(SettingError, match="unknown emulator setting"):
        config.update({"error_rate": 0.5, "colour": "red"})

    assert config.error_rate == 0.0
    config.update({"error_rate": 0.5, "quota_per_s": 3})
    assert (config.error_rate, config.quota_per_s) == (0.5, 3.0)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_emulator_arguments(parser)
    return parser.parse_args(argv)


def test_flags_build_the_config() -> None:
    ns = _parse(
        *("--port", "0", "--latency-ms", "20", "--quota", "200", "--quota-burst", "50"),
        *("--error-rate", "0.1", "--error-status", "502", "--error-retry-after", "1.5"),
        *("--reset-rate", "0.05", "--retry-after", "fractional", "--token", "T", "--token", "U"),
        *("--batch-error-rate", "0.25"),
        *("--record-limit", "10", "--seed", "3"),
    )

    config = config_from_args(ns)

    assert (ns.host, ns.port) == ("127.0.0.1", 0)
    assert config == EmulatorConfig(
        latency_ms=20,
        quota_per_s=200,
        quota_burst=50,
        retry_after="fractional",
        error_rate=0.1,
        error_status=502,
        error_retry_after=1.5,
        reset_rate=0.05,
        batch_error_rate=0.25,
        accepted_tokens=frozenset({"T", "U"}),
        record_limit=10,
        seed=3,
    )


def test_no_flags_give_the_default_config() -> None:
    assert config_from_args(_parse()) == EmulatorConfig()


@pytest.mark.parametrize(
    "argv",
    [
        ["--latency-ms", "-1"],
        ["--quota", "0"],
        ["--quota", "fast"],
        ["--error-rate", "2"],
        ["--batch-error-rate", "-0.5"],
        ["--error-status", "404"],
        ["--retry-after", "later"],
        ["--record-limit", "0"],
    ],
)
def test_bad_flags_exit_with_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _parse(*argv)

    assert exited.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_help_explains_every_knob(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse("--help")

    text = capsys.readouterr().out
    for flag in [
        "--latency-ms",
        "--quota ",
        "--quota-burst",
        "--retry-after",
        "--error-rate",
        "--error-status",
    ]:
        assert flag in text
    for flag in [
        "--error-retry-after",
        "--reset-rate",
        "--batch-error-rate",
        "--token",
        "--record-limit",
        "--seed",
        "--port",
    ]:
        assert flag in text
    assert "emu.<tenant>" in text


def test_quota_flags_build_the_rules() -> None:
    ns = _parse(
        *("--quota", "0.5", "--quota-model", "fixed-window", "--quota-window-s", "10"),
        *("--app-quota", "600", "--app-quota-burst", "50", "--resource-unit-cost", "2", "--no-throttle-header"),
        *("--quota-rule", '{"model": "sliding-window", "limit": 9, "window_s": 3, "per": "app"}'),
        *("--retry-after", "combined", "--throttle-scope"),
    )

    config = config_from_args(ns)

    assert [(rule.model, rule.limit, rule.window_s, rule.burst, rule.per) for rule in config.rules] == [
        ("fixed-window", 5.0, 10.0, None, "tenant"),
        ("token-bucket", 600.0, 1.0, 50.0, "app"),
        ("sliding-window", 9.0, 3.0, None, "app"),
    ]
    assert (config.resource_unit_cost, config.throttle_header, config.retry_after) == (2, False, "combined")
    assert config.throttle_scope


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--quota-model", "leaky"], "--quota-model"),
        (["--app-quota-window-s", "0"], "--app-quota-window-s"),
        (["--resource-unit-cost", "0"], "--resource-unit-cost"),
        (["--quota-rule", "{"], "not JSON"),
        (["--quota-rule", '{"model": "fixed-window"}'], "needs at least model and limit"),
        (["--quota", "1", "--quota-model", "sliding-window", "--quota-burst", "5"], "quota_burst applies to"),
        (["--quota", "2", "--resource-unit-cost", "3"], "no request could ever pass"),
    ],
)
def test_bad_quota_flags_exit_with_a_one_line_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        config_from_args(_parse(*argv))

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_help_explains_the_quota_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse("--help")

    text = " ".join(capsys.readouterr().out.split())
    for flag in ["--quota-model", "--quota-window-s", "--app-quota ", "--app-quota-burst", "--app-quota-model"]:
        assert flag in text
    for flag in ["--app-quota-window-s", "--quota-rule", "--resource-unit-cost", "--no-throttle-header", "combined"]:
        assert flag in text
    assert "longest of their waits" in text
