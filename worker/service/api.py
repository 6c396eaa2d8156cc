"""The HTTP API (aiohttp.web): routes, the API-key check, and JSON errors.

    POST   /v1/batches                 a JSONL body, streamed to disk   202 {"id", "state", "links"} + Location
    GET    /v1/batches?limit=&cursor=  batches, newest first            200 {"batches", "next"}
                      [&state=a,b]     only batches in these states
    GET    /v1/batches/{id}            state, counts, total, progress   200
    GET    /v1/batches/{id}/results    the results JSONL so far         200, chunked
    DELETE /v1/batches/{id}            cancel                           200 (409 when already finished)
    GET    /healthz                    the process is alive             200
    GET    /readyz                     store open and not draining      200 or 503
    GET    /metrics                    Prometheus text format           200
    GET    /                           the web page; its routes are in `worker.service.web`

Every /v1 route and /metrics need `Authorization: Bearer <service API key>` (with `service.metrics_public`,
/metrics also answers without the key, every tenant's lane label then replaced by a keyed hash). Every
error is `{"error": {"code", "message"}}` with its status: 400, 401, 404, 405, 408, 409, 413, 415, 503.
A malformed JSONL line is not an upload error: it becomes that line's `rejected` result.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from aiohttp import web

from worker.client_gone import client_gone
from worker.errors import PatchWorkerError
from worker.record.metrics import CONTENT_TYPE, ServiceMetrics
from worker.schedule.lane_set import LaneSet
from worker.service.auth import bearer_matches
from worker.service.batches import (
    Batch,
    BatchConflictError,
    Batches,
    StoreUnavailableError,
    is_batch_id,
    links,
    new_batch_id,
)
from worker.service.upload import JSONL_TYPES, UploadStalledError, UploadTooLargeError, receive
from worker.settings import ServiceSettings

log = structlog.get_logger("worker.service.api")

BATCHES = web.AppKey("batches", Batches)
METRICS = web.AppKey("metrics", ServiceMetrics)
API_KEY = web.AppKey("api_key", bytes)
SERVICE = web.AppKey("service", ServiceSettings)
HASH_LANES = web.RequestKey("hash_lanes", bool)  # /metrics answered without the key: no tenant name
LANE_LABEL = re.compile(rb'lane="((?:[^"\\\n]|\\.)*)"')

DEFAULT_PAGE = 50
MAX_PAGE = 500
MAX_NAME = 200

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(PatchWorkerError):
    """An error answer: status, a stable code and a message for people."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """`{"error": {"code", "message"}}` with `status`."""
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer."""
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json", headers=headers)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ApiError and aiohttp's own 404/405 into the JSON error shape."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error.status, error.code, error.message)
    except StoreUnavailableError as exc:
        return error_response(503, "unavailable", str(exc))
    except web.HTTPNotFound:
        return error_response(404, "not_found", f"no route {request.path}")
    except web.HTTPMethodNotAllowed as exc:
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.path}",
            headers={"Allow": ", ".join(sorted(exc.allowed_methods))},
        )


@web.middleware
async def require_api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /v1 route and /metrics need the bearer API key; nothing else runs without it."""
    if not request.path.startswith(("/v1", "/metrics")) or bearer_matches(
        request.headers.get("Authorization"), request.app[API_KEY]
    ):
        return await handler(request)
    if request.path == "/metrics" and request.app[SERVICE].metrics_public:
        request[HASH_LANES] = True
        return await handler(request)
    return error_response(
        401,
        "unauthorized",
        "missing or wrong API key: send 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": 'Bearer realm="patch-worker"'},
    )


def create_app(
    batches: Batches, metrics: ServiceMetrics, api_key: bytes, service: ServiceSettings, lanes: LaneSet | None = None
) -> web.Application:
    """The service's aiohttp application (with its web page, `worker.service.web`)."""
    from worker.service.web import add_web  # the page's routes use this module's helpers

    app = web.Application(middlewares=[client_gone("info"), errors_as_json, require_api_key])
    app[BATCHES] = batches
    app[METRICS] = metrics
    app[API_KEY] = api_key
    app[SERVICE] = service
    app.router.add_post("/v1/batches", submit)
    app.router.add_get("/v1/batches", list_batches)
    app.router.add_get("/v1/batches/{id}", show)
    app.router.add_get("/v1/batches/{id}/results", results)
    app.router.add_delete("/v1/batches/{id}", cancel)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_text)
    add_web(app, lanes)
    return app


