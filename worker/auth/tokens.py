"""Where bearer tokens come from. The token is a secret: it is never logged and never put in a result
(every token a provider holds is registered with `worker.redact`, which scrubs it from whatever is written).

Two kinds of provider:
- `StaticToken`: a fixed token (GRAPH_TOKEN); a 401 cannot be cured.
- `RefreshingToken`: a token from a `TokenSource` (the client-credentials flow, see `client_credentials`), kept until
  shortly before it expires. However many requests ask at once, one fetch is in flight at a time and every
  caller shares its result: the token is renewed *before* it expires (callers keep the still-valid one while
  the renewal runs in the background), and a 401 renews it once for everyone (`refresh`).

`verify_credentials` fetches every app credential's first token before anything is sent, so a wrong secret or
an unknown tenant stops the run with a clear message instead of failing every job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import structlog

from worker.errors import AuthError, ConfigError, PatchWorkerError, SendError, TransportError
from worker.redact import register_secret

log = structlog.get_logger("worker.auth")

#: Renew a token when this much of its life is left, or `EARLY_REFRESH_SHARE` of it if that is less (tokens of
#: a few seconds, as the emulator issues in tests). Entra ID tokens live 60-90 minutes: renewed 5 minutes early.
EARLY_REFRESH_MAX_S = 300.0
EARLY_REFRESH_SHARE = 0.1
#: After a failed fetch, callers get the same failure for this long instead of each asking again.
FAILURE_COOLDOWN_S = 1.0
#: Attempts at the first token before the run when the token service cannot be reached (not when it refuses).
VERIFY_ATTEMPTS = 3
VERIFY_BACKOFF_S = 1.5  # more than FAILURE_COOLDOWN_S, or the retry would only see the cached failure


class TokenProvider(Protocol):
    """Gives the current bearer token; `refresh` is called after a 401 with the token that was refused."""

    async def token(self) -> str:
        """The token to send now."""
        ...

    def current(self) -> str | None:
        """The token to send now when that needs no wait and no renewal (None: ask `token`).

        Every request asks for its token: this spares the common case a coroutine.
        """
        ...

    async def refresh(self, refused: str) -> str | None:
        """A new token, or None when this provider cannot get one (a static token)."""
        ...


class StaticToken:
    """A fixed token (GRAPH_TOKEN): cannot be refreshed."""

    def __init__(self, token: str) -> None:
        register_secret(token)
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken([redacted])"

    async def token(self) -> str:
        """The fixed token."""
        return self._token

    def current(self) -> str:
        """The fixed token."""
        return self._token

    async def refresh(self, refused: str) -> str | None:
        """Static tokens cannot be refreshed."""
        return None


class TokenFetchError(PatchWorkerError):
    """The token service did not give a token. `transient`: worth asking again later (network, 5xx, 429).

    The message never holds a secret: it is the service's error code and description, or the network error.
    """

    def __init__(self, message: str, *, code: str | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.transient = transient


class CredentialRejectedError(AuthError):
    """The token service refused the credentials (wrong secret, unknown tenant or app): final for the job."""

    kind = "credentials_rejected"


class TokenServiceUnavailableError(TransportError):
    """The token service could not be reached or failed (network, 5xx, 429): the job is retried."""

    kind = "token_service_unavailable"


@dataclass(frozen=True, slots=True)
class FetchedToken:
    """A token as the service issued it: the value and its lifetime in seconds."""

    value: str
    expires_in: float


class TokenSource(Protocol):
    """A blocking way to get a new token (run in a thread). `description` names it in messages (no secret)."""

    description: str

    def fetch(self, drop: str | None) -> FetchedToken:
        """A new token; `drop` is a token not to be served again from any cache. Raises TokenFetchError."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def refresh_margin(lifetime_s: float) -> float:
    """How long before expiry a token of `lifetime_s` seconds is renewed."""
    return min(EARLY_REFRESH_MAX_S, lifetime_s * EARLY_REFRESH_SHARE)


@dataclass(frozen=True, slots=True)
class _Held:
    value: str
    refresh_at: float  # monotonic: renew in the background from here on
    expires_at: float  # monotonic: never sent from here on


