"""The emulator's token endpoint and discovery document, spoken to directly over HTTP(S)."""

from __future__ import annotations

import argparse
import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import REPO
from worker.emulator import EmulatorConfig, add_emulator_arguments, config_from_args
from worker.emulator.config import SettingError
from worker.emulator.flags import ssl_context_from_args
from worker.emulator.running import RunningEmulator, start_emulator

from .conftest import CLIENT, SECRET, TENANT_A, Tls

FORM = {"grant_type": "client_credentials", "client_id": "any-app", "client_secret": "any", "scope": "x/.default"}


@pytest.fixture
async def open_idp() -> AsyncIterator[RunningEmulator]:
    """No registered apps: any client and secret get a token (plain HTTP is fine for raw requests)."""
    async with await start_emulator(EmulatorConfig(token_lifetime_s=2)) as running:
        yield running


async def _post(url: str, form: dict[str, str], ssl_context: Any = None) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(url, data=form, ssl=ssl_context) as response:
        return response.status, await response.json()


async def test_any_app_gets_a_token_when_none_is_registered(open_idp: RunningEmulator) -> None:
    status, body = await _post(open_idp.url + "/contoso/oauth2/v2.0/token", FORM)

    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 2
    assert body["access_token"].startswith("emu.contoso.")
    assert open_idp.stats()["token_requests"] == {"contoso": 1}
    assert open_idp.stats()["total"] == 0  # token requests are not PATCHes


@pytest.mark.parametrize(
    ("change", "status", "error", "code"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type", "AADSTS70003"),
        ({"scope": "https://graph.microsoft.com/User.Read"}, 400, "invalid_scope", "AADSTS1002012"),
        ({"client_secret": ""}, 401, "invalid_client", "AADSTS7000218"),
        ({"client_id": ""}, 400, "invalid_request", "AADSTS900144"),
        (
            {
                "client_secret": "",
                "client_assertion": "not-a-jwt",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            },
            400,
            "invalid_client",
            "AADSTS50027",
        ),
    ],
)
async def test_malformed_token_requests_get_entra_errors(
    open_idp: RunningEmulator, change: dict[str, str], status: int, error: str, code: str
) -> None:
    form = {key: value for key, value in {**FORM, **change}.items() if value}

    got, body = await _post(open_idp.url + "/contoso/oauth2/v2.0/token", form)

    assert (got, body["error"]) == (status, error)
    assert body["error_description"].startswith(code + ": ")
    assert body["error_codes"] == [int(code.removeprefix("AADSTS"))]


async def test_discovery_names_the_token_endpoint(idp: RunningEmulator, tls: Tls) -> None:
    context = ssl.create_default_context(cafile=str(tls.ca_path))
    async with (
        aiohttp.ClientSession() as session,
        session.get(idp.url + f"/{TENANT_A}/v2.0/.well-known/openid-configuration", ssl=context) as response,
    ):
        document = await response.json()
    async with (
        aiohttp.ClientSession() as session,
        session.get(idp.url + "/nowhere/v2.0/.well-known/openid-configuration", ssl=context) as unknown,
    ):
        refused = await unknown.json()

    assert document["token_endpoint"] == f"{idp.url}/{TENANT_A}/oauth2/v2.0/token"
    assert document["issuer"] == f"{idp.url}/{TENANT_A}/v2.0"
    assert unknown.status == 400
    assert refused["error"] == "invalid_tenant"
    assert "AADSTS90002" in refused["error_description"]


async def test_registered_apps_unknown_client_and_wrong_secret(idp: RunningEmulator, tls: Tls) -> None:
    context = ssl.create_default_context(cafile=str(tls.ca_path))
    url = idp.url + f"/{TENANT_A}/oauth2/v2.0/token"

    unknown = await _post(url, FORM, context)
    wrong = await _post(url, {**FORM, "client_id": CLIENT, "client_secret": "nope"}, context)
    right = await _post(url, {**FORM, "client_id": CLIENT, "client_secret": SECRET}, context)

    assert (unknown[0], unknown[1]["error"]) == (400, "unauthorized_client")
    assert "AADSTS700016" in unknown[1]["error_description"]
    assert (wrong[0], wrong[1]["error"]) == (401, "invalid_client")
    assert wrong[1]["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert right[0] == 200
    assert idp.stats()["token_requests"] == {TENANT_A: 3}


async def test_a_reset_clears_counts_but_issued_tokens_stay_valid(open_idp: RunningEmulator) -> None:
    _, body = await _post(open_idp.url + "/contoso/oauth2/v2.0/token", FORM)
    open_idp.reset()

    assert open_idp.stats()["token_requests"] == {}
    assert open_idp.state.issued.state(body["access_token"]) == "valid"


def test_the_config_never_serves_secrets() -> None:
    config = EmulatorConfig(clients={"app": "s3cret"}, known_tenants={"b", "a"})

    served = config.to_dict()

    assert served["clients"] == ["app"]
    assert served["known_tenants"] == ["a", "b"]
    assert "s3cret" not in str(served)


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("token_lifetime_s", 0),
        ("clients", ["app"]),
        ("clients", {"app": ""}),
        ("client_certificates", {"app": "not a certificate"}),
        ("known_tenants", "contoso"),
    ],
)
def test_bad_token_knobs_are_refused(knob: str, value: Any) -> None:
    with pytest.raises(SettingError, match=knob):
        EmulatorConfig(**{knob: value})


def test_flags_build_the_token_knobs_and_tls(tls: Tls, tmp_path: Any) -> None:
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    parser = argparse.ArgumentParser()
    add_emulator_arguments(parser)
    tls_flags = ["--tls-cert", str(cert), "--tls-key", str(key)]
    ns = parser.parse_args(
        ["--token-lifetime-s", "3", "--client", "app=s3cret", "--known-tenant", "contoso", *tls_flags]
    )

    config = config_from_args(ns)

    assert (config.token_lifetime_s, config.clients, config.known_tenants) == (3.0, {"app": "s3cret"}, {"contoso"})
    assert isinstance(ssl_context_from_args(ns), ssl.SSLContext)
    assert ssl_context_from_args(parser.parse_args([])) is None


async def test_the_emulator_process_serves_https(tls: Tls, tmp_path: Any) -> None:
    import sys

    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_path = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_path))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker.emulator",
        "--port",
        "0",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("emulator listening on https://127.0.0.1:")
        root = line.split()[-1].removesuffix("/beta")
        status, body = await _post(root + "/t/oauth2/v2.0/token", FORM, ssl.create_default_context(cafile=str(ca_path)))
        assert status == 200
        assert body["access_token"].startswith("emu.t.")
    finally:
        proc.terminate()
        await proc.wait()
