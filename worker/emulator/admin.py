"""The emulator's own endpoints under `/_emulator/` (no auth): inspect what was sent, reset, change knobs."""

from __future__ import annotations

import uuid

import orjson
from aiohttp import web

from worker.emulator.graph_errors import error_response, json_response
from worker.emulator.state import STATE


def _bad_request(message: str) -> web.Response:
    request_id = str(uuid.uuid4())
    return error_response(400, message, {"request-id": request_id, "client-request-id": request_id})


def _int_param(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise ValueError(f"query parameter {name} must be a non-negative integer, got {text!r}")
    return int(text)


async def _health(_request: web.Request) -> web.Response:
    return json_response(200, {"status": "ok"})


async def _requests(request: web.Request) -> web.Response:
    try:
        status = _int_param(request, "status")
        limit = _int_param(request, "limit")
    except ValueError as exc:
        return _bad_request(str(exc))
    found = request.app[STATE].recorder.requests(status=status, tenant=request.query.get("tenant"), limit=limit)
    return json_response(200, [record.to_json() for record in found])


async def _stats(request: web.Request) -> web.Response:
    return json_response(200, request.app[STATE].recorder.stats())


async def _reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return json_response(200, {"status": "reset"})


async def _get_config(request: web.Request) -> web.Response:
    return json_response(200, request.app[STATE].config.to_dict())


async def _put_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        changes = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        return _bad_request(f"config body is not JSON: {exc}")
    if not isinstance(changes, dict):
        return _bad_request("config body must be a JSON object of settings to change")
    try:
        state.reconfigure(changes)
    except ValueError as exc:
        return _bad_request(str(exc))
    return json_response(200, state.config.to_dict())


def add_admin_routes(app: web.Application) -> None:
    """Register `/_emulator/*`; call before the catch-all Graph routes, which would otherwise match."""
    app.router.add_get("/_emulator/health", _health)
    app.router.add_get("/_emulator/requests", _requests)
    app.router.add_get("/_emulator/stats", _stats)
    app.router.add_post("/_emulator/reset", _reset)
    app.router.add_get("/_emulator/config", _get_config)
    app.router.add_put("/_emulator/config", _put_config)