class RefreshingToken:
    """A cached token from a TokenSource, renewed before it expires by one fetch that all callers share."""

    def __init__(
        self,
        source: TokenSource,
        *,
        clock: Callable[[], float] = time.monotonic,
        failure_cooldown_s: float = FAILURE_COOLDOWN_S,
    ) -> None:
        self._source = source
        self._clock = clock
        self._cooldown = failure_cooldown_s
        self._held: _Held | None = None
        self._pending: asyncio.Task[_Held] | None = None
        self._failure: tuple[float, SendError] | None = None  # (until, what went wrong)
        self.fetches = 0  # token requests made, for tests and stats

    def __repr__(self) -> str:
        return f"RefreshingToken({self._source.description})"

    @property
    def description(self) -> str:
        """What the tokens are for: directory and client id (never the secret)."""
        return self._source.description

    @property
    def source(self) -> TokenSource:
        """Where the tokens come from."""
        return self._source

    async def token(self) -> str:
        """The held token while it is valid (renewal starts in the background once it is due), else a new one."""
        held = self._held
        now = self._clock()
        if held is not None and now < held.expires_at:
            if now >= held.refresh_at and self._pending is None and not self._cooling(now):
                self._pending = self._start(drop=held.value)
            return held.value
        return (await self._shared(drop=None if held is None else held.value)).value

    def current(self) -> str | None:
        """The held token while it is neither due for renewal nor expired (else None: `token` renews it)."""
        held = self._held
        return held.value if held is not None and self._clock() < held.refresh_at else None

    async def refresh(self, refused: str) -> str:
        """After a 401: the token held now if it is not the refused one, else one new token for all callers."""
        held = self._held
        if held is not None and held.value != refused and self._clock() < held.expires_at:
            return held.value  # another caller already renewed it
        return (await self._shared(drop=refused)).value

    async def aclose(self) -> None:
        """Wait for a fetch in flight, then release the source's connections."""
        pending = self._pending
        if pending is not None:
            await asyncio.wait([pending])
        self._source.close()

    def _cooling(self, now: float) -> bool:
        return self._failure is not None and now < self._failure[0]

    async def _shared(self, drop: str | None) -> _Held:
        if self._pending is None:
            failure = self._failure
            if failure is not None and self._clock() < failure[0]:
                raise _copy(failure[1])
            self._pending = self._start(drop)
        try:
            # shield: a caller that is cancelled must not cancel the fetch the others wait for
            return await asyncio.shield(self._pending)
        except SendError as error:
            raise _copy(error) from None

    def _start(self, drop: str | None) -> asyncio.Task[_Held]:
        task = asyncio.create_task(self._fetch(drop), name=f"token fetch: {self.description}")
        task.add_done_callback(self._report)
        return task

    async def _fetch(self, drop: str | None) -> _Held:
        started = self._clock()
        self.fetches += 1
        try:
            fetched = await asyncio.to_thread(self._source.fetch, drop)
        except TokenFetchError as exc:
            error = _send_error(exc)
            self._failure = (self._clock() + self._cooldown, error)
            raise error from None
        finally:
            self._pending = None
        register_secret(fetched.value)  # before any request carries it: an echo of it is never written
        lifetime = max(0.0, fetched.expires_in)
        expires_at = started + lifetime  # from before the request: never later than the service's own clock
        self._held = _Held(fetched.value, expires_at - refresh_margin(lifetime), expires_at)
        self._failure = None
        log.debug("auth.token_fetched", credentials=self.description, lifetimeS=round(lifetime, 3))
        return self._held

    def _report(self, task: asyncio.Task[_Held]) -> None:
        if task.cancelled():
            return
        error = task.exception()  # also marks it retrieved: a failed background renewal is not an asyncio error
        if isinstance(error, SendError):
            log.warning("auth.token_failed", credentials=self.description, error=error.error_kind, message=str(error))


def _send_error(exc: TokenFetchError) -> SendError:
    if exc.transient:
        return TokenServiceUnavailableError(exc.message, code=exc.code)
    return CredentialRejectedError(exc.message, code=exc.code)


def _copy(error: SendError) -> SendError:
    # each caller raises its own instance: one shared exception would collect every caller's traceback
    return type(error)(
        error.message, status=error.status, code=error.code, detail=error.detail, retry_after=error.retry_after
    )


class Credentials:
    """The token provider of each tenant: its own when configured, else the default one."""

    def __init__(self, default: TokenProvider | None, tenants: dict[str, TokenProvider] | None = None) -> None:
        self._default = default
        self._tenants = tenants or {}

    def for_tenant(self, tenant: str) -> TokenProvider | None:
        """The provider for `tenant`, or None when it has no credentials."""
        return self._tenants.get(tenant, self._default)

    def named(self) -> Iterator[tuple[str, TokenProvider]]:
        """Every distinct provider once, with the name of the first configuration that uses it."""
        seen: set[int] = set()
        entries = [
            ("the default credentials", self._default),
            *((f"tenant {name!r}", p) for name, p in self._tenants.items()),
        ]
        for name, provider in entries:
            if provider is not None and id(provider) not in seen:
                seen.add(id(provider))
                yield name, provider

    async def aclose(self) -> None:
        """Release every provider's connections."""
        for _, provider in self.named():
            if isinstance(provider, RefreshingToken):
                await provider.aclose()


async def verify_credentials(credentials: Credentials, *, backoff_s: float = VERIFY_BACKOFF_S) -> None:
    """Fetch the first token of every app credential, concurrently; ConfigError naming each one refused.

    Static tokens are taken on trust (only Graph can tell). A token service that cannot be reached is asked
    again a few times; one that refuses (AADSTS7000215 wrong secret, AADSTS90002 unknown tenant...) is not.
    """
    checks = [(name, provider) for name, provider in credentials.named() if isinstance(provider, RefreshingToken)]
    results = await asyncio.gather(*(_first_token(provider, backoff_s) for _, provider in checks))
    problems = [
        f"{name} ({provider.description}): {problem}"
        for (name, provider), problem in zip(checks, results, strict=True)
        if problem is not None
    ]
    if problems:
        raise ConfigError("credentials refused before sending anything: " + "; ".join(problems))
    log.info("auth.verified", credentials=len(checks))


async def _first_token(provider: RefreshingToken, backoff_s: float) -> str | None:
    for attempt in range(1, VERIFY_ATTEMPTS + 1):
        try:
            await provider.token()
            return None
        except CredentialRejectedError as error:
            return error.message
        except TokenServiceUnavailableError as error:
            if attempt == VERIFY_ATTEMPTS:
                return f"token service unavailable: {error.message}"
            await asyncio.sleep(backoff_s * attempt)
    return None  # not reached: the last attempt returns
