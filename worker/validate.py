"""The boundary where raw input lines become Jobs or Rejected lines: parse, check envelope and path, validate.

A line is a bare body (a resource object, sent to `DEFAULT_PATH`) or an envelope
`{"jobId", "path", "tenant", "body"}` (an object with a "body" key). Nothing a line contains can make
`parse_line` raise: every problem becomes a `Rejected` with all the errors found, each located by a dotted
path from the top of the line. Messages never quote input values (a line may carry secrets).
"""

from __future__ import annotations

import functools
import json
import re
import types
from typing import Any, Union, get_args, get_origin

import orjson
from pydantic import ValidationError

from worker.jobs import FieldError, Job, Rejected, new_request_id
from worker.models.base import GraphModel
from worker.models.checker import body_validator
from worker.models.extensions import split_extensions
from worker.models.registry import (
    DEFAULT_PATH,
    DEFAULT_VERSION,
    GraphVersion,
    Route,
    match_route,
    routes,
    template,
)

ENVELOPE_KEYS = frozenset({"jobId", "path", "tenant", "body"})
JOB_ID_MAX = 200
TENANT_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
MAX_ERRORS_IN_MESSAGE = 10

Loc = tuple[str | int, ...]


def parse_line(
    raw: bytes, line_no: int, *, default_tenant: str, version: GraphVersion = DEFAULT_VERSION
) -> Job | Rejected | None:
    """Turn one input line into a Job, a Rejected line, or None for a blank line (`version`: whose models)."""
    text = raw.strip()
    if not text:
        return None
    try:
        data = orjson.loads(text)
    except (orjson.JSONDecodeError, RecursionError, ValueError) as exc:
        encoding = _utf8_problem(text)
        if encoding is not None:
            error = FieldError(loc="", message=encoding, type="utf8_invalid")
            return _rejected(str(line_no), line_no, "invalid_utf8", encoding, [error])
        reason = str(exc) or type(exc).__name__
        error = FieldError(loc="", message=reason, type="json_invalid")
        return _rejected(str(line_no), line_no, "invalid_json", f"not valid JSON: {reason}", [error])
    if not isinstance(data, dict):
        message = f"a line must be a JSON object, not {_json_type(data)}"
        error = FieldError(loc="", message=message, type="object_type")
        return _rejected(str(line_no), line_no, "invalid_line", message, [error])
    if "body" in data:
        body_json = _dumped(data["body"])  # the bytes to send: dumped once, also for the duplicate-key check
        errors = _duplicate_keys(text, data, body_json)
        return _from_envelope(data, line_no, default_tenant, errors, body_json, version=version)
    return _from_bare(data, text, line_no, default_tenant, _duplicate_keys(text, data))


def _dumped(body: object) -> bytes | None:
    """An envelope's body as compact JSON; None when it is no object or nests too deeply to be dumped."""
    if not isinstance(body, dict):
        return None
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return None


def _utf8_problem(text: bytes) -> str | None:
    """Where a line that JSON refused stops being UTF-8, or None when it is UTF-8 (JSON's own error applies).

    orjson reports bad UTF-8 as "str is not valid UTF-8: surrogates not allowed" whatever the byte was:
    decoding once more, on the failure path only, finds the byte and where it is.
    """
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"not valid UTF-8: byte 0x{text[exc.start]:02x} at column {exc.start + 1} "
            "(lines must be UTF-8; convert the file, e.g. iconv -f LATIN1 -t UTF-8)"
        )
    return None


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
        errors.extend(_field_error(model, err["loc"], err["type"], err["msg"]) for err in exc.errors())
    return errors


# Per model, the bytes of the last body found valid. Bulk updates often send one body to many objects (the
# same change to each): a body equal to the last valid one is valid again, and is not validated again.
_last_valid: dict[type[GraphModel], bytes] = {}


def _validated(route: Route, body: object, raw: bytes | None) -> list[FieldError]:
    """validate_body, skipped when `raw` (the body's bytes) is the last body found valid for the same model."""
    model = route.model
    if raw is not None and _last_valid.get(model) == raw:
        return []
    errors = validate_body(route, body)
    if not errors and raw is not None:
        _last_valid[model] = raw
    return errors


