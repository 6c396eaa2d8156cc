"""Service backends: where batches, their lines and their results live, chosen by the scheme of `service.queue`.

A backend is a package under `worker/service/` whose `open_backend(settings, metrics)` is an async context
manager, open for the life of the service, that yields how to make its `Backend` over the sending stack and
how to wrap the sender (count attempts, share a lane's rate with other replicas). As with kombu's
transports, adding one (Azure Storage Queues, Service Bus) is a new folder and one line in `BACKENDS`
(plus its scheme in `ServiceSettings.queue`'s check); the backends know nothing of each other (an
import-linter contract).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, cast
from urllib.parse import urlsplit

from worker.answers import Execute, Sender
from worker.errors import ConfigError
from worker.record.metrics import ServiceMetrics
from worker.send.halt import SystemicGuard
from worker.service.batches import Batches
from worker.settings import Settings

EMBEDDED = ""  # no `service.queue`: one replica, SQLite and files

#: The scheme of `service.queue` -> the package that serves it (imported on use: redis only when configured).
BACKENDS: dict[str, str] = {
    EMBEDDED: "worker.service.embedded",
    "redis": "worker.service.redis",
    "rediss": "worker.service.redis",
    "unix": "worker.service.redis",
}


class Backend(Batches, Protocol):
    """The `Batches` the API serves, which the server can also start and drain."""

    def start(self) -> None:
        """Start taking work (and resume what a previous process left)."""
        ...

    async def drain(self) -> None:
        """Stop taking work; let what runs finish within the grace period."""
        ...


BackendFactory = Callable[[Execute, SystemicGuard | None], Backend]
Wrap = Callable[[Sender], Sender]
Opened = AbstractAsyncContextManager[tuple[BackendFactory, Wrap]]


class OpenBackend(Protocol):
    """What each backend package exports as `open_backend`."""

    def __call__(self, settings: Settings, metrics: ServiceMetrics) -> Opened:
        """Connect (ConfigError when the backend cannot be reached) for the life of the service."""
        ...


def scheme(settings: Settings) -> str:
    """The backend's key in `BACKENDS`: the scheme of `service.queue`, or EMBEDDED without one."""
    queue = settings.service.queue
    return EMBEDDED if queue is None else urlsplit(queue).scheme


def backend_name(settings: Settings) -> str:
    """The backend's name for logs: the last part of its package ("embedded", "redis")."""
    return BACKENDS.get(scheme(settings), "unknown").rsplit(".", 1)[-1]


def open_backend(settings: Settings, metrics: ServiceMetrics) -> Opened:
    """The configured backend, opened for the life of the service."""
    package = BACKENDS.get(scheme(settings))
    if package is None:
        known = ", ".join(f"{name}://" for name in BACKENDS if name)
        raise ConfigError(f"service.queue: no backend for {scheme(settings)}:// (known: {known})")
    opener = cast(OpenBackend, importlib.import_module(package).open_backend)
    return opener(settings, metrics)
