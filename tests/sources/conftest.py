"""Azurite for the Azure queue source's tests (`tests.azurite`): one server per session, a fresh queue per test."""

from tests.azurite import azure_queue, azurite

__all__ = ["azure_queue", "azurite"]
