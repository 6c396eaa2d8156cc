"""body_validator (the checker the worker uses) finds exactly the errors the models' own model_validate finds."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from tests.models.test_provisioning import ALL_MODELS, SEED_REQUEST
from worker.models import GraphModel
from worker.models.checker import body_validator
from worker.models.provisioning import ProvisioningObjectSummary

Errors = list[tuple[tuple[str | int, ...], str, str]]

# Values put in place of each property of the seed body, one at a time.
REPLACEMENTS: list[object] = [
    None,
    1,
    -1,
    2**31,
    1.5,
    True,
    "x",
    "",
    [],
    [None],
    [{}],
    [1],
    {},
    {"zzz": 1},
    {"@odata.type": "wrong"},
    "2017-01-01T00:03:07Z",
    "2017-13-01T00:03:07Z",
    "2017-01-01T00:03:07",
]


def _errors(validate: Any, body: object) -> Errors:
    """(loc, type, message) of every error; a nested object given as a non-object counts as model_type."""
    try:
        validate(body)
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            kind, message = error["type"], error["msg"]
            if kind in {"dict_type", "model_type"}:  # the same mistake; only the wording differs
                kind, message = "model_type", "not an object"
            found.append((tuple(error["loc"]), kind, message))
        return sorted(found, key=repr)
    return []


def _paths(value: object, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key and list index inside a JSON value, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*loc, key)
            yield from _paths(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*loc, index)
            yield from _paths(item, (*loc, index))


def _replaced(body: dict[str, Any], loc: tuple[str | int, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    parent: Any = changed
    for part in loc[:-1]:
        parent = parent[part]
    parent[loc[-1]] = value
    return changed


def seed_variants() -> Iterator[dict[str, Any]]:
    """The seed body with each property replaced by each value, removed, or joined by an unknown one."""
    yield SEED_REQUEST
    for loc in _paths(SEED_REQUEST):
        for value in REPLACEMENTS:
            yield _replaced(SEED_REQUEST, loc, value)
        if isinstance(loc[-1], str):
            removed = copy.deepcopy(SEED_REQUEST)
            parent: Any = removed
            for part in loc[:-1]:
                parent = parent[part]
            del parent[loc[-1]]
            yield removed
            yield _replaced(SEED_REQUEST, (*loc[:-1], "display_name"), "snake_case")


def test_same_errors_as_model_validate_for_every_variant_of_the_seed() -> None:
    checker = body_validator(ProvisioningObjectSummary)
    variants = list(seed_variants())
    assert len(variants) > 700
    differing = [
        body
        for body in variants
        if _errors(ProvisioningObjectSummary.model_validate, body) != _errors(checker.validate_python, body)
    ]
    assert differing == []
    invalid = [body for body in variants if _errors(checker.validate_python, body)]
    assert len(invalid) > len(variants) // 2  # the corpus exercises errors, not only valid bodies


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "body",
    [{}, {"@odata.type": None}, {"unknown": 1}, {"details": {"x": 1}}, {"status": 1}, [], "text"],
    ids=repr,
)
def test_same_errors_for_every_model(model: type[GraphModel], body: object) -> None:
    assert _errors(model.model_validate, body) == _errors(body_validator(model).validate_python, body)


def test_checks_without_filling_in_defaults() -> None:
    checked = body_validator(ProvisioningObjectSummary).validate_python({"servicePrincipal": {"id": "a"}})
    assert checked == {"service_principal": {"id": "a"}}  # the output is never sent: the line's JSON is


def test_open_type_keeps_its_dynamic_properties_and_checks_odata_type() -> None:
    checker = body_validator(ProvisioningObjectSummary)
    details = {"@odata.type": "#microsoft.graph.detailsInfo", "anything": [1, {"x": None}]}
    assert checker.validate_python({"sourceSystem": {"details": details}}) == {
        "source_system": {"details": {"odata_type": "#microsoft.graph.detailsInfo", "anything": [1, {"x": None}]}}
    }
    with pytest.raises(ValidationError):
        checker.validate_python({"sourceSystem": {"details": {"@odata.type": "microsoft.graph.initiator"}}})
