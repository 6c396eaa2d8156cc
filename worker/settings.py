"""Typed settings, loaded once at the CLI edge: defaults < config file < PATCH_WORKER_* env < flags.

`config.yaml` at the repository root documents every key with its default; a test keeps the two equal.
No other module reads the environment: they receive these objects.
"""

from __future__ import annotations

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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GraphSettings(_Section):
    """Where requests go and how long the network may take."""

    base_url: str = "https://graph.microsoft.com/beta"
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    default_tenant: str = Field(default="default", min_length=1)
    max_connections: int = Field(default=256, ge=1, le=10_000)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a local emulator)")
        return value.rstrip("/")


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


class TenantSettings(_Section):
    """One tenant's own credentials and limits (each tenant is its own lane)."""

    token: SecretStr | None = None
    rate: float | None = Field(default=None, gt=0)


class AuthSettings(_Section):
    """Credentials. Prefer the GRAPH_TOKEN environment variable to writing a token in a file."""

    token: SecretStr | None = None


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

    class _FromFile(Settings):
        model_config = SettingsConfigDict(yaml_file=config_file)

    try:
        return _FromFile(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except (OSError, ValueError) as exc:  # unreadable or malformed YAML
        raise ConfigError(f"cannot read config file {config_file}: {exc}") from None


def _describe(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors(include_input=False)
    ]
    return "invalid configuration: " + "; ".join(problems)
