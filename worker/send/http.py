"""One PATCH attempt over the process's single aiohttp ClientSession, and how answers become errors."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from worker.errors import (
    AuthError,
    PermanentError,
    SendError,
    ServerError,
    ThrottledError,
    TransportError,
)
from worker.jobs import Job
from worker.send.auth import Credentials
from worker.send.retry_after import parse_retry_after

USER_AGENT = "patch-worker/0.1"
THROTTLE_PERCENT_HEADER = "x-ms-throttle-limit-percentage"


def new_session(
    *, max_connections: int, connect_timeout_s: float, read_timeout_s: float, ca_bundle: Path | None = None
) -> aiohttp.ClientSession:
    """The one session of a process. Timeouts are per socket operation: `total` would count pool waits.

    TLS is always verified: against the system store, or only `ca_bundle` (a PEM file) when given.
    """
    ssl_context = True if ca_bundle is None else ssl.create_default_context(cafile=str(ca_bundle))
    connector = aiohttp.TCPConnector(
        limit=max_connections, limit_per_host=max_connections, ttl_dns_cache=300, ssl=ssl_context
    )
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        json_serialize=lambda value: orjson.dumps(value).decode(),
        raise_for_status=False,
        auto_decompress=True,
    )


class Answer:
    """A successful attempt: the status and the throttle hint Graph may have sent with it."""

    __slots__ = ("status", "throttle_percent")

    def __init__(self, status: int, throttle_percent: float | None) -> None:
        self.status = status
        self.throttle_percent = throttle_percent


class GraphClient:
    """Sends one job's PATCH; raises a SendError subclass for anything but 2xx."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, credentials: Credentials) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        connector = session.connector
        # attempts past the pool's size wait here, as a suspended coroutine, instead of as a prepared request
        # in the pool's queue (~10 KB each: thousands of tenants put thousands of attempts in flight)
        self._slots = asyncio.Semaphore(connector.limit if connector is not None and connector.limit else 100)

    async def patch(self, job: Job) -> Answer:
        """One attempt, once a connection of the pool is free."""
        async with self._slots:
            return await self._attempt(job)

    async def _attempt(self, job: Job) -> Answer:
        """One attempt; a 401 gets one token refresh and one more try inside the same attempt."""
        tokens = self._credentials.for_tenant(job.tenant)
        if tokens is None:
            raise AuthError(f"no credentials for tenant {job.tenant!r}", code="no_credentials")
        token = await tokens.token()
        try:
            return await self._send(job, token)
        except AuthError as error:
            if error.status != 401:
                raise
            fresh = await tokens.refresh(token)
            if fresh is None:
                raise
            return await self._send(job, fresh)

    async def _send(self, job: Job, token: str) -> Answer:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "client-request-id": job.client_request_id,
            "return-client-request-id": "true",
        }
        try:
            async with self._session.patch(self._base_url + job.path, data=job.body, headers=headers) as response:
                if response.status < 300:
                    await response.read()  # drain, so the connection goes back to the pool
                    return Answer(response.status, throttle_percent(response.headers))
                body = await response.read()
                raise error_from_response(response.status, response.headers, body)
        except SendError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransportError(describe_transport(exc)) from exc


def throttle_percent(headers: Any) -> float | None:
    """Graph's x-ms-throttle-limit-percentage (a fraction of the quota, 0.8..1.8), when sent."""
    value = headers.get(THROTTLE_PERCENT_HEADER)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def describe_transport(exc: BaseException) -> str:
    """A short description of a failure below HTTP."""
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out waiting for Graph"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def graph_error(parsed: Any) -> tuple[str | None, str | None, Any]:
    """Graph's error code, message and the whole error object from a parsed error body, when it has one."""
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    code, message = error.get("code"), error.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
        error,
    )


def error_from_response(status: int, headers: Any, body: bytes) -> SendError:
    """Classify a non-2xx HTTP answer from its raw body."""
    try:
        parsed = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    return classify(status, headers.get("Retry-After"), parsed)


def classify(status: int, retry_after_header: str | None, parsed_body: Any) -> SendError:
    """Classify a non-2xx answer (a whole response or one $batch item): throttled, 5xx, auth, other 4xx."""
    code, message, detail = graph_error(parsed_body)
    retry_after = parse_retry_after(retry_after_header)
    text = message or f"HTTP {status}"
    if status == 429 or (status == 503 and retry_after is not None):
        return ThrottledError(text, status=status, code=code, detail=detail, retry_after=retry_after)
    if status >= 500 or status == 424:  # 424: a $batch item not run because another failed: try again
        return ServerError(text, status=status, code=code, detail=detail, retry_after=retry_after)
    if status in (401, 403):
        return AuthError(text, status=status, code=code, detail=detail)
    return PermanentError(text, status=status, code=code, detail=detail)
