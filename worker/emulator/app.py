"""The emulator app: `PATCH /{beta|v1.0}/{resource path}` answered the way Graph would, faults included.

Each PATCH passes these checks in order, and the first that fails answers:
latency sleep → connection reset fault → auth (401) → known route (404) → tenant quota (429) →
injected 5xx → body size (413) → JSON body (400) → resource validation (400) → 200 with the object echoed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import hdrs, web

from worker.emulator.admin import add_admin_routes
from worker.emulator.config import EmulatorConfig
from worker.emulator.graph_errors import error_response, json_response
from worker.emulator.recorder import DROPPED, RecordedRequest
from worker.emulator.state import STATE, EmulatorState
from worker.emulator.tokens import bearer_token, tenant_of
from worker.jobs import FieldError
from worker.models.registry import SEGMENT, Route, match_route
from worker.validate import validate_body

VERSIONS = frozenset({"beta", "v1.0"})
# Graph refuses request bodies over about 4 MB; aiohttp's own default (1 MiB) would be stricter than Graph.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Graph sends x-ms-throttle-limit-percentage once a caller has used more than this share of its quota.
THROTTLE_WARNING = 0.8
_WWW_AUTHENTICATE = 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
_BAD_JSON = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
)


def _guids() -> Iterator[str]:
    # GUID-shaped and unique: a random prefix per process and a counter (uuid4 per request costs a syscall)
    prefix = str(uuid.uuid4())[:24]
    return (f"{prefix}{count:012x}" for count in itertools.count())


_next_guid = _guids().__next__


class _Exchange:
    """One request on its way through the checks: sender, target, and the headers every answer carries."""

    __slots__ = ("client_request_id", "headers", "path", "raw_body", "route", "tenant", "token", "version")

    def __init__(self, request: web.Request) -> None:
        self.version = request.match_info["version"]
        self.path = "/" + request.match_info["path"]
        self.token = bearer_token(request.headers.get(hdrs.AUTHORIZATION))
        self.tenant = tenant_of(self.token)
        self.client_request_id = request.headers.get("client-request-id")
        request_id = _next_guid()
        # like Graph: without a client-request-id, the request-id stands in for it
        self.headers = {"request-id": request_id, "client-request-id": self.client_request_id or request_id}
        self.route: Route | None = None
        self.raw_body: bytes | None = None  # set once the body has parsed as JSON

    def record(self, method: str, status: int) -> RecordedRequest:
        """The recorder's entry for this exchange, answered with `status`."""
        return RecordedRequest(
            method=method,
            version=self.version,
            path=self.path,
            tenant=self.tenant,
            client_request_id=self.client_request_id,
            status=status,
            raw_body=self.raw_body,
            time=time.monotonic(),
        )


def _check_auth(exchange: _Exchange, state: EmulatorState) -> web.Response | None:
    config = state.config
    if exchange.token is None:
        message = "Access token is empty."
    elif config.accepted_tokens is not None and exchange.token not in config.accepted_tokens:
        message = "Access token validation failure. Invalid audience."
    else:
        return None
    headers = {**exchange.headers, hdrs.WWW_AUTHENTICATE: _WWW_AUTHENTICATE}
    return error_response(401, message, headers)


def _check_route(exchange: _Exchange, _state: EmulatorState) -> web.Response | None:
    if exchange.version in VERSIONS:
        exchange.route = match_route(exchange.path)
        if exchange.route is not None:
            return None
    message = f"Resource not found for the segment '{exchange.path.rsplit('/', 1)[-1]}'."
    return error_response(404, message, exchange.headers)


def _headers_with_retry_after(exchange: _Exchange, state: EmulatorState, wait: float) -> dict[str, str]:
    headers = dict(exchange.headers)
    retry_after = state.retry_after.render(state.config.retry_after, wait)
    if retry_after is not None:
        headers[hdrs.RETRY_AFTER] = retry_after
    return headers


def _check_quota(exchange: _Exchange, state: EmulatorState) -> web.Response | None:
    wait = state.buckets.try_acquire(exchange.tenant)
    if wait is None:
        return None
    headers = _headers_with_retry_after(exchange, state, wait)
    message = (
        f"Too many requests from Identifier:{exchange.tenant} under category:throttle.emulator. Please try again later."
    )
    return error_response(429, message, headers)