def _from_bare(
    data: dict[str, Any], text: bytes, line_no: int, default_tenant: str, errors: list[FieldError]
) -> Job | Rejected:
    """A bare body: validated for the default route and sent exactly as the line gave it."""
    errors.extend(_validated(_default_route(), data, text))
    if errors:
        return _rejected(str(line_no), line_no, "validation", None, errors)
    return _job(str(line_no), line_no, default_tenant, DEFAULT_PATH, text, scope=_default_route().scope)


def _from_envelope(
    data: dict[str, Any],
    line_no: int,
    default_tenant: str,
    errors: list[FieldError],
    body_json: bytes | None,
    *,
    version: GraphVersion,
) -> Job | Rejected:
    """An envelope: check jobId, tenant, path and unknown keys, then the body for the path's route."""
    job_id = _check_job_id(data.get("jobId"), errors)
    tenant = _check_tenant(data.get("tenant"), errors)
    path, route = _check_path(data.get("path"), errors, version)
    if not ENVELOPE_KEYS.issuperset(data):
        errors.extend(
            FieldError(loc=key, message=_unknown_envelope_key(key), type="extra_forbidden")
            for key in data
            if key not in ENVELOPE_KEYS
        )
    body = data["body"]
    if not isinstance(body, dict):
        errors.append(FieldError(loc="body", message="body should be a JSON object", type="dict_type"))
    elif route is not None and (body_errors := _validated(route, body, body_json)):
        errors.extend(_prefixed("body", body_errors))
    job_id = job_id or str(line_no)
    if errors:
        return _rejected(job_id, line_no, "validation", None, errors)
    if body_json is None:
        error = FieldError(loc="body", message="body nests too deeply to be sent", type="too_deep")
        return _rejected(job_id, line_no, "validation", None, [error])
    assert route is not None  # no errors: the path matched a route
    # a right-sized copy: orjson's bytes keep a 4 KiB buffer, 400 MB per 100,000 queued jobs
    body_bytes = bytes(memoryview(body_json))
    return _job(job_id, line_no, tenant or default_tenant, path, body_bytes, scope=route.scope)


@functools.cache
def _default_route() -> Route:
    """The route of DEFAULT_PATH (where bare bodies go)."""
    route = match_route(DEFAULT_PATH)
    if route is None:
        raise LookupError(f"DEFAULT_PATH {DEFAULT_PATH} is not a registered route")
    return route


def _job(job_id: str, line_no: int, tenant: str, path: str, body: bytes, *, scope: str) -> Job:
    """A Job with a fresh client-request-id (kept across its retries), in its route's throttling scope."""
    return Job(
        job_id=job_id,
        line=line_no,
        tenant=tenant,
        path=path,
        body=body,
        client_request_id=new_request_id(),
        scope=scope,
    )


def _rejected(job_id: str, line_no: int, kind: str, message: str | None, errors: list[FieldError]) -> Rejected:
    """A Rejected line; the message defaults to a summary of the errors."""
    if message is None:
        message = _summary(errors)
    return Rejected(job_id=job_id, line=line_no, kind=kind, message=message, errors=tuple(errors))


def _summary(errors: list[FieldError]) -> str:
    """E.g. "2 validation errors: servicePrincipal.id: Input should be a valid string; ..."."""
    count = len(errors)
    shown = "; ".join(
        f"{error.loc}: {error.message}" if error.loc else error.message for error in errors[:MAX_ERRORS_IN_MESSAGE]
    )
    more = f"; and {count - MAX_ERRORS_IN_MESSAGE} more" if count > MAX_ERRORS_IN_MESSAGE else ""
    return f"{count} validation error{'' if count == 1 else 's'}: {shown}{more}"


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


# --- envelope ---------------------------------------------------------------------------------------


def _check_job_id(value: object, errors: list[FieldError]) -> str | None:
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


def _check_tenant(value: object, errors: list[FieldError]) -> str | None:
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


def _check_path(value: object, errors: list[FieldError], version: GraphVersion) -> tuple[str, Route | None]:
    """The envelope's path and its route; an unsafe or unknown path is an error (and no route)."""
    if value is None:
        return DEFAULT_PATH, _default_route()
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
    if any(segment in {".", ".."} for segment in path.split("/")):
        return "path should not contain '.' or '..' segments"
    return None


