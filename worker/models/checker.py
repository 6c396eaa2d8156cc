"""Check a body against a model without building the model: the model's own checks, as typed dicts.

The worker sends the JSON a line gave and never uses model instances, yet `model_validate` builds one
per object of the body (about 40 % of its time for the seed's body). `body_validator(model)` takes the
model's compiled core schema and replaces every model node by a typed-dict node over the very same
field schemas: aliases, strictness, `extra` behaviour, constraints and custom validators are pydantic's
own, only the output is a dict. Absent properties stay absent (their `None` default is dropped), so a
body is checked, not filled in. tests/models/test_checker.py holds both to the same errors.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from pydantic_core import CoreSchema, SchemaValidator, core_schema

from worker.models.base import GraphModel


@functools.cache
def body_validator(model: type[GraphModel]) -> SchemaValidator:
    """A validator with `model`'s checks and errors (same locations and types) that returns plain dicts."""
    return SchemaValidator(cast(CoreSchema, _as_typed_dicts(model.__pydantic_core_schema__)))


def _as_typed_dicts(node: Any) -> Any:
    """A copy of a core schema (tree) with every "model" node replaced by an equivalent typed dict."""
    if isinstance(node, list):
        return [_as_typed_dicts(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "model":
        return _typed_dict(node)
    return {key: _as_typed_dicts(value) for key, value in node.items()}


def _typed_dict(model: dict[str, Any]) -> core_schema.TypedDictSchema:
    fields_schema = model["schema"]
    if fields_schema.get("type") != "model-fields":
        raise TypeError(f"unexpected core schema for {model.get('cls')}: {fields_schema.get('type')}")
    config = model.get("config", {})
    fields = {
        name: core_schema.typed_dict_field(
            _as_typed_dicts(_without_default(field["schema"])),
            required=False,
            validation_alias=field.get("validation_alias"),
        )
        for name, field in fields_schema["fields"].items()
    }
    return core_schema.typed_dict_schema(
        fields,
        extra_behavior=fields_schema.get("extra_behavior") or config.get("extra_fields_behavior"),
        extras_schema=_as_typed_dicts(fields_schema.get("extras_schema")),
        ref=model.get("ref"),
        config=config,
    )


def _without_default(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema inside a with-default wrapper: an absent property is left out, not set to None."""
    inner: dict[str, Any] = schema["schema"] if schema.get("type") == "default" else schema
    return inner
