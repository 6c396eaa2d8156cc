"""The Microsoft identity platform's client-credentials flow, as much of it as msal uses.

- `GET /{tenant}/v2.0/.well-known/openid-configuration`: tenant discovery, which msal fetches when it builds
  an application (with `instance_discovery=False` it asks nothing else). An unknown tenant gets Entra ID's
  400 `invalid_tenant` AADSTS90002.
- `POST /{tenant}/oauth2/v2.0/token` (form: `grant_type=client_credentials`, `client_id`, `scope` ending in
  `/.default`, and `client_secret` or a `client_assertion` JWT): issues `emu.<tenant>.<random>` with
  `expires_in` = the `token_lifetime_s` knob, and remembers it (`IssuedTokens`) so Graph calls made with it
  after it expired get 401 InvalidAuthenticationToken. Every request is counted per tenant (`token_requests`
  in /_emulator/stats).

Without registered apps (`clients`, `client_certificates` both null) any client id and secret is accepted, and
any well-formed client assertion. With them, the client must be registered: a wrong secret gets 401
`invalid_client` AADSTS7000215, an unknown client 400 `unauthorized_client` AADSTS700016, and an assertion is
verified like Entra ID does: its x5t#S256 (or x5t) header names the registered certificate, its signature
(PS256/RS256) checks out against that certificate's key, its audience is this token endpoint and its issuer and
subject are the client id (AADSTS700027 otherwise). `known_tenants` (when set) lists the tenants that exist.

Serve it over HTTPS for msal (`start_emulator(ssl_context=...)`): msal refuses a plain-http authority.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from multidict import MultiDictProxy

from worker.emulator.graph_errors import json_response
from worker.emulator.state import STATE, EmulatorState

DISCOVERY_ROUTE = "/{tenant}/v2.0/.well-known/openid-configuration"
TOKEN_ROUTE = "/{tenant}/oauth2/v2.0/token"  # noqa: S105 - a path, not a password
CLIENT_CREDENTIALS = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Graph's message for a token past its expiry (401 InvalidAuthenticationToken).
EXPIRED_MESSAGE = "Access token has expired or is not yet valid."
#: Graph's message for a token it did not issue, when the emulator has registered apps.
INVALID_MESSAGE = "Access token validation failure. Invalid audience."
_ASSERTION_LEEWAY_S = 5


class _RefusalError(Exception):
    """The token request is refused: an OAuth2 error answer in Entra ID's shape."""

    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        description = (
            f"AADSTS{self.code}: {self.message} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {now}"
        )
        return json_response(
            self.status,
            {
                "error": self.error,
                "error_description": description,
                "error_codes": [self.code],
                "timestamp": now,
                "trace_id": trace_id,
                "correlation_id": correlation_id,
                "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
            },
        )


def token_problem(token: str, state: EmulatorState) -> str | None:
    """Why Graph answers 401 to a (non-empty) bearer token, or None when it passes.

    A token issued here passes until it expires. Any other passes when it is in `accepted_tokens`, or when
    that knob is null and no apps are registered (then any token goes).
    """
    issued = state.issued.state(token)
    if issued is not None:
        return None if issued == "valid" else EXPIRED_MESSAGE
    accepted = state.config.accepted_tokens
    if accepted is not None:
        return None if token in accepted else INVALID_MESSAGE
    return INVALID_MESSAGE if state.config.registered_apps else None


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _check_tenant(state: EmulatorState, tenant: str, *, error: str) -> None:
    known = state.config.known_tenants
    if known is not None and tenant not in known:
        raise _RefusalError(
            400,
            error,
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud.",
        )


async def _discovery(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    try:
        _check_tenant(request.app[STATE], tenant, error="invalid_tenant")
    except _RefusalError as refusal:
        return refusal.response()
    base = f"{_origin(request)}/{tenant}"
    return json_response(
        200,
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": None,
        },
    )


