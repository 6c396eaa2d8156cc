"""An envelope's own fields: jobId, tenant and path (a path must not lead the bearer token elsewhere).

Each check appends its errors (located from the top of the line) and returns the value when it is valid.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from worker.jobs import FieldError
from worker.models.registry import DEFAULT_PATH, GraphVersion, Route, match_route, routes, template

ENVELOPE_KEYS = frozenset({"jobId", "path", "tenant", "body"})
JOB_ID_MAX = 200
TENANT_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")


@functools.cache
def default_route() -> Route:
    """The route of DEFAULT_PATH (where bare bodies go)."""
    route = match_route(DEFAULT_PATH)
    if route is None:
        raise LookupError(f"DEFAULT_PATH {DEFAULT_PATH} is not a registered route")
    return route


def check_job_id(value: object, errors: list[FieldError]) -> str | None:
    """The envelope's jobId if valid (absent or null means: use the line number)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(loc="jobId", message="jobId should be a string", type="string_type"))
    elif not value:
        errors.append(FieldError(loc="jobId", message="jobId should not be empty", type="string_too_short"))
    elif len(value) > JOB_ID_MAX:
        message = f"jobId should have at most {JOB_ID_MAX} characters"
        errors.append(FieldError(loc="jobId", message=message, type="string_too_long"))
    else:
        return value
    return None


def check_tenant(value: object, errors: list[FieldError]) -> str | None:
    """The envelope's tenant if valid (absent or null means: the default tenant)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(loc="tenant", message="tenant should be a string", type="string_type"))
    elif not TENANT_RE.fullmatch(value):
        message = "tenant should be 1 to 100 characters of A-Z a-z 0-9 . _ -"
        errors.append(FieldError(loc="tenant", message=message, type="string_pattern_mismatch"))
    else:
        return value
    return None


def check_path(value: object, errors: list[FieldError], version: GraphVersion) -> tuple[str, Route | None]:
    """The envelope's path and its route; an unsafe or unknown path is an error (and no route)."""
    if value is None:
        return DEFAULT_PATH, default_route()
    if not isinstance(value, str):
        errors.append(FieldError(loc="path", message="path should be a string", type="string_type"))
        return DEFAULT_PATH, None
    problem = _path_problem(value)
    route = None if problem else match_route(value, version)
    if route is None:
        message = problem or f"path matches no known resource route (known: {_known_routes(version)})"
        errors.append(FieldError(loc="path", message=message, type="path_invalid"))
    return value, route


def _path_problem(path: str) -> str | None:
    """Why a path could send the request (and the bearer token) somewhere unintended, or None."""
    if not path.startswith("/"):
        return "path should be relative to the base URL and start with '/' (no scheme or host)"
    if "//" in path or "\\" in path:
        return "path should not contain '//' or '\\' (no scheme or host)"
    if "?" in path or "#" in path:
        return "path should not contain a query or fragment ('?' or '#')"
    if "%" in path:
        return "path should not contain percent-encoding ('%')"
    # a '.' or '..' segment follows a '/' (a path starts with one): most paths have no "/." to split for
    if "/." in path and any(segment in {".", ".."} for segment in path.split("/")):
        return "path should not contain '.' or '..' segments"
    return None


@functools.cache
def _known_routes(version: GraphVersion) -> str:
    """The registered route templates, for error messages."""
    return ", ".join(template(route) for route in routes(version))


def _unknown_envelope_key(key: str) -> str:
    """The message for a key an envelope does not have."""
    return f"unknown envelope key '{key}' (an envelope has only jobId, path, tenant and body)"


def prefixed(prefix: str, errors: list[FieldError]) -> list[FieldError]:
    """Errors located relative to `prefix` (the body's key in an envelope)."""
    return [FieldError(loc=f"{prefix}.{e.loc}" if e.loc else prefix, message=e.message, type=e.type) for e in errors]


def unknown_keys(data: dict[str, Any], errors: list[FieldError]) -> None:
    """An error for each key an envelope does not have."""
    if not ENVELOPE_KEYS.issuperset(data):
        errors.extend(
            FieldError(loc=key, message=_unknown_envelope_key(key), type="extra_forbidden")
            for key in data
            if key not in ENVELOPE_KEYS
        )
