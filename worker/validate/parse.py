"""A raw line to a Job, a Rejected line with every error found, or None (blank): the stage's entry point.

Nothing a line contains can make `parse_line` raise; messages never quote input values (a line may carry
secrets). The checks themselves live in the sibling modules: this one decodes, dispatches and shapes.
"""

from __future__ import annotations

from typing import Any

import orjson

from worker.jobs import FieldError, Job, Rejected, new_job, new_request_id
from worker.models.registry import DEFAULT_PATH, DEFAULT_VERSION, GraphVersion, Route
from worker.validate.duplicate_keys import duplicate_keys
from worker.validate.envelope import (
    check_job_id,
    check_path,
    check_tenant,
    default_route,
    prefixed,
    unknown_keys,
)
from worker.validate.model_check import is_last_valid, validated
from worker.validate.repeat import Repeats

MAX_ERRORS_IN_MESSAGE = 10
# the last valid body in an envelope and the last valid bare line: a line repeating one is parsed in part
_repeats = Repeats()


def parse_line(
    raw: bytes, line_no: int, *, default_tenant: str, version: GraphVersion = DEFAULT_VERSION
) -> Job | Rejected | None:
    """Turn one input line into a Job, a Rejected line, or None for a blank line (`version`: whose models)."""
    text = raw.strip()
    if not text:
        return None
    repeated = _repeated(text, line_no, default_tenant, version)
    if repeated is not None:
        return repeated
    data = _decoded(text, line_no)
    if isinstance(data, Rejected):
        return data
    if "body" in data:
        body_json = _dumped(data["body"])  # the bytes to send: dumped once, also for the duplicate-key check
        errors = duplicate_keys(text, data, body_json)
        return _from_envelope(data, line_no, default_tenant, errors, body_json, version=version)
    return _from_bare(data, text, line_no, default_tenant, duplicate_keys(text, data))


def _decoded(text: bytes, line_no: int) -> dict[str, Any] | Rejected:
    """The line's JSON object, or the line rejected: not UTF-8, not JSON, or not an object."""
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
    return data


def _repeated(text: bytes, line_no: int, default_tenant: str, version: GraphVersion) -> Job | None:
    """The Job of a line that repeats the last valid body (see `worker.validate.repeat`); None when it does
    not, or anything about it is wrong (the full parse then gives the line its errors)."""
    if text == _repeats.bare:
        return _job(str(line_no), line_no, default_tenant, DEFAULT_PATH, text, scope=default_route().scope)
    found = _repeats.envelope_rest(text)
    if found is None:
        return None
    rest, data, body = found
    errors = duplicate_keys(rest, data)
    job_id, tenant, path, route = _envelope_fields(data, errors, version)
    if errors or route is None or not is_last_valid(route, body):
        return None
    return _job(job_id or str(line_no), line_no, tenant or default_tenant, path, body, scope=route.scope)


def _envelope_fields(
    data: dict[str, Any], errors: list[FieldError], version: GraphVersion
) -> tuple[str | None, str | None, str, Route | None]:
    """An envelope's jobId, tenant, path and route, each checked (errors appended), and its unknown keys."""
    job_id = check_job_id(data.get("jobId"), errors)
    tenant = check_tenant(data.get("tenant"), errors)
    path, route = check_path(data.get("path"), errors, version)
    unknown_keys(data, errors)
    return job_id, tenant, path, route


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


def _from_bare(
    data: dict[str, Any], text: bytes, line_no: int, default_tenant: str, errors: list[FieldError]
) -> Job | Rejected:
    """A bare body: validated for the default route and sent exactly as the line gave it."""
    errors.extend(validated(default_route(), data, text))
    if errors:
        return _rejected(str(line_no), line_no, "validation", None, errors)
    _repeats.bare = text
    return _job(str(line_no), line_no, default_tenant, DEFAULT_PATH, text, scope=default_route().scope)


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
    job_id, tenant, path, route = _envelope_fields(data, errors, version)
    body = data["body"]
    if not isinstance(body, dict):
        errors.append(FieldError(loc="body", message="body should be a JSON object", type="dict_type"))
    elif route is not None and (body_errors := validated(route, body, body_json)):
        errors.extend(prefixed("body", body_errors))
    job_id = job_id or str(line_no)
    if errors:
        return _rejected(job_id, line_no, "validation", None, errors)
    if body_json is None:
        error = FieldError(loc="body", message="body nests too deeply to be sent", type="too_deep")
        return _rejected(job_id, line_no, "validation", None, [error])
    assert route is not None  # no errors: the path matched a route
    # a right-sized copy: orjson's bytes keep a 4 KiB buffer, 400 MB per 100,000 queued jobs
    body_bytes = _repeats.body = bytes(memoryview(body_json))
    return _job(job_id, line_no, tenant or default_tenant, path, body_bytes, scope=route.scope)


def _job(job_id: str, line_no: int, tenant: str, path: str, body: bytes, *, scope: str) -> Job:
    """A Job with a fresh client-request-id (kept across its retries), in its route's throttling scope."""
    request_id = new_request_id()
    return new_job(job_id, line_no, tenant=tenant, path=path, body=body, client_request_id=request_id, scope=scope)


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
