"""The OAuth2 client-credentials flow through msal (Microsoft's authentication library for Python).

Why msal and not azure-identity: azure-identity's ClientSecretCredential/CertificateCredential are msal
underneath plus azure-core's pipeline, retry policy and transport (and their dependencies). We need exactly
one call — a client-credentials token for one scope — and do our own caching, sharing and retrying around it,
so the thinner library is the better fit; msal is also what Microsoft's Graph SDKs end up calling.

msal is synchronous: `MsalClientCredentials.fetch` runs in a thread (see `RefreshingToken`). It builds the
`ConfidentialClientApplication` on first use, because construction already talks to the login host (tenant
discovery: `GET {authority}/v2.0/.well-known/openid-configuration`; `instance_discovery=False` skips the
extra call to login.microsoftonline.com that msal otherwise makes for an authority it does not know).

msal treats a cached token with less than 5 minutes left as expired and has no `force_refresh` for this flow:
each fetch first drops the token we are replacing from msal's cache, so the request always reaches the service.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from worker.auth.tokens import FetchedToken, TokenFetchError
from worker.errors import ConfigError

_AADSTS = re.compile(r"AADSTS\d+")
#: OAuth2 error codes that mean "try again later", not "your credentials are wrong".
_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
_DESCRIPTION_LIMIT = 300


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """A certificate credential read from a PEM file: the private key and the certificate, both as PEM text."""

    private_key_pem: str
    certificate_pem: str
    sha256_thumbprint: str  # hex; public: the value shown in the app registration's "Certificates" list

    def __repr__(self) -> str:
        return f"ClientCertificate(sha256_thumbprint={self.sha256_thumbprint})"


def load_certificate(path: Path, setting: str) -> ClientCertificate:
    """Read a PEM file with an RSA private key (unencrypted) and its certificate; ConfigError naming `setting`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        reason = "the private key is encrypted" if isinstance(exc, TypeError) else "no readable private key"
        raise ConfigError(
            f"{setting}: {path} must hold an unencrypted PEM private key and its certificate; {reason}"
        ) from None
    try:
        certificate = x509.load_pem_x509_certificates(data)[0]
    except ValueError:
        raise ConfigError(f"{setting}: {path} holds no PEM certificate (BEGIN CERTIFICATE)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{setting}: {path} holds a {type(key).__name__}; Entra ID accepts RSA certificates only")
    if certificate.public_key() != key.public_key():
        raise ConfigError(f"{setting}: the private key in {path} does not belong to its (first) certificate")
    return ClientCertificate(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        sha256_thumbprint=certificate.fingerprint(hashes.SHA256()).hex(),
    )


#: (connect, read) seconds for requests to the login host; requests has no timeout of its own.
DEFAULT_TIMEOUT_S = (10.0, 30.0)


class _Session(requests.Session):
    """A requests session with timeouts, and with `verify` pinned when a CA bundle is configured.

    requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override `Session.verify` (they win over a session-level
    setting); `trust_env=False` would fix that but would also drop proxy settings from the environment.
    """

    def __init__(self, timeout_s: tuple[float, float], *, pinned: bool) -> None:
        super().__init__()
        self._timeout_s = timeout_s
        self._pinned = pinned

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout_s
        return super().send(request, **kwargs)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._pinned:
            settings["verify"] = self.verify
        return settings


def http_session(ca_bundle: Path | None, timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S) -> requests.Session:
    """The HTTP session msal uses: the default trust store, or only `ca_bundle` when given (never unverified)."""
    session = _Session(timeout_s, pinned=ca_bundle is not None)
    if ca_bundle is not None:
        session.verify = str(ca_bundle)
    return session


