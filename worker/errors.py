"""The exception tree of patch-worker. One root; retryable failures apart from permanent ones.

    PatchWorkerError
    ├── ConfigError                 bad flags, config file or environment: exit code 2
    ├── InputError                  the input cannot be opened or read at all: exit code 2
    ├── OutputError                 the results file or state directory cannot be written: exit code 2
    ├── SendError                   one attempt to send a job did not succeed: status, Graph's code, detail
    │   ├── RetryableError          worth another attempt, after `retry_after` seconds if the server said so
    │   │   ├── ThrottledError      429, or 503 with Retry-After: the lane slows down
    │   │   ├── ServerError         500, 502, 503, 504
    │   │   │   └── MalformedResponseError  an answer that is not what Graph sends (a $batch item's status `true`)
    │   │   └── TransportError      connection refused/reset, server disconnected, timeout
    │   ├── PermanentError          any other 4xx: final, with Graph's error code and message
    │   │   ├── AuthError           401/403 (a 401 gets one token refresh and one more try first)
    │   │   └── RedirectError       3xx: never followed (Graph does not redirect a PATCH), named by its host
    │   └── NotSentError            not sent at all: a systemic failure halted the lane (`worker.send.systemic`)
    ├── TokenFetchError             the token service refused or failed (`worker.auth.tokens`; becomes a SendError)
    ├── SubmitError                 `patch-worker submit` could not hand its file to the service
    └── service-internal            UploadTooLargeError, UploadStalledError, ApiError, BatchConflictError,
                                    StoreUnavailableError: each an HTTP error answer of the API (`worker.service`)

A job's final result is built from the last SendError it saw (see `worker.send.retry`). A SendError's message
and detail are scrubbed of secrets and cut to a few KB when it is made (see `worker.redact`).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from worker.redact import cap_text, safe_detail, safe_message, scrub

MAX_CODE_CHARS = 128  # Graph's codes are short words; a server's kilobyte of "code" is not one

#: bind() failures that are the user's to fix (another process has the port, or it is privileged)
_BIND_ERRNOS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})


class PatchWorkerError(Exception):
    """Root of every error patch-worker raises on purpose."""


class ConfigError(PatchWorkerError):
    """Flags, config file or environment are wrong; the message says which key and why."""


class InputError(PatchWorkerError):
    """The input file cannot be opened or read."""


class OutputError(PatchWorkerError):
    """Results or state cannot be written: stopping is better than silently losing results."""


class SendError(PatchWorkerError):
    """One attempt failed. `status` is the HTTP status (None for transport failures)."""

    kind: str = "send_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: object = None,
        retry_after: float | None = None,
    ) -> None:
        message = safe_message(message)  # servers echo requests back: no token, no 50 MB body in a result
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = None if code is None else cap_text(scrub(code), MAX_CODE_CHARS)
        self.detail = safe_detail(detail)
        self.retry_after = retry_after

    @property
    def error_kind(self) -> str:
        """Graph's error code when the server sent one, else our own kind."""
        return self.code or self.kind


class RetryableError(SendError):
    """Another attempt may succeed."""

    kind = "retryable"


class ThrottledError(RetryableError):
    """The server asked us to slow down (429, or 503 with Retry-After).

    `scope`: whom the refusing limit counts, when Graph said (x-ms-throttle-scope, identity and access):
    "Application" (the app across tenants), "Tenant_Application" or "Tenant" (this tenant); else None.
    """

    kind = "throttled"
    scope: str | None = None


class ServerError(RetryableError):
    """A 5xx answer."""

    kind = "server_error"


class MalformedResponseError(ServerError):
    """An answer that breaks Graph's contract (a $batch item without a valid status or headers)."""

    kind = "malformed_response"


class TransportError(RetryableError):
    """No HTTP answer: connection refused or reset, server disconnected, timeout."""

    kind = "transport_error"


class PermanentError(SendError):
    """The server refused the request for good (4xx other than 429)."""

    kind = "http_error"


class AuthError(PermanentError):
    """401 or 403."""

    kind = "auth_error"


class RedirectError(PermanentError):
    """A 3xx: the request is not sent anywhere else (not even on the same host: only approved routes)."""

    kind = "redirect"


class NotSentError(SendError):
    """The attempt was not made: a systemic failure (bad credentials, no permission, no host) halted its lane."""

    kind = "not_sent"


@contextmanager
def listening(host: str, port: int) -> Iterator[None]:
    """Turn a failed bind into a one-line ConfigError naming the address (exit 2, not an OSError traceback)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _BIND_ERRNOS:
            raise
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise ConfigError(f"cannot listen on {host}:{port}: {reason} (pick another with --port)") from None
