"""Settings -> Credentials: which provider each lane (tenant) gets.

- `auth.*` gives the default provider, used by every lane without credentials of its own: a static token
  (`auth.token`, GRAPH_TOKEN) or the client-credentials flow (`auth.tenant_id` + `auth.client_id` +
  `auth.client_secret` or `auth.client_certificate_path`; AZURE_* in the environment). Not both.
- `tenants.<name>` gives that lane its own: `token`, or `tenant_id` (its directory) with `client_id`,
  `client_secret`/`client_certificate_path` defaulting to the `auth.*` ones. A tenant entry with neither
  (only `rate`) uses the default provider. Without `auth.tenant_id` the `auth.*` app only serves the
  tenants that name their directory (there is no default provider then).

Lanes whose client credentials are the same (directory, client, secret or certificate) share one provider,
so one token serves them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from worker.errors import ConfigError
from worker.redact import register_secret
from worker.send.auth import Credentials, RefreshingToken, StaticToken, TokenProvider
from worker.send.auth_clouds import Cloud, cloud_named, graph_base_url
from worker.settings import AuthSettings, Settings, TenantSettings

if TYPE_CHECKING:  # msal and cryptography cost ~0.12 s to import: only runs with client credentials pay it
    from worker.send.auth_msal import ClientCertificate

NO_CREDENTIALS = (
    "no credentials: set GRAPH_TOKEN to a bearer token (or auth.token in the config file), or AZURE_TENANT_ID, "
    "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH for an app registration "
    "(auth.tenant_id, auth.client_id, auth.client_secret / auth.client_certificate_path)"
)


def effective_base_url(settings: Settings) -> str:
    """graph.base_url, moved to the Graph host of auth.cloud when it is on the global one (see auth_clouds)."""
    return graph_base_url(settings.graph.base_url, cloud_named(settings.auth.cloud))


def build_credentials(settings: Settings) -> Credentials:
    """Every lane's token provider; ConfigError for missing, conflicting or unreadable credentials."""
    builder = _Builder(settings)
    default = builder.default()
    tenants: dict[str, TokenProvider] = {}
    for name, tenant in settings.tenants.items():
        provider = builder.tenant(name, tenant)
        if provider is not None:
            tenants[name] = provider
    if default is None and not tenants:
        raise ConfigError(NO_CREDENTIALS)
    return Credentials(default, tenants)


def _secret(value: SecretStr | None) -> str | None:
    if value is None:
        return None
    register_secret(value.get_secret_value())  # scrubbed from anything written, should a server echo it
    return value.get_secret_value()


class _Builder:
    def __init__(self, settings: Settings) -> None:
        self._auth: AuthSettings = settings.auth
        self._cloud: Cloud = cloud_named(settings.auth.cloud)
        self._authority_host = settings.auth.authority_host or self._cloud.authority_host
        self._ca_bundle = settings.graph.ca_bundle
        self._timeout_s = (settings.graph.connect_timeout_s, settings.graph.read_timeout_s)
        self._shared: dict[tuple[str, str, str], RefreshingToken] = {}
        self._certificates: dict[Path, ClientCertificate] = {}
        self._tenants_have_directories = any(tenant.tenant_id is not None for tenant in settings.tenants.values())

    def default(self) -> TokenProvider | None:
        auth = self._auth
        has_app = auth.client_secret is not None or auth.client_certificate_path is not None
        if auth.token is not None:
            if has_app:
                raise ConfigError(
                    "both a static token (GRAPH_TOKEN / auth.token) and client credentials (AZURE_CLIENT_SECRET / "
                    "AZURE_CLIENT_CERTIFICATE_PATH / auth.*) are set: unset one of them"
                )
            return StaticToken(auth.token.get_secret_value())
        if not has_app:
            return None
        if auth.tenant_id is None and self._tenants_have_directories:
            return None  # the app serves only the lanes under tenants:, each in its own directory
        return self._app(
            "auth",
            tenant_id=auth.tenant_id,
            client_id=auth.client_id,
            secret=_secret(auth.client_secret),
            certificate_path=auth.client_certificate_path,
        )

    def tenant(self, name: str, tenant: TenantSettings) -> TokenProvider | None:
        where = f"tenants.{name}"
        own_app = (tenant.client_id, tenant.client_secret, tenant.client_certificate_path) != (None, None, None)
        if tenant.token is not None:
            if tenant.tenant_id is not None or own_app:
                raise ConfigError(f"{where}: set either token or tenant_id with client credentials, not both")
            return StaticToken(tenant.token.get_secret_value())
        if tenant.tenant_id is None:
            if own_app:
                raise ConfigError(f"{where}.tenant_id is required with {where}'s own client credentials")
            return None  # the lane uses the default provider
        own_credential = tenant.client_secret is not None or tenant.client_certificate_path is not None
        auth = self._auth
        return self._app(
            where,
            tenant_id=tenant.tenant_id,
            client_id=tenant.client_id or auth.client_id,
            secret=_secret(tenant.client_secret if own_credential else auth.client_secret),
            certificate_path=tenant.client_certificate_path if own_credential else auth.client_certificate_path,
        )

    def _app(
        self,
        where: str,
        *,
        tenant_id: str | None,
        client_id: str | None,
        secret: str | None,
        certificate_path: Path | None,
    ) -> RefreshingToken:
        if tenant_id is None:
            raise ConfigError(f"{where}.tenant_id (AZURE_TENANT_ID) is required with client credentials")
        if client_id is None:
            raise ConfigError(f"{where}.client_id (AZURE_CLIENT_ID) is required with client credentials")
        if secret is not None and certificate_path is not None:
            raise ConfigError(f"{where}: set either a client secret or a client certificate, not both")
        credential: str | ClientCertificate
        if certificate_path is not None:
            credential = self._certificate(certificate_path, f"{where}.client_certificate_path")
            identity = f"certificate:{certificate_path}"
        elif secret is not None:
            credential = secret
            identity = f"secret:{secret}"
        else:
            raise ConfigError(
                f"{where}: client credentials need a secret (AZURE_CLIENT_SECRET, client_secret) or a certificate "
                "(AZURE_CLIENT_CERTIFICATE_PATH, client_certificate_path)"
            )
        key = (tenant_id, client_id, identity)
        if key not in self._shared:
            from worker.send.auth_msal import MsalClientCredentials

            source = MsalClientCredentials(
                tenant_id=tenant_id,
                client_id=client_id,
                credential=credential,
                authority_host=self._authority_host,
                scope=self._cloud.scope,
                ca_bundle=self._ca_bundle,
                timeout_s=self._timeout_s,
            )
            self._shared[key] = RefreshingToken(source)
        return self._shared[key]

    def _certificate(self, path: Path, setting: str) -> ClientCertificate:
        if path not in self._certificates:
            from worker.send.auth_msal import load_certificate

            self._certificates[path] = load_certificate(path, setting)
        return self._certificates[path]
