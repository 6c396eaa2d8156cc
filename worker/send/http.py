"""One PATCH attempt over the process's single aiohttp ClientSession, and how answers become errors.

The server is not trusted: redirects are never followed (a 3xx is a final `RedirectError` naming only the
Location's host: the request goes nowhere but the route validation approved), and bodies are read under a
size cap and one deadline (see `worker.send.body`).
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any, NoReturn

import aiohttp
import orjson
import structlog
from yarl import URL

from worker.answers import Answer
from worker.auth.tokens import Credentials
from worker.errors import (
    AuthError,
    PermanentError,
    RedirectError,
    SendError,
    ServerError,
    ThrottledError,
    TransportError,
)
from worker.jobs import Job
from worker.schedule.concurrency import AdaptiveLimit
from worker.send.body import Body, BodyLimits, answer_deadline, read_body, read_received
from worker.send.deadline import Deadline
from worker.send.retry_after import parse_retry_after

log = structlog.get_logger("worker.send")

USER_AGENT = "patch-worker/0.1"
THROTTLE_PERCENT_HEADER = "x-ms-throttle-limit-percentage"
THROTTLE_SCOPE_HEADER = "x-ms-throttle-scope"
# x-ms-throttle-scope's first part, as Graph documents it (any case), to the one spelling used here
THROTTLE_SCOPES = {name.lower(): name for name in ("Application", "Tenant_Application", "Tenant")}
MAX_SCOPE_HEADER_CHARS = 1024
RESOURCE_UNIT_HEADER = "x-ms-resource-unit"  # what the request cost against its scope's quota (directory)
MAX_THROTTLE_PERCENT = 100.0  # far above anything Graph sends; beyond it (or NaN) a server is making things up


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


class GraphClient:
    """Sends one job's PATCH; raises a SendError subclass for anything but 2xx."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        credentials: Credentials,
        limits: BodyLimits | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._limits = limits or BodyLimits()
        connector = session.connector
        # attempts past the pool's size wait here, as a suspended coroutine, instead of as a prepared request
        # in the pool's queue (~10 KB each: thousands of tenants put thousands of attempts in flight)
        size = connector.limit if connector is not None and connector.limit else 100
        self._slots = AdaptiveLimit(minimum=size, maximum=size)

    async def patch(self, job: Job) -> Answer:
        """One attempt, once a connection of the pool is free; a 401 gets one token refresh and one more try
        inside the same attempt."""
        slots = self._slots
        if not slots.try_acquire():
            await slots.acquire()
        try:
            tokens = self._credentials.for_tenant(job.tenant)
            if tokens is None:
                raise AuthError(f"no credentials for tenant {job.tenant!r}", code="no_credentials")
            token = tokens.current() or await tokens.token()
            try:
                return await self._send(job, token)
            except AuthError as error:
                if error.status != 401:
                    raise
                fresh = await tokens.refresh(token)
                if fresh is None:
                    raise
                return await self._send(job, fresh)
        finally:
            slots.release()

    async def _send(self, job: Job, token: str) -> Answer:
        """The exchange itself, its failures below HTTP as TransportError (one coroutine: a level of awaiting
        costs every job a coroutine and a pass on each resumption)."""
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "client-request-id": job.client_request_id,
            "return-client-request-id": "true",
        }
        limits = self._limits
        try:
            with answer_deadline(limits) as deadline:
                async with self._session.patch(
                    self._base_url + job.path, data=job.body, headers=headers, allow_redirects=False
                ) as response:
                    status = response.status
                    if 200 <= status < 300:  # the body is drained, not kept: the connection is reused
                        if read_received(response, limits, deadline, keep=False) is None:
                            await read_body(response, limits, deadline, keep=False)
                        return Answer(status, throttle_percent(response.headers), resource_units(response.headers))
                    await _refused(response, limits, deadline)
        except SendError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransportError(describe_transport(exc)) from exc
        except Exception as exc:  # an answer nobody foresaw must fail this job, not stop the run
            raise internal_error(exc, "PATCH", job.tenant) from exc


