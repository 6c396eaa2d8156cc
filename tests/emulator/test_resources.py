"""The emulator's own body rules and the worker's validator agree on every generated variant of the seed.

They share no code (an import-linter contract forbids it), so a disagreement is a bug in one of them:
the emulator would then accept what Graph refuses, or the worker would refuse what Graph accepts.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.models.test_checker import seed_variants
from worker.emulator.resources import body_errors, find_resource
from worker.models.registry import match_route
from worker.validate.model_check import validate_body

PATH = "/auditLogs/provisioning"


def _worker_refuses(body: Any) -> list[str]:
    route = match_route(PATH)
    assert route is not None
    return sorted(error.loc for error in validate_body(route, body))


def _emulator_refuses(body: Any) -> list[str]:
    resource = find_resource(PATH)
    assert resource is not None
    return sorted(error.loc for error in body_errors(resource, body))


def test_both_refuse_the_same_properties_of_every_variant() -> None:
    variants = list(seed_variants())
    assert len(variants) > 700
    differing = [(body, _worker_refuses(body), _emulator_refuses(body)) for body in variants]
    differing = [case for case in differing if case[1] != case[2]]
    assert differing == []
    assert sum(1 for body in variants if _emulator_refuses(body)) > len(variants) // 2  # errors are exercised


@pytest.mark.parametrize(
    "body",
    [[], "text", None, 1, {}, {"@odata.type": None}, {"details": {"x": 1}}, {"sourceSystem": {"details": []}}],
    ids=repr,
)
def test_both_agree_on_bodies_outside_the_seed(body: object) -> None:
    assert _worker_refuses(body) == _emulator_refuses(body)


@pytest.mark.parametrize(
    "path",
    ["/auditLogs/provisioning", "/auditLogs/provisioning/abc-1", "/auditLogs/provisioning/..", "/auditLogs/x", "/"],
)
def test_both_know_the_same_paths(path: str) -> None:
    assert (match_route(path) is None) == (find_resource(path) is None)
