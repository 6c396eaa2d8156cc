"""The throttling matrix's arithmetic (bench/cells.py): each cell's ideal time, the interleaved input,
and emulator flags the emulator itself accepts with the quota the ideal assumes."""

from __future__ import annotations

import argparse
from collections import Counter

import pytest

from bench.cells import CELLS, Cell, interleave
from worker.emulator import add_emulator_arguments, config_from_args

BY_NAME = {cell.name: cell for cell in CELLS}


@pytest.mark.parametrize(
    ("name", "ideal"),
    [
        ("bucket-1", 5999 / 200),
        ("bucket-10-integer", 5990 / 200),
        ("fixed-window", 5800 / 200),
        ("bucket-10s", 4000 / 200),
        ("seed", 110.0),
        ("tenants-8", 990 / 50),  # the slowest tenant: 1,000 lines at 50/s, bucket 10
        ("app-4", (6000 - 400) / 400),  # the app's limit, not each tenant's (1,300 / 200)
    ],
)
def test_ideal_is_the_slowest_of_tenants_and_app(name: str, ideal: float) -> None:
    cell = BY_NAME[name]

    assert cell.ideal_s(cell.sized(quick=False)) == pytest.approx(ideal)


def test_quick_mode_is_a_quarter_and_the_seed_cell_15_lines() -> None:
    assert sum(BY_NAME["bucket-1"].sized(quick=True).values()) == 1500
    assert BY_NAME["seed"].sized(quick=True) == {"default": 15}
    assert BY_NAME["seed"].ideal_s({"default": 15}) == pytest.approx(20.0)


@pytest.mark.parametrize("quick", [True, False])
def test_every_cell_needs_time_beyond_what_passes_at_once(quick: bool) -> None:
    assert all(cell.ideal_s(cell.sized(quick)) > 1.0 for cell in CELLS)


def test_interleave_spreads_each_tenant_through_the_file() -> None:
    tenants = interleave({"a": 6, "b": 2})

    assert Counter(tenants) == {"a": 6, "b": 2}
    assert tenants[:4].count("b") == 1


@pytest.mark.parametrize("cell", CELLS, ids=[cell.name for cell in CELLS])
def test_the_emulator_accepts_each_cells_flags_with_the_quota_the_ideal_assumes(cell: Cell) -> None:
    parser = argparse.ArgumentParser()
    add_emulator_arguments(parser)

    config = config_from_args(parser.parse_args(cell.emulator_flags()))

    for rule in config.rules:
        quota = cell.app if rule.per == "app" else cell.quotas[rule.tenant or ""]
        assert quota is not None
        assert (rule.rate, rule.capacity) == pytest.approx((quota.per_s, quota.at_once))
    assert len(config.rules) == len(cell.quotas) + (cell.app is not None)