class MsalClientCredentials:
    """A TokenSource: client-credentials tokens for one app registration in one tenant."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: str | ClientCertificate,
        authority_host: str,
        scope: str,
        ca_bundle: Path | None = None,
        timeout_s: tuple[float, float] = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.description = f"directory {tenant_id!r}, client {client_id!r}"
        self._client_id = client_id
        self._credential = credential
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._scope = scope
        self._session = http_session(ca_bundle, timeout_s)
        self._app: Any = None
        self._lock = threading.Lock()  # one fetch at a time (RefreshingToken already ensures it)

    def __repr__(self) -> str:
        return f"MsalClientCredentials({self.description})"

    @property
    def authority(self) -> str:
        """The authority URL: login host + directory."""
        return self._authority

    @property
    def scope(self) -> str:
        """The scope tokens are asked for: the Graph root's `/.default`."""
        return self._scope

    def fetch(self, drop: str | None) -> FetchedToken:
        """A new token from the service (never msal's cache copy of `drop`); TokenFetchError when refused."""
        with self._lock:
            try:
                app = self._application()
                if drop is not None:
                    _forget(app, drop)
                result = app.acquire_token_for_client(scopes=[self._scope])
            except requests.RequestException as exc:
                raise TokenFetchError(f"cannot reach {self._authority}: {type(exc).__name__}", transient=True) from None
            except msal.exceptions.MsalServiceError as exc:  # a 5xx from the token endpoint
                raise TokenFetchError(f"token service error: {exc}", transient=True) from None
            except ValueError as exc:  # tenant discovery refused (an unknown tenant), or a malformed answer
                raise _discovery_error(exc, self._authority) from None
            except Exception as exc:  # anything else msal may raise must not escape as a crash of the run
                message = f"token request to {self._authority} failed: {type(exc).__name__}: {exc}"
                raise TokenFetchError(message, transient=True) from None
        return _token_from(result)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _application(self) -> Any:
        if self._app is None:
            credential: Any = self._credential
            if isinstance(credential, ClientCertificate):
                # msal derives the SHA-256 thumbprint from the certificate and signs a PS256 client assertion
                credential = {
                    "private_key": credential.private_key_pem,
                    "public_certificate": credential.certificate_pem,
                }
            self._app = msal.ConfidentialClientApplication(
                self._client_id,
                client_credential=credential,
                authority=self._authority,
                http_client=self._session,
                instance_discovery=False,
                token_cache=msal.TokenCache(),
            )
        return self._app


def _forget(app: Any, token: str) -> None:
    cache = app.token_cache
    stale = [entry for entry in cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN) if entry["secret"] == token]
    for entry in stale:
        cache.remove_at(entry)


def _token_from(result: Any) -> FetchedToken:
    if isinstance(result, dict) and isinstance(result.get("access_token"), str):
        return FetchedToken(result["access_token"], float(result.get("expires_in", 0)))
    if not isinstance(result, dict):
        raise TokenFetchError("the token service gave no answer", transient=True)
    error = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "")
    raise TokenFetchError(_describe(error, description), code=error, transient=error in _TRANSIENT_ERRORS)


def _discovery_error(exc: ValueError, authority: str) -> TokenFetchError:
    # msal replaces the discovery error with a generic one; the service's answer is in the chained exception
    texts = [str(error) for error in (exc, exc.__context__, exc.__cause__) if error is not None]
    for text in texts:
        _, _, body = text.partition("Error: ")
        try:
            answer = json.loads(body)
        except ValueError:
            continue
        if isinstance(answer, dict) and "error" in answer:
            error = str(answer["error"])
            return TokenFetchError(_describe(error, str(answer.get("error_description") or "")), code=error)
    first_line = texts[0].splitlines()[0] if texts[0] else type(exc).__name__
    return TokenFetchError(f"cannot use the authority {authority}: {first_line}", code="invalid_authority")


def _describe(error: str, description: str) -> str:
    """`AADSTS7000215 (invalid_client): Invalid client secret provided.`: code, OAuth2 error, first sentence."""
    codes = _AADSTS.findall(description)
    text = _AADSTS.sub("", description, count=1).lstrip(": ").splitlines()[0] if description else ""
    sentence = text.split(". ")[0].rstrip(".")
    if len(sentence) > _DESCRIPTION_LIMIT:
        sentence = sentence[:_DESCRIPTION_LIMIT] + "..."
    head = f"{codes[0]} ({error})" if codes else error
    return f"{head}: {sentence}." if sentence else head
