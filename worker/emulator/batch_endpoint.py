"""`POST /{beta|v1.0}/$batch`: Graph's JSON batching, every item evaluated like a single PATCH.

Request: `{"requests": [{"id", "method", "url", "headers"?, "body"?, "dependsOn"?}, ...]}`, at most 20 items
with unique ids; `url` is relative to the version root (with or without the leading "/").
Response: 200 `{"responses": [{"id", "status", "headers", "body"}, ...]}` in request order.

The envelope passes these checks in order, and the first that fails answers the whole request:
latency sleep (once per HTTP request) → connection reset fault → auth (401) → version (404) →
body size (413) → envelope format (400) → injected whole-batch 5xx (`batch_error_rate`).
Then every item goes through `exchange.evaluate` exactly like a single PATCH (404, 405, quota 429 with its
own Retry-After, injected 5xx, 400, 200), in `dependsOn` order; an item whose dependency answered non-2xx
is answered 424 without being evaluated.

Every item is recorded as one PATCH (with `batch_id` and `item_id`), so counters see items exactly as
single PATCHes: an envelope answered as a whole (401, 404, 5xx, dropped) records each of its items with
that status; an envelope too malformed to have items records none. `batches` counts the HTTP requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import hdrs, web

from worker.emulator.bearer import bearer_token, tenant_of
from worker.emulator.exchange import (
    BAD_JSON,
    MAX_BODY_BYTES,
    MISSING,
    NO_CONTENT,
    VERSIONS,
    Answer,
    Body,
    Exchange,
    base_headers,
    drop_connection,
    error_answer,
    evaluate,
    injected_fault,
    not_found,
    read_body,
    unauthorized,
)
from worker.emulator.graph_errors import JSON
from worker.emulator.request_log import DROPPED
from worker.emulator.state import STATE, EmulatorState

BATCH_SEGMENT = "$batch"
#: Graph's limit on the requests in one batch.
MAX_BATCH_REQUESTS = 20
_FORMAT = "Invalid batch payload format: "


class EnvelopeError(ValueError):
    """The batch body is not a well-formed batch; the message says why (answered 400 as a whole)."""


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One request of a batch, checked for shape (not yet evaluated)."""

    id: str
    method: str
    path: str
    client_request_id: str | None
    body: Body
    depends_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A well-formed batch: its items in request order, and the order to evaluate them in (dependencies first)."""

    items: list[BatchItem]
    order: list[int]


def parse_envelope(value: Any) -> Envelope:
    """Check a parsed batch body; raises EnvelopeError naming the first problem."""
    requests = value.get("requests") if isinstance(value, dict) else None
    if not isinstance(requests, list):
        raise EnvelopeError(_FORMAT + "the body must be an object with a 'requests' array.")
    if not requests:
        raise EnvelopeError(_FORMAT + "the 'requests' array is empty.")
    if len(requests) > MAX_BATCH_REQUESTS:
        raise EnvelopeError(
            f"Number of batch requests exceeds the maximum of {MAX_BATCH_REQUESTS} (got {len(requests)})."
        )
    items = [_item(index, data) for index, data in enumerate(requests)]
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise EnvelopeError(f"{_FORMAT}batch request ids must be unique; '{item.id}' is used more than once.")
        seen.add(item.id)
    return Envelope(items, _evaluation_order(items))


def _item(index: int, data: Any) -> BatchItem:
    if not isinstance(data, dict):
        raise EnvelopeError(f"{_FORMAT}request {index} must be an object.")
    item_id, method, url = (_text(data, key, index) for key in ("id", "method", "url"))
    headers = data.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(value, str) for value in headers.values()):
        raise EnvelopeError(f"{_FORMAT}request '{item_id}': 'headers' must be an object of strings.")
    depends_on = data.get("dependsOn", [])
    if not isinstance(depends_on, list) or not all(isinstance(dep, str) and dep for dep in depends_on):
        raise EnvelopeError(f"{_FORMAT}request '{item_id}': 'dependsOn' must be an array of request ids.")
    return BatchItem(
        id=item_id,
        method=method.upper(),
        path=_path(url),
        client_request_id=_header(headers, "client-request-id"),
        body=_body(data, headers),
        depends_on=tuple(depends_on),
    )


def _text(data: Mapping[str, Any], key: str, index: int) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise EnvelopeError(f"{_FORMAT}request {index} must have a non-empty string '{key}'.")
    return value


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # header names are case-insensitive
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _path(url: str) -> str:
    # relative to the version root; a query string or fragment does not name the resource
    path = url.split("?", 1)[0].split("#", 1)[0]
    return path if path.startswith("/") else "/" + path


def _body(data: Mapping[str, Any], headers: Mapping[str, str]) -> Body:
    # Graph reads an item body as JSON only when the item says so; without it the body is unreadable
    content_type = _header(headers, "content-type")
    if "body" not in data or content_type is None or not content_type.lower().startswith(JSON):
        return MISSING
    return Body.of_value(data["body"])


def _evaluation_order(items: list[BatchItem]) -> list[int]:
    known = {item.id for item in items}
    for item in items:
        unknown = [dep for dep in item.depends_on if dep not in known]
        if unknown:
            raise EnvelopeError(f"{_FORMAT}request '{item.id}' depends on unknown request id '{unknown[0]}'.")
    # stable topological order: the earliest item whose dependencies are all done goes next
    done: set[str] = set()
    pending = list(range(len(items)))
    order: list[int] = []
    while pending:
        ready = next((i for i in pending if done.issuperset(items[i].depends_on)), None)
        if ready is None:
            raise EnvelopeError(f"{_FORMAT}the dependsOn references form a cycle.")
        pending.remove(ready)
        order.append(ready)
        done.add(items[ready].id)
    return order


class _Batch:
    """One `$batch` HTTP request: who sent it, its headers, and its items once parsed."""

    __slots__ = ("envelope", "headers", "tenant", "token", "version")

    def __init__(self, request: web.Request) -> None:
        self.version = request.match_info["version"]
        self.token = bearer_token(request.headers.get(hdrs.AUTHORIZATION))
        self.tenant = tenant_of(self.token)
        self.headers = base_headers(request.headers.get("client-request-id"))
        self.envelope: Envelope | None = None

    def exchange(self, item: BatchItem) -> Exchange:
        """The item as a PATCH of its own, from the batch's tenant."""
        return Exchange(
            version=self.version,
            path=item.path,
            method=item.method,
            tenant=self.tenant,
            client_request_id=item.client_request_id,
            batch_id=self.headers["request-id"],
            item_id=item.id,
        )

    def finish(self, state: EmulatorState, status: int) -> None:
        """Count the batch; when it was answered as a whole, record each of its items with that status."""
        state.recorder.record_batch(status)
        if status != 200 and self.envelope is not None:
            for item in self.envelope.items:
                state.recorder.record(self.exchange(item).record(status))


