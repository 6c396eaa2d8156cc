"""`consume` tests run against the real redis-server of the service tests (`tests.service.conftest.redis_url`)
and a real Azurite (`tests.azurite`)."""

from tests.azurite import azure_queue, azurite
from tests.service.conftest import redis_url

__all__ = ["azure_queue", "azurite", "redis_url"]
