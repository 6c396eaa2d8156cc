"""The backend registry: `service.queue`'s URL scheme picks the backend package, and each one plugs in alike."""

from __future__ import annotations

import importlib

import pytest

from worker.service.backends import BACKENDS, backend_name, scheme
from worker.settings import load_settings


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        (None, "embedded"),
        ("redis://localhost:6379/0", "redis"),
        ("rediss://h:6380", "redis"),
        ("unix:///r.sock", "redis"),
    ],
)
def test_the_scheme_of_service_queue_picks_the_backend(queue: str | None, expected: str) -> None:
    settings = load_settings(None, {"service": {"queue": queue}})
    assert scheme(settings) in BACKENDS
    assert backend_name(settings) == expected


@pytest.mark.parametrize("package", sorted(set(BACKENDS.values())))
def test_every_backend_package_exports_open_backend(package: str) -> None:
    assert callable(importlib.import_module(package).open_backend)
