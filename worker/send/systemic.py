"""What makes a failure systemic: when a lane (tenant) or the whole run cannot succeed.

Some failures are not a job's fault and would repeat for every job, each paid with a request (or, for a
host that is not there, with minutes of retries). `SystemicDetector` sees every attempt and names them:

- unauthorized: a 401 that one token refresh did not cure (the clients renew the token once; a static token
  cannot be renewed, so its first 401 counts), or the token service refusing the credentials mid-run.
- forbidden: `FORBIDDEN_AFTER` answers 403 in a lane (a tenant in a throttling scope) that has had no other
  answer (the app lacks a permission in that tenant). A 403 in a lane where requests succeed is one
  resource's problem, not the lane's. Counted per scope, not per tenant: permissions are per resource
  (User.ReadWrite.All is not AuditLog.Read.All), so users refused everything halt only the tenant's
  directory lane while its provisioning updates go on; and provisioning successes do not hide a missing
  user permission (10,000 users each answered 403).
- A 401 halts the tenant in every scope (its token is one for all of them); an unreachable host halts all.
- unreachable: `UNREACHABLE_AFTER` attempts that found no server (DNS failure, connection refused, TLS or
  certificate error: aiohttp's `ClientConnectorError` family) before the host gave any HTTP answer. A
  connection lost after the host has answered is an ordinary retry.

What then happens (no more requests, `not_sent` results, exit 2) is `worker.send.halt`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import aiohttp

from worker.auth.tokens import CredentialRejectedError
from worker.errors import AuthError, PermanentError, SendError, TransportError
from worker.jobs import DEFAULT_SCOPE, LaneKey

FORBIDDEN_AFTER = 5
#: Attempts that found no server, before any HTTP answer, that make an unreachable host certain enough.
UNREACHABLE_AFTER = 3

Cause = Literal["unauthorized", "forbidden", "unreachable"]


@dataclass(frozen=True, slots=True)
class SystemicFailure:
    """Why a tenant's lanes (`tenant`; only its `scope` lane when set), or every lane (`tenant` None: the
    host), cannot succeed. Never holds a token."""

    cause: Cause
    message: str
    tenant: str | None
    scope: str | None = None


def host_of(base_url: str) -> str:
    """The host (and port) of a base URL, as messages name it (no user info, no path)."""
    netloc = urlsplit(base_url).netloc
    return netloc.rsplit("@", 1)[-1] or base_url


class SystemicDetector:
    """Counts what attempts say about their lane and host; names the failure once one is certain."""

    def __init__(
        self, host: str, *, forbidden_after: int = FORBIDDEN_AFTER, unreachable_after: int = UNREACHABLE_AFTER
    ) -> None:
        self.host = host
        self._forbidden_after = forbidden_after
        self._unreachable_after = unreachable_after
        self.reset()

    def reset(self) -> None:
        """Forget everything seen (the service does, when a new batch starts and tries again)."""
        self._answered = False  # the host gave some HTTP answer
        self._unreachable = 0
        self._permitted: set[LaneKey] = set()  # lanes with an answer other than 401/403
        self._forbidden: Counter[LaneKey] = Counter()

    def observe(self, tenant: str, error: SendError | None, scope: str = DEFAULT_SCOPE) -> SystemicFailure | None:
        """Take one attempt's outcome (None: it succeeded); the failure it makes certain, if any."""
        if error is None:
            self._answered = True
            self._permitted.add((tenant, scope))
            return None
        if error.status is not None:
            self._answered = True
        if isinstance(error, AuthError):
            return self._refused(tenant, scope, error)
        if isinstance(error, PermanentError):
            self._permitted.add((tenant, scope))  # Graph checks permissions first: a 400 or 404 means it had them
        elif isinstance(error, TransportError) and _no_server(error) and not self._answered:
            return self._unanswered(error)
        return None

    def _refused(self, tenant: str, scope: str, error: AuthError) -> SystemicFailure | None:
        if isinstance(error, CredentialRejectedError):
            return SystemicFailure(
                "unauthorized",
                f"tenant {tenant!r}: the token service refused its credentials ({error.message})",
                tenant,
            )
        if error.status == 401:
            return SystemicFailure(
                "unauthorized",
                f"tenant {tenant!r}: Graph refused its token (HTTP 401 {_said(error)}) and no new token cured it; "
                "check GRAPH_TOKEN or the app credentials",
                tenant,
            )
        lane = (tenant, scope)
        if error.status != 403 or lane in self._permitted:
            return None
        self._forbidden[lane] += 1
        count = self._forbidden[lane]
        if count < self._forbidden_after:
            return None
        return SystemicFailure(
            "forbidden",
            f"tenant {tenant!r}, scope {scope!r}: Graph answered 403 to all {count} requests so far "
            f"(HTTP 403 {_said(error)}): the app lacks a permission in this tenant; grant it (admin consent)",
            tenant,
            scope,
        )

    def _unanswered(self, error: TransportError) -> SystemicFailure | None:
        self._unreachable += 1
        if self._unreachable < self._unreachable_after:
            return None
        return SystemicFailure(
            "unreachable",
            f"cannot reach {self.host}: {self._unreachable} attempts found no server and none was answered "
            f"({error.message}); check the base URL, DNS, the network and TLS (graph.ca_bundle)",
            None,
        )


def _no_server(error: TransportError) -> bool:
    """DNS, refused, TLS: aiohttp's ClientConnectorError family (a reset or a timeout is not one)."""
    return isinstance(error.__cause__, aiohttp.ClientConnectorError)


def _said(error: SendError) -> str:
    return f"{error.code}: {error.message}" if error.code else error.message
