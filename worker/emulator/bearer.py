"""Bearer tokens as the emulator reads them: `emu.<tenant>.<rest>` names its tenant, others are "default".

Tokens issued by the token endpoint (`token_endpoint.py`) are remembered with their expiry in `IssuedTokens`.
"""

from __future__ import annotations

import secrets
import time
from typing import Literal

DEFAULT_TENANT = "default"
EMULATOR_MARK = "emu"


def bearer_token(authorization: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` header; None if absent, empty or another scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def tenant_of(token: str | None) -> str:
    """The tenant a token belongs to: `<tenant>` for `emu.<tenant>.<rest>`, else the default tenant."""
    if token is None:
        return DEFAULT_TENANT
    parts = token.split(".", 2)
    if len(parts) == 3 and parts[0] == EMULATOR_MARK and parts[1]:
        return parts[1]
    return DEFAULT_TENANT


class IssuedTokens:
    """The tokens the emulator's token endpoint issued, each with its tenant and expiry (monotonic seconds)."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}

    def issue(self, tenant: str, lifetime_s: float) -> str:
        """A new token `emu.<tenant>.<random>` valid for `lifetime_s` seconds from now."""
        token = f"{EMULATOR_MARK}.{tenant}.{secrets.token_urlsafe(24)}"
        self._expiry[token] = time.monotonic() + lifetime_s
        return token

    def state(self, token: str) -> Literal["valid", "expired"] | None:
        """ "valid" or "expired" for a token issued here; None for any other token."""
        expires = self._expiry.get(token)
        if expires is None:
            return None
        return "valid" if time.monotonic() < expires else "expired"

    def all(self) -> list[str]:
        """Every token issued so far (tests check that none of them leaked into logs or results)."""
        return list(self._expiry)