async def _token(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    state = request.app[STATE]
    state.recorder.record_token_request(tenant)
    form = await request.post()
    endpoint = f"{_origin(request)}/{tenant}/oauth2/v2.0/token"
    try:
        _check_request(state, tenant, form, endpoint)
    except _RefusalError as refusal:
        return refusal.response()
    lifetime = state.config.token_lifetime_s
    expires_in: float = int(lifetime) if lifetime.is_integer() else lifetime
    return json_response(
        200,
        {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": state.issued.issue(tenant, lifetime),
        },
    )


def _field(form: MultiDictProxy[Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value else None


def _check_request(state: EmulatorState, tenant: str, form: MultiDictProxy[Any], endpoint: str) -> None:
    _check_tenant(state, tenant, error="invalid_request")
    if _field(form, "grant_type") != CLIENT_CREDENTIALS:
        raise _RefusalError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    client_id = _field(form, "client_id")
    if client_id is None:
        raise _RefusalError(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
        )
    scope = _field(form, "scope") or ""
    if not any(part.endswith("/.default") for part in scope.split()):
        raise _RefusalError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
            "with /.default suffixed to the resource identifier (application ID URI).",
        )
    _authenticate(state, tenant, client_id, form, endpoint)


def _authenticate(state: EmulatorState, tenant: str, client_id: str, form: MultiDictProxy[Any], endpoint: str) -> None:
    config = state.config
    secret = _field(form, "client_secret")
    assertion = _field(form, "client_assertion") if _field(form, "client_assertion_type") == ASSERTION_TYPE else None
    if secret is None and assertion is None:
        raise _RefusalError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if not config.registered_apps:
        if assertion is not None:
            _check_assertion(assertion, client_id, endpoint, None)
        return
    secrets = config.clients or {}
    certificates = config.client_certificates or {}
    if client_id not in secrets and client_id not in certificates:
        raise _RefusalError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
        )
    if assertion is not None:
        _check_assertion(assertion, client_id, endpoint, certificates.get(client_id))
        return
    expected = secrets.get(client_id)
    if expected is None or secret is None or not hmac.compare_digest(expected.encode(), secret.encode()):
        raise _RefusalError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{client_id}'.",
        )


def _thumbprint(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> str:
    return base64.urlsafe_b64encode(certificate.fingerprint(algorithm)).rstrip(b"=").decode()


def _unpadded(value: Any) -> str | None:
    # base64url with or without "=" padding (msal pads; RFC 7515 does not)
    return value.rstrip("=") if isinstance(value, str) else None


def _check_assertion(assertion: str, client_id: str, endpoint: str, certificate_pem: str | None) -> None:
    """A client assertion: verified against `certificate_pem` when given, else only checked to be a JWT."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.InvalidTokenError:
        raise _RefusalError(400, "invalid_client", 50027, "JWT token is invalid or malformed.") from None
    if certificate_pem is None:
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise _RefusalError(400, "invalid_client", 50027, "JWT token is invalid or malformed.") from None
    else:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
        sha256 = _thumbprint(certificate, hashes.SHA256())
        sha1 = _thumbprint(certificate, hashes.SHA1())  # noqa: S303 - x5t is SHA-1 by definition (RFC 7515)
        if _unpadded(header.get("x5t#S256")) != sha256 and _unpadded(header.get("x5t")) != sha1:
            raise _RefusalError(
                401,
                "invalid_client",
                700027,
                "Client assertion failed signature validation. [Reason - The key was not found.]",
            )
        try:
            claims = jwt.decode(
                assertion,
                certificate.public_key(),  # type: ignore[arg-type]  # an RSA key: checked by the algorithms
                algorithms=["PS256", "RS256"],
                audience=endpoint,
                leeway=_ASSERTION_LEEWAY_S,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise _RefusalError(
                401, "invalid_client", 700027, f"Client assertion failed signature validation. [Reason - {exc}.]"
            ) from None
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise _RefusalError(
            401, "invalid_client", 700023, "Client assertion issuer and subject must be the application's client id."
        )


def add_token_routes(app: web.Application) -> None:
    """Register discovery and the token endpoint; call before the catch-all Graph routes, which would match."""
    app.router.add_get(DISCOVERY_ROUTE, _discovery)
    app.router.add_post(TOKEN_ROUTE, _token)
