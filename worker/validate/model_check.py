"""A body against its route's model, with the last valid body per model remembered (bulk updates repeat one)."""

from __future__ import annotations

from pydantic import ValidationError

from worker.jobs import FieldError
from worker.models.base import GraphModel
from worker.models.checker import body_validator
from worker.models.extensions import split_extensions
from worker.models.registry import Route
from worker.validate.pydantic_errors import field_error


def validate_body(route: Route, body: object) -> list[FieldError]:
    """Every validation error of a body for a route, located relative to the body (empty when valid)."""
    errors: list[FieldError] = []
    if route.model.directory_extensions and isinstance(body, dict):
        body, problems = split_extensions(body)
        errors = [FieldError(loc=name, message=message, type="extension_type") for name, message in problems]
    try:
        body_validator(route.model).validate_python(body)
    except ValidationError as exc:
        model = route.model
        errors.extend(field_error(model, err["loc"], err["type"], err["msg"]) for err in exc.errors())
    return errors


# Per model, the bytes of the last body found valid. Bulk updates often send one body to many objects (the
# same change to each): a body equal to the last valid one is valid again, and is not validated again.
_last_valid: dict[type[GraphModel], bytes] = {}


def is_last_valid(route: Route, raw: bytes) -> bool:
    """True when `raw` is the last body found valid for the route's model."""
    return _last_valid.get(route.model) == raw


def validated(route: Route, body: object, raw: bytes | None) -> list[FieldError]:
    """validate_body, skipped when `raw` (the body's bytes) is the last body found valid for the same model."""
    if raw is not None and is_last_valid(route, raw):
        return []
    errors = validate_body(route, body)
    if not errors and raw is not None:
        _last_valid[route.model] = raw
    return errors
