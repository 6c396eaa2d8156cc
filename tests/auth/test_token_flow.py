"""The client-credentials flow end to end: real msal, the emulator's token endpoint over HTTPS (test CA)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.fake_clock import FakeClock
from tests.polling import eventually, until
from worker.auth.tokens import (
    CredentialRejectedError,
    Credentials,
    RefreshingToken,
    TokenServiceUnavailableError,
    refresh_margin,
    verify_credentials,
)
from worker.emulator.running import RunningEmulator
from worker.emulator.token_endpoint import EXPIRED_MESSAGE
from worker.errors import ConfigError
from worker.jobs import Job
from worker.send.http import GraphClient, new_session

from .conftest import (
    CERT_CLIENT,
    CLIENT,
    SECRET,
    TENANT_A,
    Tls,
    make_source,
    rsa_certificate_pem,
    token_requests,
)


def provider(
    emulator: RunningEmulator, tls: Tls, made: list[RefreshingToken], clock: Any = None, **source: Any
) -> RefreshingToken:
    tokens = RefreshingToken(make_source(emulator, tls, **source), **({} if clock is None else {"clock": clock}))
    made.append(tokens)
    return tokens


async def test_a_client_secret_gets_a_token_for_its_tenant(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    tokens = provider(idp, tls, providers)

    token = await tokens.token()

    assert token.startswith(f"emu.{TENANT_A}.")
    assert token in idp.state.issued.all()
    assert token_requests(idp) == 1


async def test_a_certificate_gets_a_token_with_a_verified_assertion(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken], app_certificate: Any
) -> None:
    tokens = provider(idp, tls, providers, client_id=CERT_CLIENT, credential=app_certificate)

    token = await tokens.token()

    assert token.startswith(f"emu.{TENANT_A}.")


async def test_an_assertion_signed_by_another_key_is_refused(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken], tmp_path: Any
) -> None:
    from worker.auth.client_credentials import load_certificate

    other = tmp_path / "other.pem"
    other.write_bytes(rsa_certificate_pem("not the registered one"))
    tokens = provider(idp, tls, providers, client_id=CERT_CLIENT, credential=load_certificate(other, "test"))

    with pytest.raises(CredentialRejectedError, match="AADSTS700027"):
        await tokens.token()


async def test_an_assertion_whose_signature_does_not_match_the_certificate_is_refused(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken], app_certificate: Any, tmp_path: Any
) -> None:
    from worker.auth.client_credentials import ClientCertificate, load_certificate

    other = tmp_path / "other.pem"
    other.write_bytes(rsa_certificate_pem("impostor"))
    impostor = ClientCertificate(  # the registered certificate, but signed with another key
        private_key_pem=load_certificate(other, "test").private_key_pem,
        certificate_pem=app_certificate.certificate_pem,
        sha256_thumbprint=app_certificate.sha256_thumbprint,
    )
    tokens = provider(idp, tls, providers, client_id=CERT_CLIENT, credential=impostor)

    with pytest.raises(CredentialRejectedError, match="AADSTS700027"):
        await tokens.token()
    assert idp.state.issued.all() == []


async def test_the_token_is_cached_many_calls_one_request(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    tokens = provider(idp, tls, providers)

    first = [await tokens.token() for _ in range(20)]
    concurrent = await asyncio.gather(*(tokens.token() for _ in range(50)))

    assert len({*first, *concurrent}) == 1
    assert token_requests(idp) == 1


async def test_renewed_in_the_background_before_it_expires(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    clock = FakeClock()
    tokens = provider(idp, tls, providers, clock=clock)
    old = await tokens.token()
    lifetime = idp.config.token_lifetime_s

    clock.advance(lifetime - refresh_margin(lifetime) + 1)  # due, not expired
    still = await asyncio.gather(*(tokens.token() for _ in range(10)))  # nobody waits for the renewal

    async def renewed() -> bool:  # the background fetch finished
        return token_requests(idp) == 2 and (await tokens.token()) != old

    await until(renewed, "the token renewed in the background", timeout=2)

    assert still == [old] * 10
    assert await tokens.token() != old
    assert token_requests(idp) == 2


async def test_fifty_callers_at_expiry_cause_one_token_request(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    clock = FakeClock()
    tokens = provider(idp, tls, providers, clock=clock)
    old = await tokens.token()

    clock.advance(idp.config.token_lifetime_s + 1)  # expired: every caller must wait for a new one
    got = await asyncio.gather(*(tokens.token() for _ in range(50)))

    assert len(set(got)) == 1
    assert got[0] != old
    assert token_requests(idp) == 2
    assert tokens.fetches == 2


async def test_a_401_forces_one_refresh_shared_by_every_caller(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    tokens = provider(idp, tls, providers)
    refused = await tokens.token()

    fresh = await asyncio.gather(*(tokens.refresh(refused) for _ in range(30)))
    again = await tokens.refresh(refused)  # a late 401 for the old token: the new one, no request

    assert len(set(fresh)) == 1
    assert fresh[0] != refused
    assert again == fresh[0]
    assert token_requests(idp) == 2


async def test_graph_answers_401_to_an_expired_token_and_the_client_recovers(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken], seed_job: Job
) -> None:
    idp.configure(token_lifetime_s=0.3)
    clock = FakeClock()  # the worker's clock stands still: it believes its token is still good
    tokens = provider(idp, tls, providers, clock=clock)
    credentials = Credentials(tokens)
    issued = await tokens.token()
    await eventually(lambda: idp.state.issued.state(issued) == "expired", "the emulator expired the token")

    async with new_session(max_connections=4, connect_timeout_s=5, read_timeout_s=5, ca_bundle=tls.ca_path) as s:
        answer = await GraphClient(s, idp.base_url, credentials).patch(seed_job)

    assert answer.status == 200
    refused = idp.requests(status=401)
    assert len(refused) == 1
    assert token_requests(idp) == 2


async def test_graph_refuses_an_expired_token_with_graphs_error(idp: RunningEmulator, tls: Tls) -> None:
    idp.configure(token_lifetime_s=0.2)
    token = idp.state.issued.issue(TENANT_A, -1.0)  # expired a second ago
    async with (
        aiohttp.ClientSession() as session,
        session.patch(
            idp.base_url + "/auditLogs/provisioning",
            json={"id": "x"},
            headers={"Authorization": f"Bearer {token}"},
            ssl=_client_context(tls),
        ) as response,
    ):
        body = await response.json()

    assert response.status == 401
    assert body["error"]["code"] == "InvalidAuthenticationToken"
    assert body["error"]["message"] == EXPIRED_MESSAGE


async def test_with_registered_apps_graph_takes_only_issued_tokens(idp: RunningEmulator, tls: Tls) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.patch(
            idp.base_url + "/auditLogs/provisioning",
            json={"id": "x"},
            headers={"Authorization": f"Bearer emu.{TENANT_A}.made-up"},
            ssl=_client_context(tls),
        ) as response,
    ):
        assert response.status == 401


def _client_context(tls: Tls) -> Any:
    import ssl

    return ssl.create_default_context(cafile=str(tls.ca_path))


async def test_a_wrong_secret_is_refused_with_its_aad_code_and_never_shown(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    wrong = "wrong-" + SECRET
    tokens = provider(idp, tls, providers, credential=wrong)

    with pytest.raises(CredentialRejectedError) as caught:
        await tokens.token()

    assert "AADSTS7000215" in caught.value.message
    assert caught.value.code == "invalid_client"
    assert wrong not in caught.value.message
    assert SECRET not in caught.value.message


async def test_an_unknown_tenant_is_refused_at_discovery(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    tokens = provider(idp, tls, providers, tenant="no-such-tenant")

    with pytest.raises(CredentialRejectedError) as caught:
        await tokens.token()

    assert "AADSTS90002" in caught.value.message
    assert "no-such-tenant" in caught.value.message


async def test_the_token_endpoint_refuses_an_unknown_tenant_too(idp: RunningEmulator, tls: Tls) -> None:
    form = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET, "scope": "x/.default"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(idp.url + "/nowhere/oauth2/v2.0/token", data=form, ssl=_client_context(tls)) as response,
    ):
        body = await response.json()

    assert response.status == 400
    assert body["error"] == "invalid_request"
    assert body["error_description"].startswith("AADSTS90002: Tenant 'nowhere' not found")
    assert idp.stats()["token_requests"] == {"nowhere": 1}


async def test_verify_names_each_refused_credential(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    good = provider(idp, tls, providers)
    wrong = provider(idp, tls, providers, credential="Wr0ng~secret-value")
    unknown = provider(idp, tls, providers, tenant="no-such-tenant")
    credentials = Credentials(good, {"contoso": wrong, "fabrikam": unknown})

    with pytest.raises(ConfigError) as caught:
        await verify_credentials(credentials)

    message = str(caught.value)
    assert "tenant 'contoso'" in message
    assert "AADSTS7000215" in message
    assert "tenant 'fabrikam'" in message
    assert "AADSTS90002" in message
    assert "the default credentials" not in message  # that one was fine
    assert "Wr0ng~secret-value" not in message


async def test_verify_passes_and_the_token_is_reused_by_the_run(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    tokens = provider(idp, tls, providers)

    await verify_credentials(Credentials(tokens, {"a": tokens, "b": tokens}))
    await tokens.token()

    assert token_requests(idp) == 1


async def test_an_unreachable_token_service_is_retried_then_reported(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    source = make_source(idp, tls)
    await idp.close()  # nobody listens any more
    tokens = RefreshingToken(source, failure_cooldown_s=0)
    providers.append(tokens)

    with pytest.raises(TokenServiceUnavailableError):
        await tokens.token()
    with pytest.raises(ConfigError, match="token service unavailable"):
        await verify_credentials(Credentials(tokens), backoff_s=0.01)
    assert tokens.fetches == 4  # one above, then three attempts


async def test_failures_are_not_asked_again_within_the_cooldown(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    tokens = provider(idp, tls, providers, credential="wrong")

    results = await asyncio.gather(*(tokens.token() for _ in range(20)), return_exceptions=True)
    with pytest.raises(CredentialRejectedError):
        await tokens.token()

    assert all(isinstance(result, CredentialRejectedError) for result in results)
    assert token_requests(idp) == 1


@pytest.fixture
def seed_job() -> Job:
    from worker.validate.parse import parse_line

    job = parse_line(b'{"jobId": "j", "action": "update"}', 1, default_tenant="default")
    assert isinstance(job, Job), job
    return job


async def test_the_configured_ca_wins_over_requests_ca_bundle(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)  # not the test CA
    monkeypatch.setenv("CURL_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)

    assert (await provider(idp, tls, providers).token()).startswith("emu.")


async def test_without_the_ca_the_emulator_certificate_is_refused(
    idp: RunningEmulator, tls: Tls, providers: list[RefreshingToken]
) -> None:
    from worker.auth.client_credentials import MsalClientCredentials

    source = MsalClientCredentials(
        tenant_id=TENANT_A, client_id=CLIENT, credential=SECRET, authority_host=idp.url, scope="x/.default"
    )
    tokens = RefreshingToken(source)
    providers.append(tokens)

    with pytest.raises(TokenServiceUnavailableError, match="SSLError"):
        await tokens.token()
