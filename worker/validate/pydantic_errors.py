"""Pydantic's errors as FieldErrors, in Graph's words: read-only, navigation, unknown property, model type."""

from __future__ import annotations

import functools
import types
from typing import Union, get_args, get_origin

from worker.jobs import FieldError
from worker.models.base import GraphModel

#: Where an error is, as pydantic reports it: keys and list indices from the top.
Loc = tuple[str | int, ...]


def field_error(model: type[GraphModel], loc: Loc, error_type: str, msg: str) -> FieldError:
    """One pydantic error as a FieldError, with Graph's type names in the messages where it helps."""
    if error_type == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        if owner is not None:
            error_type, msg = _not_settable(owner, str(loc[-1]))
    elif error_type in {"model_type", "dict_type"}:  # dict_type: the checker validates objects as dicts
        expected = _model_at(model, loc)
        if expected is not None:
            error_type, msg = "model_type", f"Input should be a JSON object ({expected.odata_type_name})"
    return FieldError(loc=".".join(str(part) for part in loc), message=msg, type=error_type)


def _not_settable(owner: type[GraphModel], name: str) -> tuple[str, str]:
    """The error type and message for a property a body may not carry: read-only, navigation or unknown."""
    if name in owner.read_only:
        return "read_only", f"property '{name}' of {owner.odata_type_name} is read-only"
    if name in owner.navigation:
        return "navigation_property", (
            f"'{name}' is a navigation property of {owner.odata_type_name}: set it through its own endpoint"
        )
    return "extra_forbidden", f"unknown property '{name}' for {owner.odata_type_name}"


def _model_at(model: type[GraphModel], loc: Loc) -> type[GraphModel] | None:
    """The model expected at `loc` inside `model` (list indices are skipped), or None if not a model."""
    current: type[GraphModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, str):
            current = _nested_models(current).get(part)
    return current


@functools.cache
def _nested_models(model: type[GraphModel]) -> dict[str, type[GraphModel]]:
    """JSON property name -> model of that property (alone, optional or in a collection)."""
    nested: dict[str, type[GraphModel]] = {}
    for name, info in model.model_fields.items():
        found = _model_in(info.annotation)
        if found is not None:
            nested[info.alias or name] = found
    return nested


def _model_in(annotation: object) -> type[GraphModel] | None:
    """The GraphModel inside an annotation such as `X | None` or `list[X] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, GraphModel):
        return annotation
    if get_origin(annotation) in {list, Union, types.UnionType}:
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
