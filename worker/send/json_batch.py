"""JSON batching: up to 20 PATCHes per `POST {base}/$batch`, each item's answer mapped back to its job.

The envelope is usually 200 while items fail on their own, so every item is read: 2xx items succeed,
429/5xx/424 items raise their own retryable error (with the item's Retry-After) into their job, whose
retry policy sends them again, packed with other pending items; other 4xx items are final. A failed
envelope (429, 5xx, connection error) fails every item of it with that error, so they all retry.

Each item's `status` and `headers` come from the server as arbitrary JSON: an item whose status is not an
integer 100..599 or whose headers are not an object of strings is a `MalformedResponseError` (retried like a
5xx), never a success. An unexpected exception while sending a batch fails its jobs; it never leaves them
waiting.

`Batcher` packs one lane's jobs: a batch goes when it is full or `linger_s` after its first job.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from worker.answers import Answer, ItemResult
from worker.auth.tokens import Credentials
from worker.errors import AuthError, MalformedResponseError, SendError, ServerError, TransportError
from worker.jobs import Job, LaneKey
from worker.schedule.lane import Lane
from worker.schedule.lane_set import LaneSet
from worker.send.body import BodyLimits, answer_deadline, read_body
from worker.send.http import (
    classify,
    describe_transport,
    error_from_response,
    internal_error,
    resource_units,
    throttle_percent,
)

MAX_BATCH = 20  # Graph's limit per $batch
LINGER_S = 0.005


def encode_batch(jobs: Sequence[Job]) -> bytes:
    """The $batch body. Job bodies are validated JSON already: spliced in as bytes, not re-encoded."""
    items = [
        b'{"id":"%d","method":"PATCH","url":%b,"headers":{"Content-Type":"application/json","client-request-id":"%b"},'
        b'"body":%b}' % (index, orjson.dumps(job.path), job.client_request_id.encode(), job.body)
        for index, job in enumerate(jobs)
    ]
    return b'{"requests":[' + b",".join(items) + b"]}"


def decode_batch(raw: bytes, count: int) -> list[ItemResult]:
    """Each item's result, in the order the jobs were packed; an item with no answer is a server error."""
    try:
        responses = orjson.loads(raw)["responses"]
        by_id = {str(item["id"]): item for item in responses}
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        error = ServerError(f"unreadable $batch response: {exc}", status=200)
        return [error] * count
    return [_item_result(by_id.get(str(index))) for index in range(count)]


def _item_result(item: Any) -> ItemResult:
    if not isinstance(item, dict):
        return ServerError("no answer for this item in the $batch response")
    status, headers = item.get("status"), item.get("headers", {})
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return MalformedResponseError(f"the $batch item's status is not an HTTP status: {_shown(status)}")
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return MalformedResponseError(f"the $batch item's headers are not an object of strings: {_shown(headers)}")
    lowered = {str(key).lower(): value for key, value in headers.items()}
    if 200 <= status < 300:
        return Answer(status, throttle_percent(lowered), resource_units(lowered))
    return classify(status, lowered, item.get("body"))


def _shown(value: Any) -> str:
    """A short JSON rendering of a hostile value, for a message."""
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = type(value).__name__
    return text if len(text) <= 80 else text[:80] + "..."


class BatchClient:
    """Posts one $batch for one tenant's jobs."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        credentials: Credentials,
        limits: BodyLimits | None = None,
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/$batch"
        self._credentials = credentials
        self._limits = limits or BodyLimits()

    async def post(self, tenant: str, jobs: Sequence[Job]) -> list[ItemResult]:
        """One $batch; a 401 on the envelope gets one token refresh and one more try."""
        tokens = self._credentials.for_tenant(tenant)
        if tokens is None:
            return [AuthError(f"no credentials for tenant {tenant!r}", code="no_credentials")] * len(jobs)
        body = encode_batch(jobs)
        token = await tokens.token()
        try:
            return await self._post(body, token, len(jobs))
        except AuthError as error:
            fresh = await tokens.refresh(token) if error.status == 401 else None
            if fresh is None:
                raise
            return await self._post(body, fresh, len(jobs))

    async def _post(self, body: bytes, token: str, count: int) -> list[ItemResult]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "client-request-id": str(uuid.uuid4()),
        }
        try:
            async with (
                answer_deadline(self._limits) as deadline,
                self._session.post(self._url, data=body, headers=headers, allow_redirects=False) as response,
            ):
                answer = await read_body(response, self._limits, deadline)
                if response.status != 200:
                    raise error_from_response(response.status, response.headers, answer)
        except SendError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransportError(describe_transport(exc)) from exc
        if answer.cut:
            raise MalformedResponseError(f"the $batch response is over {len(answer.data)} bytes", status=200)
        return decode_batch(answer.data, count)


class Batcher:
    """Packs one lane's jobs into $batch requests; `submit` resolves with the job's own item result."""

    def __init__(self, lane: Lane, client: BatchClient, size: int, linger_s: float = LINGER_S) -> None:
        self._lane = lane
        self._client = client
        self._size = size
        self._linger_s = linger_s
        self._pending: list[tuple[Job, asyncio.Future[ItemResult]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flights: set[asyncio.Task[None]] = set()

    async def submit(self, job: Job) -> Answer:
        """Send `job` in the next batch; return its answer or raise its item's error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ItemResult] = loop.create_future()
        self._pending.append((job, future))
        if len(self._pending) >= self._size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._linger_s, self._flush)
        result = await future
        if isinstance(result, SendError):
            raise result
        return result

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            items, self._pending = self._pending[: self._size], self._pending[self._size :]
            flight = asyncio.create_task(self._send(items))
            self._flights.add(flight)
            flight.add_done_callback(self._flights.discard)

    async def _send(self, items: list[tuple[Job, asyncio.Future[ItemResult]]]) -> None:
        live = [(job, future) for job, future in items if not future.done()]  # a cancelled job is not sent
        if not live:
            return
        results: list[ItemResult] = []
        try:
            results = await self._results([job for job, _ in live])
        finally:  # whatever happened (even cancellation), every job gets an answer: none waits forever
            abandoned = ServerError("the $batch was abandoned before it was answered")
            for index, (_, future) in enumerate(live):
                if not future.done():
                    future.set_result(results[index] if index < len(results) else abandoned)

    async def _results(self, jobs: list[Job]) -> list[ItemResult]:
        tenant = jobs[0].tenant
        try:
            return await self._lane.send_batch(len(jobs), lambda: self._client.post(tenant, jobs))
        except SendError as error:
            return [error] * len(jobs)
        except Exception as exc:  # a bug or a hostile answer nobody foresaw: fail the jobs, never strand them
            return [internal_error(exc, "$batch", tenant)] * len(jobs)


class BatchSender:
    """The Sender for --batch-size > 1: each attempt is an item of its lane's next $batch."""

    def __init__(self, lanes: LaneSet, client: BatchClient, size: int) -> None:
        self._lanes = lanes
        self._client = client
        self._size = min(size, MAX_BATCH)
        self._batchers: dict[LaneKey, Batcher] = {}

    async def patch(self, job: Job) -> Answer:
        """One attempt at a job, packed with others of its lane."""
        batcher = self._batchers.get(job.lane)
        if batcher is None:  # a $batch holds one lane's jobs: one tenant, one scope
            lane = self._lanes.lane(job.tenant, job.scope)
            batcher = self._batchers[job.lane] = Batcher(lane, self._client, self._size)
        return await batcher.submit(job)
