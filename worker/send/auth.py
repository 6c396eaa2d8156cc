"""Where bearer tokens come from. The token is a secret: it is never logged and never put in a result."""

from __future__ import annotations

from typing import Protocol


class TokenProvider(Protocol):
    """Gives the current bearer token; `refresh` is called after a 401 with the token that was refused."""

    async def token(self) -> str:
        """The token to send now."""
        ...

    async def refresh(self, refused: str) -> str | None:
        """A new token, or None when this provider cannot get one (a static token)."""
        ...


class StaticToken:
    """A fixed token (GRAPH_TOKEN): cannot be refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken([redacted])"

    async def token(self) -> str:
        """The fixed token."""
        return self._token

    async def refresh(self, refused: str) -> str | None:
        """Static tokens cannot be refreshed."""
        return None


class Credentials:
    """The token provider of each tenant: its own when configured, else the default one."""

    def __init__(self, default: TokenProvider | None, tenants: dict[str, TokenProvider] | None = None) -> None:
        self._default = default
        self._tenants = tenants or {}

    def for_tenant(self, tenant: str) -> TokenProvider | None:
        """The provider for `tenant`, or None when it has no credentials."""
        return self._tenants.get(tenant, self._default)