async def _read_envelope(request: web.Request, batch: _Batch) -> Answer | None:
    """Parse the body into `batch.envelope`; the 413/400 answer when it is not a well-formed batch."""
    body = await read_body(request)
    if body.problem == 413:
        return error_answer(413, f"The request body exceeds {MAX_BODY_BYTES} bytes.", batch.headers)
    if body.problem is not None:
        return error_answer(400, BAD_JSON, batch.headers)
    try:
        batch.envelope = parse_envelope(body.value)
    except EnvelopeError as exc:
        return error_answer(400, str(exc), batch.headers)
    return None


def _refuse(batch: _Batch, state: EmulatorState, malformed: Answer | None) -> Answer | None:
    # no `or` chain: each check returns None to pass
    answer = unauthorized(batch.token, state, batch.headers)
    if answer is None and batch.version not in VERSIONS:
        answer = not_found("/" + BATCH_SEGMENT, batch.headers)
    if answer is None:
        answer = malformed
    if answer is None:
        answer = injected_fault(state.config.batch_error_rate, state, batch.headers, "batch fault")
    return answer


def _run(batch: _Batch, envelope: Envelope, state: EmulatorState) -> Answer:
    """Evaluate every item (dependencies first) and gather the responses in request order."""
    answers: dict[str, Answer] = {}
    for index in envelope.order:
        item = envelope.items[index]
        exchange = batch.exchange(item)
        failed = [dep for dep in item.depends_on if not 200 <= answers[dep].status < 300]
        if failed:
            message = f"The request was not executed: it depends on request '{failed[0]}', which failed."
            answer = error_answer(424, message, exchange.headers)
        else:
            answer = evaluate(exchange, state, item.body)
        state.recorder.record(exchange.record(answer.status))
        answers[item.id] = answer
    responses = [_response_item(item.id, answers[item.id]) for item in envelope.items]
    return Answer(200, batch.headers, {"responses": responses})


def _response_item(item_id: str, answer: Answer) -> dict[str, Any]:
    if answer.status == NO_CONTENT:  # Graph's 204 items carry neither a body nor its Content-Type
        return {"id": item_id, "status": answer.status, "headers": answer.headers}
    return {
        "id": item_id,
        "status": answer.status,
        "headers": {"Content-Type": JSON, **answer.headers},
        "body": answer.body,
    }


async def _answer(request: web.Request, state: EmulatorState) -> web.Response:
    config = state.config
    if config.latency_ms > 0:
        await asyncio.sleep(config.latency_ms / 1000.0)
    batch = _Batch(request)
    malformed = await _read_envelope(request, batch)
    if state.roll(config.reset_rate):
        batch.finish(state, DROPPED)
        return drop_connection(request)
    answer = _refuse(batch, state, malformed)
    if answer is None:
        assert batch.envelope is not None  # no `malformed` answer: it parsed
        answer = _run(batch, batch.envelope, state)
    batch.finish(state, answer.status)
    return answer.response()


async def handle_batch(request: web.Request) -> web.Response:
    """The `$batch` route: POST is answered as Graph would; any other method is 405 (not counted)."""
    if request.method != hdrs.METH_POST:
        headers = {**base_headers(request.headers.get("client-request-id")), "Allow": hdrs.METH_POST}
        return error_answer(405, f"The HTTP method '{request.method}' is not allowed on $batch.", headers).response()
    state = request.app[STATE]
    state.recorder.enter()
    try:
        return await _answer(request, state)
    finally:
        state.recorder.leave()