async def _refused(response: aiohttp.ClientResponse, limits: BodyLimits, deadline: Deadline) -> NoReturn:
    """A non-2xx answer as its SendError, from its body (read under the cap and the deadline)."""
    body = read_received(response, limits, deadline) or await read_body(response, limits, deadline)
    raise error_from_response(response.status, response.headers, body)


def internal_error(exc: Exception, what: str, lane: str) -> ServerError:
    """An unexpected exception while sending, as a retryable failure of the jobs concerned (logged once)."""
    problem = f"{type(exc).__name__}: {exc}"
    log.error("send.crashed", lane=lane, request=what, error=problem)
    return ServerError(f"internal error while sending the {what}: {problem}")


def resource_units(headers: Any) -> int | None:
    """Graph's x-ms-resource-unit (a whole number of units, at least 1), when sent and sane."""
    value = headers.get(RESOURCE_UNIT_HEADER)
    if not isinstance(value, str) or not value.strip().isdigit():
        return None
    units = int(value)
    return units if units >= 1 else None


def throttle_percent(headers: Any) -> float | None:
    """Graph's x-ms-throttle-limit-percentage (a fraction of the quota, 0.8..1.8), when sent and sane."""
    value = headers.get(THROTTLE_PERCENT_HEADER)
    if not isinstance(value, str):
        return None
    try:
        percent = float(value)
    except ValueError:
        return None
    return percent if 0.0 <= percent <= MAX_THROTTLE_PERCENT else None  # also rules out NaN and infinities


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


def error_from_response(status: int, headers: Any, body: Body) -> SendError:
    """Classify a non-2xx HTTP answer from its raw body (cut at the size cap: then it is not parsed)."""
    if body.cut:
        return classify(status, headers, None, fallback=f"HTTP {status} (body over {len(body.data)} bytes: cut)")
    try:
        parsed = orjson.loads(body.data) if body.data else None
    except orjson.JSONDecodeError:
        parsed = None
    return classify(status, headers, parsed)


def classify(status: int, headers: Any, parsed_body: Any, *, fallback: str | None = None) -> SendError:
    """Classify a non-2xx answer (a whole response or one $batch item): redirect, throttled, 5xx, auth, 4xx.

    `headers` is a mapping with case-insensitive or lower-case keys whose values are strings.
    """
    if 300 <= status < 400:
        return redirect_error(status, headers.get("location"))
    code, message, detail = graph_error(parsed_body)
    retry_after = parse_retry_after(headers.get("retry-after"))
    text = message or fallback or f"HTTP {status}"
    if status == 429 or (status == 503 and retry_after is not None):
        throttled = ThrottledError(text, status=status, code=code, detail=detail, retry_after=retry_after)
        throttled.scope = throttle_scope(headers.get(THROTTLE_SCOPE_HEADER))
        return throttled
    if status >= 500 or status == 424:  # 424: a $batch item not run because another failed: try again
        return ServerError(text, status=status, code=code, detail=detail, retry_after=retry_after)
    if status in (401, 403):
        return AuthError(text, status=status, code=code, detail=detail)
    return PermanentError(text, status=status, code=code, detail=detail)


def throttle_scope(value: Any) -> str | None:
    """Whom a refusal's limit counts, from Graph's `x-ms-throttle-scope`
    (`<Scope>/<Limit>/<ApplicationId>/<TenantId>`): "Application", "Tenant_Application" or "Tenant";
    None when absent, too long, or naming anything else (a server's header is not trusted)."""
    if not isinstance(value, str) or len(value) > MAX_SCOPE_HEADER_CHARS:
        return None
    return THROTTLE_SCOPES.get(value.split("/", 1)[0].strip().lower())


def redirect_error(status: int, location: Any) -> RedirectError:
    """A 3xx as a final failure, naming the Location's host (and port) only: its path or query may hold a secret."""
    where = "without a readable Location"
    if isinstance(location, str):
        try:
            url = URL(location)
        except ValueError:
            url = None
        if url is not None and url.host:
            port = f":{url.explicit_port}" if url.explicit_port else ""
            where = f"to host {url.host[:255]}{port}"
        elif location.startswith("/"):
            where = "to another path on the same host"
    message = f"HTTP {status} redirect {where}: not followed (Graph does not redirect a PATCH)"
    return RedirectError(message, status=status)
