"""Fixtures for authentication tests: a throwaway CA (trustme), the emulator over HTTPS with registered apps,
an RSA client certificate, and providers built on the real msal against that emulator."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from worker.auth.client_credentials import ClientCertificate, MsalClientCredentials, load_certificate
from worker.auth.tokens import RefreshingToken
from worker.emulator.config import EmulatorConfig
from worker.emulator.running import RunningEmulator, start_emulator

TENANT_A = "tenant-a-0000"
TENANT_B = "tenant-b-0000"
CLIENT = "11111111-aaaa-4aaa-8aaa-000000000001"
SECRET = "s3cret~Q8x.value-never-logged"
CLIENT_B = "22222222-bbbb-4bbb-8bbb-000000000002"
SECRET_B = "other-s3cret~value-never-logged"
CERT_CLIENT = "33333333-cccc-4ccc-8ccc-000000000003"
SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True)
class Tls:
    """A throwaway CA, its PEM file (for graph.ca_bundle) and a server context for 127.0.0.1/localhost."""

    ca_path: Path
    server_context: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca_path = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return Tls(ca_path, server_context)


def rsa_certificate_pem(common_name: str = "patch-worker test app") -> bytes:
    """A self-signed RSA certificate with its private key, as one PEM file's bytes (key first)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return key_pem + certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def app_certificate_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("app-cert") / "app.pem"
    path.write_bytes(rsa_certificate_pem())
    return path


@pytest.fixture(scope="session")
def app_certificate(app_certificate_path: Path) -> ClientCertificate:
    return load_certificate(app_certificate_path, "test")


def idp_config(app_certificate: ClientCertificate, **changes: object) -> EmulatorConfig:
    """Registered apps (two with secrets, one with a certificate) in two known tenants."""
    config = EmulatorConfig(
        clients={CLIENT: SECRET, CLIENT_B: SECRET_B},
        client_certificates={CERT_CLIENT: app_certificate.certificate_pem},
        known_tenants=frozenset({TENANT_A, TENANT_B}),
        seed=1,
    )
    config.update(changes)
    return config


@pytest.fixture
async def idp(tls: Tls, app_certificate: ClientCertificate) -> AsyncIterator[RunningEmulator]:
    """The emulator over HTTPS: Graph and the token endpoint, with registered apps and known tenants."""
    async with await start_emulator(idp_config(app_certificate), ssl_context=tls.server_context) as running:
        yield running


def token_requests(emulator: RunningEmulator, tenant: str = TENANT_A) -> int:
    """Token requests the emulator answered for `tenant`."""
    counts: dict[str, int] = emulator.stats()["token_requests"]
    return counts.get(tenant, 0)


@pytest.fixture
def providers(tls: Tls) -> Iterator[list[RefreshingToken]]:
    """Providers made by `make_provider` are closed after the test."""
    made: list[RefreshingToken] = []
    yield made
    for provider in made:
        provider.source.close()


def make_source(
    emulator: RunningEmulator,
    tls: Tls,
    *,
    tenant: str = TENANT_A,
    client_id: str = CLIENT,
    credential: str | ClientCertificate = SECRET,
    scope: str = SCOPE,
) -> MsalClientCredentials:
    """A real msal client-credentials source pointed at the emulator (trusting the test CA only)."""
    return MsalClientCredentials(
        tenant_id=tenant,
        client_id=client_id,
        credential=credential,
        authority_host=emulator.url,
        scope=scope,
        ca_bundle=tls.ca_path,
    )
