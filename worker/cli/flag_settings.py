"""Settings for a command: the config file, then PATCH_WORKER_* variables, then the Azure SDKs' variables and flags."""

from __future__ import annotations

import argparse
import os
from typing import Any

from worker.record.logging import configure_logging
from worker.settings import Settings, load_settings

#: auth.* settings read from the environment variables the Azure SDKs use (they beat the config file).
AZURE_ENVIRONMENT = {
    "tenant_id": "AZURE_TENANT_ID",
    "client_id": "AZURE_CLIENT_ID",
    "client_secret": "AZURE_CLIENT_SECRET",
    "client_certificate_path": "AZURE_CLIENT_CERTIFICATE_PATH",
}


def overrides(ns: argparse.Namespace) -> dict[str, Any]:
    """Flags that were given, as a nested settings dict (flags beat env and file)."""
    pairs = {
        ("graph", "base_url"): getattr(ns, "base_url", None),
        ("run", "results"): getattr(ns, "results", None),
        ("run", "concurrency"): getattr(ns, "concurrency", None),
        ("run", "rate"): getattr(ns, "rate", None),
        ("run", "batch_size"): getattr(ns, "batch_size", None),
        ("log", "level"): getattr(ns, "log_level", None),
        ("log", "format"): getattr(ns, "log_format", None),
    }
    token = os.environ.get("GRAPH_TOKEN")
    if token:
        pairs[("auth", "token")] = token
    for key, variable in AZURE_ENVIRONMENT.items():  # the Azure SDKs' convention for client credentials
        value = os.environ.get(variable)
        if value:
            pairs[("auth", key)] = value
    storage = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")  # the Azure Storage SDKs' convention
    if storage:
        pairs[("queue", "azure_connection_string")] = storage
    nested: dict[str, dict[str, Any]] = {}
    for (section, key), value in pairs.items():
        if value is not None:
            nested.setdefault(section, {})[key] = value
    return nested


def settings_for(ns: argparse.Namespace) -> Settings:
    settings = load_settings(ns.config, overrides(ns))
    configure_logging(settings.log.level, settings.log.format)
    return settings
