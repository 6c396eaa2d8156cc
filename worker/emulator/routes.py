"""The emulator app: `PATCH /{beta|v1.0}/{resource path}` and `POST /{beta|v1.0}/$batch`, answered the way
Graph would, faults included.

A single PATCH passes these checks in order, and the first that fails answers:
latency sleep → connection reset fault → auth (401) → then `exchange.evaluate`: known route (404) →
quota rules (429) → injected 5xx → body size (413) → JSON body (400) → resource validation (400) → 200 with
the object echoed. A `$batch` item goes through the same `evaluate` (see `batch`).

It also issues tokens like the Microsoft identity platform's client-credentials flow (`token_endpoint`).
"""

from __future__ import annotations

import asyncio

from aiohttp import hdrs, web

from worker.client_gone import client_gone
from worker.emulator.admin import add_admin_routes
from worker.emulator.batch_endpoint import BATCH_SEGMENT, handle_batch
from worker.emulator.bearer import bearer_token, tenant_of
from worker.emulator.config import EmulatorConfig
from worker.emulator.exchange import (
    MAX_BODY_BYTES,
    Exchange,
    check_target,
    drop_connection,
    evaluate,
    read_body,
    unauthorized,
)
from worker.emulator.request_log import DROPPED
from worker.emulator.state import STATE, EmulatorState
from worker.emulator.token_endpoint import add_token_routes

__all__ = ["MAX_BODY_BYTES", "create_app"]


def _exchange(request: web.Request, token: str | None) -> Exchange:
    return Exchange(
        version=request.match_info["version"],
        path="/" + request.match_info["path"],
        method=request.method,
        tenant=tenant_of(token),
        client_request_id=request.headers.get("client-request-id"),
    )


async def _answer(request: web.Request, state: EmulatorState) -> web.Response:
    config = state.config
    if config.latency_ms > 0:
        await asyncio.sleep(config.latency_ms / 1000.0)
    token = bearer_token(request.headers.get(hdrs.AUTHORIZATION))
    exchange = _exchange(request, token)
    if state.roll(config.reset_rate):
        state.recorder.record(exchange.record(DROPPED))
        return drop_connection(request)
    answer = unauthorized(token, state, exchange.headers)
    if answer is None:
        answer = evaluate(exchange, state, await read_body(request))
    state.recorder.record(exchange.record(answer.status))
    return answer.response()


async def _patch(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.recorder.enter()
    try:
        return await _answer(request, state)
    finally:
        state.recorder.leave()


async def _other_method(request: web.Request) -> web.Response:
    # not recorded and not authenticated: 404 for an unknown path, else 405
    answer = check_target(_exchange(request, None))
    assert answer is not None  # only PATCH passes, and PATCH has its own route
    return answer.response()


def create_app(config: EmulatorConfig) -> web.Application:
    """The emulator as an aiohttp application sharing `config` (changes apply to the next request)."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[client_gone("debug")])
    app[STATE] = EmulatorState(config)
    add_admin_routes(app)
    add_token_routes(app)  # POST /{tenant}/oauth2/v2.0/token and tenant discovery (see token_endpoint)
    # before the catch-all: "$batch" would otherwise match it as a resource path
    app.router.add_route(hdrs.METH_ANY, "/{version}/" + BATCH_SEGMENT, handle_batch)
    app.router.add_route(hdrs.METH_PATCH, "/{version}/{path:.*}", _patch)
    app.router.add_route(hdrs.METH_ANY, "/{version}/{path:.*}", _other_method)
    return app