@functools.cache
def _known_routes(version: GraphVersion) -> str:
    """The registered route templates, for error messages."""
    return ", ".join(template(route) for route in routes(version))


def _unknown_envelope_key(key: str) -> str:
    """The message for a key an envelope does not have."""
    return f"unknown envelope key '{key}' (an envelope has only jobId, path, tenant and body)"


def _prefixed(prefix: str, errors: list[FieldError]) -> list[FieldError]:
    """Errors located relative to `prefix` (the body's key in an envelope)."""
    return [FieldError(loc=f"{prefix}.{e.loc}" if e.loc else prefix, message=e.message, type=e.type) for e in errors]


# --- pydantic errors -> FieldError -------------------------------------------------------------------


def _field_error(model: type[GraphModel], loc: Loc, error_type: str, msg: str) -> FieldError:
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


# --- duplicate keys ----------------------------------------------------------------------------------


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as the list of its (key, value) pairs, duplicates kept."""


def _duplicate_keys(text: bytes, data: dict[str, Any], body_json: bytes | None = None) -> list[FieldError]:
    """An error for each duplicated key (orjson keeps the last silently); cheap when there are none.

    `body_json`: an envelope's body already dumped (`_dumped`), so that it is not dumped twice.
    """
    # `in` for one byte is a memchr; most lines have no backslash, so the 6-byte search rarely runs
    if (b"\\" not in text or b"\\u003" not in text) and _colons_match(text, data, body_json):
        return []
    try:
        tree = json.loads(text, object_pairs_hook=_Pairs)
    except (RecursionError, ValueError):
        message = "the line may contain a duplicate key, which could not be checked (nesting too deep)"
        return [FieldError(loc="", message=message, type="duplicate_key")]
    return _find_duplicates(tree)


def _colons_match(text: bytes, data: dict[str, Any], body_json: bytes | None = None) -> bool:
    """True when the line has as many colons as the parsed tree re-serialised: then no key was dropped.

    Colons in JSON are key separators (one per key) or string content. Re-serialising keeps every string
    of the tree as is, and a duplicated key takes its separator (and any colons in its name and dropped
    value) with it, so a duplicate always means fewer colons. The one way a colon can appear only after
    parsing is an escape (\\u003a): the caller does the exact check when the line has one. orjson cannot
    dump more than 254 levels of nesting: then the exact check runs too.

    With an envelope's body already dumped, the rest of the envelope is dumped alone: orjson writes an
    object as its members in order, so the whole has the colons of both and the one after "body". When
    the line ends with the body as dumped (a compact line, body last), the body's colons are on both
    sides and only the rest of the line is counted; a compact bare line equal to its dump needs no count.
    """
    try:
        if body_json is None:
            dumped = orjson.dumps(data)
            if dumped == text:  # a compact line (as tools write them) is its own re-serialisation: no count
                return True
            colons = dumped.count(b":")
        else:
            rest = orjson.dumps({key: value for key, value in data.items() if key != "body"})
            end = len(text) - 1  # the line ends with the envelope's closing brace
            if text.endswith(body_json, 0, end):  # the body, written compactly, closes the line: its colons
                return text.count(b":", 0, end - len(body_json)) == rest.count(b":") + 1  # are the same
            colons = rest.count(b":") + 1 + body_json.count(b":")
    except orjson.JSONEncodeError:
        return False
    return text.count(b":") == colons


def _find_duplicates(tree: object) -> list[FieldError]:
    """The duplicated keys in a tree of `_Pairs`, each once, located from the top."""
    found: list[FieldError] = []
    stack: list[tuple[Loc, object]] = [((), tree)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, _Pairs):
            seen: set[str] = set()
            for key, value in node:
                if key in seen:
                    found.append(_duplicate_error((*loc, key)))
                seen.add(key)
                stack.append(((*loc, key), value))
        elif isinstance(node, list):
            stack.extend(((*loc, index), item) for index, item in enumerate(node))
    return sorted(set(found), key=lambda error: error.loc)


def _duplicate_error(loc: Loc) -> FieldError:
    """The error for one duplicated key."""
    return FieldError(
        loc=".".join(str(part) for part in loc),
        message=f"duplicate key '{loc[-1]}' (JSON objects must not repeat a key)",
        type="duplicate_key",
    )
