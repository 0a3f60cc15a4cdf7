"""The Redis cache backend keeps one client per connection pool, increments in one round
trip and adds to many counters in one (config.cache)."""

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
    cache.delete_many(["config-cache-test", "config-cache-count", "config-cache-other"])


def test_one_client_serves_every_call_and_the_cache_works(redis_cache):
    client = redis_cache._cache.get_client(write=True)

    redis_cache.set("config-cache-test", {"votes": 3}, 30)
    redis_cache.add("config-cache-count", 0, 30)
    redis_cache.incr("config-cache-count")

    assert redis_cache._cache.get_client(write=True) is client
    assert redis_cache._cache.get_client() is client  # one server: reads use it too
    assert redis_cache.get("config-cache-test") == {"votes": 3}
    assert redis_cache.get("config-cache-count") == 1


def test_incr_counts_an_existing_key_and_keeps_its_timeout(redis_cache):
    redis_cache.add("config-cache-count", 5, 30)

    assert [redis_cache.incr("config-cache-count") for _ in range(3)] == [6, 7, 8]
    assert redis_cache.incr("config-cache-count", 10) == 18

    assert redis_cache.get("config-cache-count") == 18
    client = redis_cache._cache.get_client(write=True)
    assert 0 < client.ttl(redis_cache.make_key("config-cache-count")) <= 30


def test_incr_of_a_missing_key_raises_and_creates_nothing(redis_cache):
    with pytest.raises(ValueError, match="not found"):
        redis_cache.incr("config-cache-count")

    assert redis_cache.get("config-cache-count") is None
    assert redis_cache.add("config-cache-count", 1, 30) is True


def test_incr_loads_its_script_when_the_server_does_not_know_it(redis_cache):
    redis_cache.add("config-cache-count", 0, 30)
    redis_cache.incr("config-cache-count")
    # As after a restart of Redis (not flushed here: the server is shared): a digest the
    # server has never seen.
    redis_cache._cache._incr_existing.sha = "0" * 40

    assert redis_cache.incr("config-cache-count") == 2


def test_add_counts_adds_to_each_counter_and_times_out_only_new_ones(redis_cache):
    redis_cache.set("config-cache-count", 5, 300)

    totals = redis_cache.add_counts({"config-cache-count": 3, "config-cache-other": 2}, 30)
    again = redis_cache.add_counts({"config-cache-other": 4}, 30)

    assert totals == {"config-cache-count": 8, "config-cache-other": 2}
    assert again == {"config-cache-other": 6}
    assert redis_cache.get("config-cache-count") == 8  # readable as Django's own counters
    client = redis_cache._cache.get_client(write=True)
    assert 30 < client.ttl(redis_cache.make_key("config-cache-count")) <= 300  # kept its own
    assert 0 < client.ttl(redis_cache.make_key("config-cache-other")) <= 30
