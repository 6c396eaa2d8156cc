"""Source tests that need the real redis-server of the service tests (`tests.service.conftest.redis_url`)."""

from tests.service.conftest import redis_url

__all__ = ["redis_url"]
