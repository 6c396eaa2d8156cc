"""Every exception patch-worker defines is a PatchWorkerError: one root to catch, drawn in errors.py."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import worker
from worker.errors import PatchWorkerError


def _worker_modules() -> list[str]:
    # the emulator is a separate Graph (its errors never leave it); __main__ modules run on import
    return [
        info.name
        for info in pkgutil.walk_packages(worker.__path__, "worker.")
        if not info.name.startswith("worker.emulator") and not info.name.endswith("__main__")
    ]


def test_every_exception_class_is_under_the_root() -> None:
    outside = []
    for name in _worker_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException) and not issubclass(cls, PatchWorkerError):
                outside.append(f"{name}.{cls.__name__}")
    assert outside == []


def test_the_walk_sees_the_service_and_the_auth_errors() -> None:
    assert {"worker.service.api", "worker.service.batches"} <= set(_worker_modules())
