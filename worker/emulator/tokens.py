"""Bearer tokens as the emulator reads them: `emu.<tenant>.<rest>` names its tenant, others are "default"."""

from __future__ import annotations

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
