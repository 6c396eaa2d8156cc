"""Source tests that need real servers: the redis-server of the service tests (`tests.service.conftest.redis_url`)
and Azurite (`tests.azurite`: one server per session, a fresh queue per test)."""

from tests.azurite import azure_queue, azurite
from tests.service.conftest import redis_url

__all__ = ["azure_queue", "azurite", "redis_url"]
