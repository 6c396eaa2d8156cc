"""Directory extension properties: `extension_{appId}_{name}` on users, groups, devices, applications and SPs.

Graph's directory objects are open types: an app registers an extension property (`extensionProperty`) and it
is then set like any other, under the name `extension_` + the app's id without dashes + `_` + its name. Their
names are per tenant, so no model can list them: a body's keys that have that exact shape are taken out before
the model checks the rest, and their values are checked against what an extension can hold (String, Binary,
DateTime as strings; Boolean; Integer and LargeInteger; collections of strings or integers; null clears it).
"""

from __future__ import annotations

import re
from typing import Any

EXTENSION_NAME = re.compile(r"extension_[0-9A-Fa-f]{32}_[A-Za-z0-9_]{1,120}", re.ASCII)
"""extension_{appId without dashes}_{name}: Graph's extensionProperty names (name: up to 120 characters)."""

PREFIX = "extension_"
_VALUE_HINT = "an extension property holds a string, an integer, a boolean, or an array of strings or integers"


def split_extensions(body: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The body without its extension properties, and (name, message) for each whose value cannot be one."""
    if not any(key.startswith(PREFIX) for key in body):  # the common case: one scan of the keys, no copy
        return body, []
    rest: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, value in body.items():
        if not EXTENSION_NAME.fullmatch(key):
            rest[key] = value  # an ill-formed one stays, and the model calls it unknown
        elif not _extension_value(value):
            problems.append((key, f"Input should be valid: {_VALUE_HINT}"))
    return rest, problems


def _extension_value(value: Any) -> bool:
    """True for null, a string, an integer (not a float), a boolean, or a list of strings or of integers."""
    if value is None or isinstance(value, str | int):  # a JSON boolean is a Python int too
        return True
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value) or all(
            isinstance(item, int) and not isinstance(item, bool) for item in value
        )
    return False
