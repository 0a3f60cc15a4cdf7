"""The Redis cache backend keeps one client per connection pool (config.cache)."""

import os

import pytest
from django.core.cache import caches

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": settings.CACHES["default"],
        "shared": {"BACKEND": "config.cache.RedisCache", "LOCATION": os.environ["REDIS_URL"]},
    }
    cache = caches["shared"]
    yield cache
    cache.delete_many(["config-cache-test", "config-cache-count"])


def test_one_client_serves_every_call_and_the_cache_works(redis_cache):
    client = redis_cache._cache.get_client(write=True)

    redis_cache.set("config-cache-test", {"votes": 3}, 30)
    redis_cache.add("config-cache-count", 0, 30)
    redis_cache.incr("config-cache-count")

    assert redis_cache._cache.get_client(write=True) is client
    assert redis_cache._cache.get_client() is client  # one server: reads use it too
    assert redis_cache.get("config-cache-test") == {"votes": 3}
    assert redis_cache.get("config-cache-count") == 1
