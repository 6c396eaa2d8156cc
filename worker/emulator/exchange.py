"""One PATCH evaluated the way Graph would: the code path shared by single requests and `$batch` items.

`evaluate` runs these checks in order, and the first that fails answers:
known route (404) → method (405) → quota rules (429) → injected 5xx → body size (413) → JSON body (400) →
resource validation (400: `resources`, the emulator's own rules) → 200 with the object echoed (204 with no
body for the directory's resources). The quota rules checked are those of the resource's scope.
Authentication, latency and dropped connections belong to the HTTP request (a single PATCH or a whole
`$batch`), not to this function.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from worker.emulator.graph_errors import error_payload, json_response
from worker.emulator.request_log import RecordedRequest
from worker.emulator.resources import BodyError, Resource, body_errors, find_resource
from worker.emulator.state import EmulatorState
from worker.emulator.token_endpoint import token_problem

VERSIONS = frozenset({"beta", "v1.0"})
# Graph refuses request bodies over about 4 MB; aiohttp's own default (1 MiB) would be stricter than Graph.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Graph sends x-ms-throttle-limit-percentage once a caller has used more than this share of its quota.
THROTTLE_WARNING = 0.8
PATCH = "PATCH"
NO_CONTENT = 204
# plain str header names: these also become JSON keys in `$batch` item headers
RETRY_AFTER = "Retry-After"
THROTTLE_PERCENTAGE = "x-ms-throttle-limit-percentage"
# on 429s (identity and access): <Scope>/<Limit>/<ApplicationId>/<TenantId>, Scope naming whom the limit counts
THROTTLE_SCOPE = "x-ms-throttle-scope"
THROTTLE_INFORMATION = "x-ms-throttle-information"
SCOPE_NAMES = {"tenant": "Tenant_Application", "app": "Application"}
APPLICATION_ID = "00000000-0000-0000-0000-00000000a99e"  # the emulator's one app
# the resource units a request cost against the quota; Graph sends it on answers that count
RESOURCE_UNIT = "x-ms-resource-unit"
_WWW_AUTHENTICATE = 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
BAD_JSON = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
)


def _guids() -> Iterator[str]:
    # GUID-shaped and unique: a random prefix per process and a counter (uuid4 per request costs a syscall)
    prefix = str(uuid.uuid4())[:24]
    return (f"{prefix}{count:012x}" for count in itertools.count())


next_guid = _guids().__next__


def base_headers(client_request_id: str | None) -> dict[str, str]:
    """A fresh request-id and the client-request-id echoed (like Graph: the request-id stands in for a missing one)."""
    request_id = next_guid()
    return {"request-id": request_id, "client-request-id": client_request_id or request_id}


@dataclass(slots=True)
class Answer:
    """What one PATCH is answered: status, headers and the JSON body (a Graph error or the updated object)."""

    status: int
    headers: dict[str, str]
    body: Any

    def response(self) -> web.Response:
        """The answer as an HTTP response (a single PATCH, or a whole `$batch` envelope)."""
        if self.status == NO_CONTENT:
            return web.Response(status=NO_CONTENT, headers=self.headers)
        return json_response(self.status, self.body, self.headers)


def error_answer(
    status: int,
    message: str,
    headers: dict[str, str],
    *,
    code: str | None = None,
    details: list[dict[str, str]] | None = None,
) -> Answer:
    """A Graph error answer; `headers` must hold request-id and client-request-id."""
    return Answer(status, headers, error_payload(status, message, headers, code=code, details=details))


@dataclass(frozen=True, slots=True)
class Body:
    """A request body as received: the JSON bytes and parsed value, or the reason it cannot be read."""

    raw: bytes | None
    value: Any = None
    problem: int | None = None  # 413 (too large) or 400 (absent or not JSON); None: parsed

    @classmethod
    def parse(cls, raw: bytes) -> Body:
        """Bytes off the wire, parsed as JSON."""
        try:
            return cls(raw, orjson.loads(raw))
        except (orjson.JSONDecodeError, RecursionError):
            return cls(None, problem=400)

    @classmethod
    def of_value(cls, value: Any) -> Body:
        """A body already parsed (a `$batch` item's "body"), kept as JSON bytes for the recorder."""
        try:
            return cls(orjson.dumps(value), value)
        except orjson.JSONEncodeError:  # nested deeper than orjson writes
            return cls(None, problem=400)


TOO_LARGE = Body(None, problem=413)
MISSING = Body(None, problem=400)


class Exchange:
    """One PATCH (a single request or a `$batch` item) on its way through the checks."""

    __slots__ = (
        "batch_id",
        "client_request_id",
        "headers",
        "item_id",
        "method",
        "path",
        "raw_body",
        "route",
        "tenant",
        "version",
    )

    def __init__(
        self,
        *,
        version: str,
        path: str,
        method: str,
        tenant: str,
        client_request_id: str | None,
        batch_id: str | None = None,
        item_id: str | None = None,
    ) -> None:
        self.version = version
        self.path = path
        self.method = method
        self.tenant = tenant
        self.client_request_id = client_request_id
        self.batch_id = batch_id
        self.item_id = item_id
        self.headers = base_headers(client_request_id)
        self.route: Resource | None = None
        self.raw_body: bytes | None = None  # set once the body has parsed as JSON

    def record(self, status: int) -> RecordedRequest:
        """The recorder's entry for this exchange, answered with `status`."""
        return RecordedRequest(
            method=self.method,
            version=self.version,
            path=self.path,
            tenant=self.tenant,
            client_request_id=self.client_request_id,
            status=status,
            raw_body=self.raw_body,
            time=time.monotonic(),
            batch_id=self.batch_id,
            item_id=self.item_id,
        )


def unauthorized(token: str | None, state: EmulatorState, headers: dict[str, str]) -> Answer | None:
    """401 when the bearer token is missing, expired or not accepted; None when it passes (`token_problem`)."""
    message = "Access token is empty." if token is None else token_problem(token, state)
    if message is None:
        return None
    return error_answer(401, message, {**headers, "WWW-Authenticate": _WWW_AUTHENTICATE})


def not_found(path: str, headers: dict[str, str]) -> Answer:
    """Graph's 404 for a path (or version) it has no resource for."""
    return error_answer(404, f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'.", headers)


def check_target(exchange: Exchange) -> Answer | None:
    """404 for an unknown version or resource path, 405 for a method other than PATCH; sets `exchange.route`."""
    if exchange.version in VERSIONS:
        exchange.route = find_resource(exchange.path)
    if exchange.route is None:
        return not_found(exchange.path, exchange.headers)
    if exchange.method != PATCH:
        headers = {**exchange.headers, "Allow": PATCH}
        return error_answer(405, f"The HTTP method '{exchange.method}' is not allowed on this resource.", headers)
    return None


def with_retry_after(headers: dict[str, str], state: EmulatorState, wait: float) -> dict[str, str]:
    """`headers` plus Retry-After for `wait` seconds, in the configured shape (none for the "none" shape)."""
    retry_after = state.retry_after.render(state.config.retry_after, wait)
    return headers if retry_after is None else {**headers, RETRY_AFTER: retry_after}


def _check_quota(exchange: Exchange, state: EmulatorState) -> Answer | None:
    assert exchange.route is not None  # check_target ran first
    refusal = state.quotas.try_take(exchange.tenant, exchange.route.scope)
    if refusal is None:
        return None
    wait, per = refusal
    message = (
        f"Too many requests from Identifier:{exchange.tenant} under category:throttle.emulator. Please try again later."
    )
    headers = {**exchange.headers, RESOURCE_UNIT: str(state.config.resource_unit_cost)}
    if state.config.throttle_scope:
        headers[THROTTLE_SCOPE] = f"{SCOPE_NAMES[per]}/Write/{APPLICATION_ID}/{exchange.tenant}"
        headers[THROTTLE_INFORMATION] = "ResourceUnitLimitExceeded"
    return error_answer(429, message, with_retry_after(headers, state, wait))


def injected_fault(rate: float, state: EmulatorState, headers: dict[str, str], what: str) -> Answer | None:
    """With probability `rate`, the configured 5xx (with Retry-After when `error_retry_after` is set)."""
    config = state.config
    if not state.roll(rate):
        return None
    if config.error_retry_after is not None:
        headers = with_retry_after(headers, state, config.error_retry_after)
    return error_answer(config.error_status, f"The service is temporarily unavailable (injected {what}).", headers)


def _invalid(exchange: Exchange, errors: list[BodyError]) -> Answer:
    summary = "; ".join(f"{error.loc}: {error.message}" for error in errors)
    details = [{"code": error.code, "message": error.message, "target": error.loc} for error in errors]
    return error_answer(400, f"Invalid request body. {summary}", exchange.headers, details=details)


def _echo(exchange: Exchange, state: EmulatorState, body: Any) -> Answer:
    config = state.config
    headers = {**exchange.headers, RESOURCE_UNIT: str(config.resource_unit_cost)}
    route = exchange.route
    assert route is not None  # check_target ran first
    usage = state.quotas.usage(exchange.tenant, route.scope) if config.throttle_header else 0.0
    if usage > THROTTLE_WARNING:
        # Graph's documented form: the share of the limit used (of the most-used rule), from 0.8 up
        headers[THROTTLE_PERCENTAGE] = f"{usage:.3f}"
    if route.no_content:  # directory objects: Graph answers 204 No Content to a PATCH
        return Answer(204, headers, None)
    return Answer(200, headers, _stored_object(exchange, body))


def _stored_object(exchange: Exchange, body: Any) -> Any:
    # Graph answers with the updated entity, which always has an id: the one in an item path, else a new one
    # (the request-id serves: it is unique)
    if not isinstance(body, dict) or "id" in body:
        return body
    assert exchange.route is not None  # check_target ran first
    return {
        **body,
        "id": exchange.path.rsplit("/", 1)[-1] if exchange.route.is_item else exchange.headers["request-id"],
    }


def _apply(exchange: Exchange, state: EmulatorState, body: Body) -> Answer:
    if body.problem == 413:
        return error_answer(413, f"The request body exceeds {MAX_BODY_BYTES} bytes.", exchange.headers)
    if body.problem is not None:
        return error_answer(400, BAD_JSON, exchange.headers)
    exchange.raw_body = body.raw
    assert exchange.route is not None  # check_target ran first
    errors = body_errors(exchange.route, body.value)
    if errors:
        return _invalid(exchange, errors)
    return _echo(exchange, state, body.value)


def evaluate(exchange: Exchange, state: EmulatorState, body: Body) -> Answer:
    """Answer one authenticated PATCH (single or `$batch` item): route, method, quota, faults, body."""
    # no `or` chain: each check returns None to pass
    answer = check_target(exchange)
    if answer is None:
        answer = _check_quota(exchange, state)
    if answer is None:
        answer = injected_fault(state.config.error_rate, state, exchange.headers, "fault")
    if answer is None:
        answer = _apply(exchange, state, body)
    return answer


async def read_body(request: web.Request) -> Body:
    """The request body parsed as JSON, or why it cannot be (too large: 413, not JSON: 400)."""
    try:
        return Body.parse(await request.read())
    except web.HTTPRequestEntityTooLarge:
        return TOO_LARGE


def drop_connection(request: web.Request) -> web.Response:
    """Close the connection without an answer (the reset fault)."""
    # abort() closes at once without a response; aiohttp then fails to write the placeholder returned
    # here and treats it as a client disconnect, so nothing reaches the wire
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=204)
