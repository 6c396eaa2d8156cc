"""Typed settings, loaded once at the CLI edge: defaults < config file < PATCH_WORKER_* env < flags.

`config.yaml` at the repository root documents every key with its default; a test keeps the two equal.
No other module reads the environment: they receive these objects.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from worker.errors import ConfigError
from worker.loop import EventLoopChoice


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GraphSettings(_Section):
    """Where requests go and how long the network may take."""

    base_url: str = "https://graph.microsoft.com/beta"
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    # decompressed bytes of an answer read at most (a 2xx body beyond it is dropped, an error body cut)
    max_response_bytes: int = Field(default=512 * 1024, ge=1024)
    default_tenant: str = Field(default="default", min_length=1)
    max_connections: int = Field(default=256, ge=1, le=10_000)
    # CA bundle (PEM) trusted for Graph and the login host, instead of the system store; verification stays on
    ca_bundle: Path | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a local emulator)")
        return value.rstrip("/")

    @field_validator("ca_bundle")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file (a PEM bundle of CA certificates)")
        return value


class RunSettings(_Section):
    """How hard one run pushes."""

    concurrency: int = Field(default=32, ge=1, le=1024)
    min_concurrency: int = Field(default=1, ge=1, le=1024)
    rate: float = Field(default=0.0, ge=0)
    burst: float = Field(default=1.0, ge=1)
    app_rate: float = Field(default=0.0, ge=0)
    batch_size: int = Field(default=1, ge=1, le=20)
    results: str | None = None
    grace_s: float = Field(default=25.0, ge=0)
    event_loop: EventLoopChoice = "auto"
    max_decompressed_ratio: float = Field(default=500.0, ge=0)


class RetrySettings(_Section):
    """When a failed attempt is tried again, and when a job gives up."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    max_elapsed_s: float = Field(default=600.0, gt=0)
    max_retry_after_s: float = Field(default=300.0, gt=0)
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)


class LogSettings(_Section):
    """Where log lines go and how they look."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class ServiceSettings(_Section):
    """`patch-worker serve`: where it listens, who may call it, where batches are kept, how many run at once."""

    model_config = ConfigDict(hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    state_dir: Path = Path("state")
    max_upload_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    max_parallel_batches: int = Field(default=1, ge=1, le=64)
    queue: str | None = None
    retention_s: float = Field(default=7 * 24 * 3600.0, ge=0)
    header_timeout_s: float = Field(default=15.0, gt=0)
    body_timeout_s: float = Field(default=60.0, gt=0)
    max_connections: int = Field(default=256, ge=1, le=100_000)
    metrics_public: bool = False
    lane_idle_s: float = Field(default=600.0, gt=0)

    @field_validator("queue")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// (or rediss://, unix://) URL, or null for the embedded store")
        return value


class QueueSettings(_Section):
    """Queues: the service's shared stream (`service.queue: redis://...`) and `consume`'s sources.

    `claim_idle_s` (how long a message in flight may go unrenewed before another consumer takes it: Redis's
    XAUTOCLAIM idle time, a queue's visibility timeout), `max_deliveries` and `max_in_flight` apply to every
    queue; `prefix` is the service's key prefix (and `consume`'s shared rate keys); `block_s`,
    `socket_timeout_s` and `read_count` are Redis's.
    """

    model_config = ConfigDict(hide_input_in_errors=True)  # the Azure connection string and SAS are secrets

    prefix: str = Field(default="patch-worker", min_length=1, pattern=r"^[A-Za-z0-9._:-]+$")
    claim_idle_s: float = Field(default=30.0, gt=0)
    max_deliveries: int = Field(default=5, ge=1)
    max_in_flight: int = Field(default=1024, ge=1, le=100_000)
    block_s: float = Field(default=1.0, gt=0)
    socket_timeout_s: float = Field(default=10.0, gt=0)
    read_count: int = Field(default=64, ge=1, le=10_000)
    # `consume azure-queue://QUEUE`: AZURE_STORAGE_CONNECTION_STRING, else an account URL (with a SAS, or not:
    # DefaultAzureCredential)
    azure_connection_string: SecretStr | None = None
    azure_account_url: SecretStr | None = None


Cloud = Literal["global", "usgov", "usgov-dod", "china"]


class TenantSettings(_Section):
    """One tenant's own credentials and limits (each tenant is its own lane).

    `tenant_id` is the tenant's directory id: with it the lane gets its own client-credentials token, from
    `client_id` and `client_secret`/`client_certificate_path` (each defaults to the `auth.*` one).
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    token: SecretStr | None = None
    tenant_id: str | None = Field(default=None, min_length=1)
    client_id: str | None = Field(default=None, min_length=1)
    client_secret: SecretStr | None = None
    client_certificate_path: Path | None = None
    rate: float | None = Field(default=None, gt=0)


