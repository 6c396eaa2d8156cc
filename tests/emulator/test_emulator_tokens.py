"""How a request's token and tenant are read from its Authorization header."""

from __future__ import annotations

import pytest

from worker.emulator.bearer import DEFAULT_TENANT, bearer_token, tenant_of


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("Bearer  abc ", "abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic abc", None),
    ],
)
def test_bearer_token_is_read_from_the_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    ("token", "tenant"),
    [
        ("emu.contoso.secret", "contoso"),
        ("emu.a.b.c.d", "a"),
        ("emu.a.", "a"),
        ("emu.a", DEFAULT_TENANT),
        ("emu..x", DEFAULT_TENANT),
        ("EMU.a.x", DEFAULT_TENANT),
        ("eyJ0eXAi.payload.sig", DEFAULT_TENANT),
        ("static-token", DEFAULT_TENANT),
        (None, DEFAULT_TENANT),
    ],
)
def test_tenant_comes_from_an_emu_token_else_default(token: str | None, tenant: str) -> None:
    assert tenant_of(token) == tenant
