"""Settings -> credentials: which provider each lane gets, clouds, and clear errors for bad configurations."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from worker.auth.client_credentials import MsalClientCredentials, load_certificate
from worker.auth.clouds import CLOUDS, graph_base_url
from worker.auth.setup import build_credentials, effective_base_url
from worker.auth.tokens import RefreshingToken, StaticToken
from worker.cli.flag_settings import overrides as flag_overrides
from worker.errors import ConfigError
from worker.settings import Settings, load_settings

from .conftest import CLIENT, SECRET, rsa_certificate_pem

APP = {"tenant_id": "dir-1", "client_id": CLIENT, "client_secret": SECRET}


def settings(**sections: Any) -> Settings:
    return load_settings(None, sections)


def source_of(provider: object) -> MsalClientCredentials:
    assert isinstance(provider, RefreshingToken)
    source = provider.source
    assert isinstance(source, MsalClientCredentials)
    return source


@pytest.mark.parametrize(
    ("cloud", "authority", "scope", "base_url"),
    [
        (
            "global",
            "https://login.microsoftonline.com/dir-1",
            "https://graph.microsoft.com/.default",
            "https://graph.microsoft.com/beta",
        ),
        (
            "usgov",
            "https://login.microsoftonline.us/dir-1",
            "https://graph.microsoft.us/.default",
            "https://graph.microsoft.us/beta",
        ),
        (
            "usgov-dod",
            "https://login.microsoftonline.us/dir-1",
            "https://dod-graph.microsoft.us/.default",
            "https://dod-graph.microsoft.us/beta",
        ),
        (
            "china",
            "https://login.chinacloudapi.cn/dir-1",
            "https://microsoftgraph.chinacloudapi.cn/.default",
            "https://microsoftgraph.chinacloudapi.cn/beta",
        ),
    ],
)
def test_a_cloud_picks_the_login_host_and_graph_as_a_pair(
    cloud: str, authority: str, scope: str, base_url: str
) -> None:
    chosen = settings(auth={**APP, "cloud": cloud})
    source = source_of(build_credentials(chosen).for_tenant("default"))

    assert (source.authority, source.scope) == (authority, scope)
    assert effective_base_url(chosen) == base_url


def test_an_explicit_base_url_and_authority_host_win() -> None:
    chosen = settings(
        auth={**APP, "cloud": "usgov", "authority_host": "https://127.0.0.1:8443/"},
        graph={"base_url": "https://127.0.0.1:8443/beta"},
    )
    source = source_of(build_credentials(chosen).for_tenant("default"))

    assert source.authority == "https://127.0.0.1:8443/dir-1"
    assert source.scope == "https://graph.microsoft.us/.default"  # the token is still for the cloud's Graph
    assert effective_base_url(chosen) == "https://127.0.0.1:8443/beta"


def test_the_path_of_the_global_base_url_is_kept_in_another_cloud() -> None:
    assert graph_base_url("https://graph.microsoft.com/v1.0", CLOUDS["china"]) == (
        "https://microsoftgraph.chinacloudapi.cn/v1.0"
    )


def test_a_base_url_in_another_cloud_than_auth_cloud_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"usgov cloud's Graph but auth\.cloud is global"):
        graph_base_url("https://graph.microsoft.us/beta", CLOUDS["global"])


def test_an_http_authority_host_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"auth\.authority_host"):
        settings(auth={"authority_host": "http://127.0.0.1:8080"})


def test_azure_environment_variables_become_auth_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_TENANT_ID", "dir-env")
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", "")  # empty: not set
    monkeypatch.delenv("GRAPH_TOKEN", raising=False)

    overrides = flag_overrides(argparse.Namespace())

    assert overrides == {"auth": {"tenant_id": "dir-env", "client_id": CLIENT, "client_secret": SECRET}}
    loaded = load_settings(None, overrides)
    assert loaded.auth.client_secret is not None
    assert loaded.auth.client_secret.get_secret_value() == SECRET
    assert SECRET not in repr(loaded)
    assert SECRET not in str(loaded.model_dump())


def test_the_static_token_still_works() -> None:
    credentials = build_credentials(settings(auth={"token": "static"}))

    assert isinstance(credentials.for_tenant("anything"), StaticToken)


def test_a_static_token_and_client_credentials_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="unset one of them"):
        build_credentials(settings(auth={**APP, "token": "static"}))


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({"client_id": CLIENT, "client_secret": SECRET}, r"auth\.tenant_id \(AZURE_TENANT_ID\) is required"),
        ({"tenant_id": "dir-1", "client_secret": SECRET}, r"auth\.client_id \(AZURE_CLIENT_ID\) is required"),
        ({"tenant_id": "dir-1", "client_id": CLIENT}, "no credentials"),
    ],
)
def test_incomplete_client_credentials_are_named(auth: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        build_credentials(settings(auth=auth))
    assert SECRET not in str(caught.value)


def test_each_tenant_gets_its_own_provider_with_inherited_client(tmp_path: Path) -> None:
    cert = tmp_path / "b.pem"
    cert.write_bytes(rsa_certificate_pem())
    credentials = build_credentials(
        settings(
            auth=APP,
            tenants={
                "a": {"tenant_id": "dir-a"},  # the top-level app, in another directory
                "b": {"tenant_id": "dir-b", "client_id": "client-b", "client_certificate_path": str(cert)},
                "c": {"rate": 2},  # no credentials of its own: the default provider
                "d": {"tenant_id": "dir-1"},  # same directory and app as the default: the same provider
                "e": {"token": "static-e"},
            },
        )
    )
    default = credentials.for_tenant("default")
    a, b = source_of(credentials.for_tenant("a")), source_of(credentials.for_tenant("b"))

    assert source_of(default).authority.endswith("/dir-1")
    assert (a.authority, a.description) == (
        "https://login.microsoftonline.com/dir-a",
        f"directory 'dir-a', client {CLIENT!r}",
    )
    assert (b.authority, b.description) == (
        "https://login.microsoftonline.com/dir-b",
        "directory 'dir-b', client 'client-b'",
    )
    assert credentials.for_tenant("c") is default
    assert credentials.for_tenant("d") is default
    assert isinstance(credentials.for_tenant("e"), StaticToken)
    assert [name for name, _ in credentials.named()] == [
        "the default credentials",
        "tenant 'a'",
        "tenant 'b'",
        "tenant 'e'",
    ]


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        ({"client_secret": SECRET}, r"tenants\.x\.tenant_id is required"),
        ({"token": "t", "tenant_id": "dir"}, "either token or tenant_id"),
        ({"tenant_id": "dir", "client_secret": SECRET, "client_certificate_path": "/x.pem"}, "not both"),
    ],
)
def test_bad_tenant_entries_are_named(tenant: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        build_credentials(settings(auth=APP, tenants={"x": tenant}))
    assert SECRET not in str(caught.value)


def test_a_tenant_without_any_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"tenants\.x: client credentials need a secret"):
        build_credentials(settings(tenants={"x": {"tenant_id": "dir", "client_id": CLIENT}}))


def test_the_certificate_file_is_checked_at_start(tmp_path: Path) -> None:
    import trustme

    missing = tmp_path / "missing.pem"
    no_key = tmp_path / "no-key.pem"
    no_key.write_bytes(rsa_certificate_pem().split(b"-----END RSA PRIVATE KEY-----\n")[1])
    ec = tmp_path / "ec.pem"
    ec.write_bytes(trustme.CA().issue_cert("x").private_key_and_cert_chain_pem.bytes())
    mismatched = tmp_path / "mismatched.pem"
    mismatched.write_bytes(
        rsa_certificate_pem().split(b"-----BEGIN CERTIFICATE-----")[0]
        + b"-----BEGIN CERTIFICATE-----"
        + rsa_certificate_pem().split(b"-----BEGIN CERTIFICATE-----")[1]
    )

    for path, reason in [
        (missing, "cannot read"),
        (no_key, "no readable private key"),
        (ec, "RSA certificates only"),
        (mismatched, "does not belong"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            load_certificate(path, "auth.client_certificate_path")


def test_a_certificate_file_gives_msal_its_key_and_certificate(tmp_path: Path) -> None:
    path = tmp_path / "app.pem"
    path.write_bytes(rsa_certificate_pem())

    certificate = load_certificate(path, "x")

    assert "PRIVATE KEY" in certificate.private_key_pem
    assert certificate.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert len(certificate.sha256_thumbprint) == 64
    assert "PRIVATE" not in repr(certificate)


def test_a_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"graph\.ca_bundle"):
        settings(graph={"ca_bundle": str(tmp_path / "nope.pem")})
