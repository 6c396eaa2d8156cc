"""Responses in Microsoft Graph's error format:
`{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}, "details"?}}`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

JSON = "application/json"

#: Graph's error code for each status the emulator injects or answers.
CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    404: "Request_ResourceNotFound",
    405: "Request_BadRequest",
    413: "RequestEntityTooLarge",
    424: "FailedDependency",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON response serialised with orjson (the emulator's hot path)."""
    return web.Response(status=status, body=orjson.dumps(payload), content_type=JSON, headers=headers)


def error_payload(
    status: int,
    message: str,
    headers: Mapping[str, str],
    *,
    code: str | None = None,
    details: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A Graph error body; `headers` must hold the exchange's request-id and client-request-id."""
    error: dict[str, Any] = {
        "code": code or CODES[status],
        "message": message,
        "innerError": {
            # Graph writes the UTC time without an offset, to the second
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": headers["request-id"],
            "client-request-id": headers["client-request-id"],
        },
    }
    if details:
        error["details"] = details
    return {"error": error}


def error_response(
    status: int,
    message: str,
    headers: Mapping[str, str],
    *,
    code: str | None = None,
    details: list[dict[str, str]] | None = None,
) -> web.Response:
    """A Graph error response; `headers` must hold the exchange's request-id and client-request-id."""
    return json_response(status, error_payload(status, message, headers, code=code, details=details), headers)