def _check_fault(exchange: _Exchange, state: EmulatorState) -> web.Response | None:
    config = state.config
    if not state.roll(config.error_rate):
        return None
    if config.error_retry_after is None:
        headers = exchange.headers
    else:
        headers = _headers_with_retry_after(exchange, state, config.error_retry_after)
    return error_response(config.error_status, "The service is temporarily unavailable (injected fault).", headers)


_CHECKS = (_check_auth, _check_route, _check_quota, _check_fault)


def _refuse(exchange: _Exchange, state: EmulatorState) -> web.Response | None:
    # no `or` chain: an aiohttp response is a mapping, and an empty one is falsy
    for check in _CHECKS:
        response = check(exchange, state)
        if response is not None:
            return response
    return None


def _invalid(exchange: _Exchange, errors: list[FieldError]) -> web.Response:
    summary = "; ".join(f"{error.loc}: {error.message}" for error in errors)
    details = [{"code": error.type, "message": error.message, "target": error.loc} for error in errors]
    return error_response(400, f"Invalid request body. {summary}", exchange.headers, details=details)


def _echo(exchange: _Exchange, state: EmulatorState, body: Any) -> web.Response:
    headers = exchange.headers
    usage = state.buckets.usage(exchange.tenant)
    if usage > THROTTLE_WARNING:
        # Graph's documented form: the share of the limit used, from 0.8 up
        headers = {**headers, "x-ms-throttle-limit-percentage": f"{usage:.3f}"}
    return json_response(200, _stored_object(exchange, body), headers)


def _stored_object(exchange: _Exchange, body: Any) -> Any:
    # Graph answers with the updated entity, which always has an id: the one in an item path, else a new one
    # (the request-id serves: it is unique)
    if not isinstance(body, dict) or "id" in body:
        return body
    assert exchange.route is not None  # _check_route ran first
    is_item = SEGMENT in exchange.route.pattern.pattern
    return {**body, "id": exchange.path.rsplit("/", 1)[-1] if is_item else exchange.headers["request-id"]}


async def _apply(request: web.Request, exchange: _Exchange, state: EmulatorState) -> web.Response:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, f"The request body exceeds {MAX_BODY_BYTES} bytes.", exchange.headers)
    try:
        body = orjson.loads(raw)
    except (orjson.JSONDecodeError, RecursionError):
        return error_response(400, _BAD_JSON, exchange.headers)
    exchange.raw_body = raw
    assert exchange.route is not None  # _check_route ran first
    errors = validate_body(exchange.route, body)
    if errors:
        return _invalid(exchange, errors)
    return _echo(exchange, state, body)


def _drop(request: web.Request) -> web.Response:
    # abort() closes at once without a response; aiohttp then fails to write the placeholder returned
    # here and treats it as a client disconnect, so nothing reaches the wire
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=204)


async def _answer(request: web.Request, state: EmulatorState) -> web.Response:
    config = state.config
    if config.latency_ms > 0:
        await asyncio.sleep(config.latency_ms / 1000.0)
    exchange = _Exchange(request)
    if state.roll(config.reset_rate):
        state.recorder.record(exchange.record(request.method, DROPPED))
        return _drop(request)
    response = _refuse(exchange, state)
    if response is None:
        response = await _apply(request, exchange, state)
    state.recorder.record(exchange.record(request.method, response.status))
    return response


async def _patch(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.recorder.enter()
    try:
        return await _answer(request, state)
    finally:
        state.recorder.leave()


async def _other_method(request: web.Request) -> web.Response:
    exchange = _Exchange(request)
    not_found = _check_route(exchange, request.app[STATE])
    if not_found is not None:
        return not_found
    headers = {**exchange.headers, hdrs.ALLOW: hdrs.METH_PATCH}
    return error_response(405, f"The HTTP method '{request.method}' is not allowed on this resource.", headers)


def create_app(config: EmulatorConfig) -> web.Application:
    """The emulator as an aiohttp application sharing `config` (changes apply to the next request)."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE] = EmulatorState(config)
    add_admin_routes(app)
    app.router.add_route(hdrs.METH_PATCH, "/{version}/{path:.*}", _patch)
    app.router.add_route(hdrs.METH_ANY, "/{version}/{path:.*}", _other_method)
    return app