class ScopeSettings(_Section):
    """One throttling scope's limits (`scopes.<scope>`): a ceiling for each tenant's lane, and one for the app."""

    rate: float | None = Field(default=None, gt=0)
    app_rate: float | None = Field(default=None, gt=0)


class AuthSettings(_Section):
    """Credentials: a static token (GRAPH_TOKEN) or an app registration's client credentials (AZURE_*)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    token: SecretStr | None = None
    tenant_id: str | None = Field(default=None, min_length=1)
    client_id: str | None = Field(default=None, min_length=1)
    client_secret: SecretStr | None = None
    client_certificate_path: Path | None = None
    cloud: Cloud = "global"
    authority_host: str | None = None

    @field_validator("authority_host")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https:// URL (the token library refuses anything else)")
        return None if value is None else value.rstrip("/")


class Settings(BaseSettings):
    """Every setting of patch-worker."""

    model_config = SettingsConfigDict(
        env_prefix="PATCH_WORKER_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    graph: GraphSettings = GraphSettings()
    run: RunSettings = RunSettings()
    retry: RetrySettings = RetrySettings()
    log: LogSettings = LogSettings()
    auth: AuthSettings = AuthSettings()
    tenants: dict[str, TenantSettings] = Field(default_factory=dict)
    scopes: dict[str, ScopeSettings] = Field(default_factory=dict)
    service: ServiceSettings = ServiceSettings()
    queue: QueueSettings = QueueSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init) beat the environment, which beats the YAML file."""
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Build Settings from a YAML file, the environment and flag overrides; ConfigError if invalid."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} does not exist")
    try:
        return _settings_class(config_file)(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except (OSError, ValueError) as exc:  # unreadable
        raise ConfigError(f"cannot read config file {config_file}: {exc}") from None
    except Exception as exc:
        if not _is_yaml_error(exc):
            raise
        # malformed YAML: one line with where it went wrong, not a traceback
        raise ConfigError(f"config file {config_file} is not valid YAML: {_yaml_problem(exc)}") from None


def _settings_class(config_file: Path | None) -> type[Settings]:
    """Settings reading `config_file`; Settings itself without one (building a model class costs start-up)."""
    if config_file is None:
        return Settings

    class _FromFile(Settings):
        model_config = SettingsConfigDict(yaml_file=config_file)

    return _FromFile


def _is_yaml_error(exc: Exception) -> bool:
    """True for PyYAML's errors. PyYAML is imported only when a config file is read (not at start-up), so it is
    looked up, not imported: an error raised before it was imported cannot be one of its own."""
    yaml_module = sys.modules.get("yaml")
    return yaml_module is not None and isinstance(exc, yaml_module.YAMLError)


def _yaml_problem(exc: Exception) -> str:
    """The parser's complaint with its 1-based line and column (PyYAML's own text spans several lines)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return str(problem)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def _describe(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors(include_input=False)
    ]
    return "invalid configuration: " + "; ".join(problems)