async def submit(request: web.Request) -> web.Response:
    """Stream the body to disk and queue it as a batch."""
    batches = request.app[BATCHES]
    if not batches.ready():
        raise ApiError(503, "unavailable", "the service is shutting down; submit again to another replica")
    if request.content_type not in JSONL_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type must be one of {', '.join(sorted(JSONL_TYPES))} (got {request.content_type})",
        )
    name = request.query.get("name")
    if name is not None and (len(name) > MAX_NAME or not name.isprintable()):
        raise ApiError(400, "bad_request", f"name must be printable and at most {MAX_NAME} characters")
    batch_id = new_batch_id()
    service = request.app[SERVICE]
    limit = service.max_upload_bytes
    try:
        upload = await receive(request, batches.upload_dir / f"{batch_id}.part", limit, service.body_timeout_s)
    except UploadTooLargeError:
        raise ApiError(413, "payload_too_large", f"the body is larger than {limit} bytes") from None
    except UploadStalledError:
        message = f"the body sent nothing for {service.body_timeout_s:g} s (service.body_timeout_s)"
        raise ApiError(408, "request_timeout", message) from None
    if upload.lines == 0:
        upload.path.unlink(missing_ok=True)
        raise ApiError(400, "empty_batch", "the body has no JSONL line")
    batch = await batches.accept(batch_id, upload, name)
    location = links(batch.id)["self"]
    return json_response({"id": batch.id, "state": batch.state, "links": links(batch.id)}, 202, {"Location": location})


async def list_batches(request: web.Request) -> web.Response:
    """A page of batches, newest first, and the link to the next page."""
    limit_text = request.query.get("limit", str(DEFAULT_PAGE))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
        raise ApiError(400, "bad_request", f"limit must be an integer from 1 to {MAX_PAGE}")
    limit = int(limit_text)
    from worker.service.web.listing import batch_page  # `state=` filters

    found, cursor, query = await batch_page(request.app[BATCHES], limit, request.query)
    following = None if cursor is None else f"/v1/batches?limit={limit}&cursor={cursor}{query}"
    return json_response({"batches": [batch.to_json() for batch in found], "next": following})


async def batch_of(request: web.Request) -> Batch:
    batch_id = request.match_info["id"]
    batch = await request.app[BATCHES].get(batch_id) if is_batch_id(batch_id) else None
    if batch is None:
        raise ApiError(404, "not_found", f"no batch {batch_id!r}")
    return batch


async def show(request: web.Request) -> web.Response:
    """One batch."""
    return json_response((await batch_of(request)).to_json())


async def results(request: web.Request) -> web.StreamResponse:
    """The batch's results so far, streamed in chunks."""
    batch = await batch_of(request)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    async for chunk in request.app[BATCHES].results(batch.id):
        await response.write(chunk)
    await response.write_eof()
    return response


async def cancel(request: web.Request) -> web.Response:
    """Cancel a queued, running or interrupted batch."""
    batch_id = request.match_info["id"]
    try:
        batch = await request.app[BATCHES].cancel(batch_id) if is_batch_id(batch_id) else None
    except BatchConflictError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    if batch is None:
        raise ApiError(404, "not_found", f"no batch {batch_id!r}")
    return json_response(batch.to_json())


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the store is open and the service takes new batches."""
    if request.app[BATCHES].ready():
        return json_response({"status": "ready"})
    return json_response({"status": "draining"}, 503)


async def metrics_text(request: web.Request) -> web.Response:
    """Prometheus metrics."""
    metrics = request.app[METRICS]
    metrics.set_batches(await request.app[BATCHES].count_by_state())
    body = metrics.render()
    if request.get(HASH_LANES):
        body = hash_lanes(body, request.app[API_KEY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def hash_lanes(text: bytes, key: bytes) -> bytes:
    """Every `lane="NAME"` label as `lane="t-HASH"`: keyed (the API key), so a list of tenant names cannot be
    hashed to find which ones this service serves, yet stable across scrapes and replicas."""

    def hashed(match: re.Match[bytes]) -> bytes:
        digest = hmac.new(key, match.group(1), hashlib.sha256).hexdigest()[:16]
        return b'lane="t-' + digest.encode() + b'"'

    return LANE_LABEL.sub(hashed, text)
