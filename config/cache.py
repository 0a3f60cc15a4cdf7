"""Django's Redis cache with one client object per connection pool, ``incr`` in one round
trip, and ``add_counts`` for many counters in one round trip.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the pooled
connection on every cache call, and redis-py fills a table of about two hundred response
callbacks in each constructor: 0.5 ms of Python per call, which the web vote's courtesy
throttle once paid on every request (bench/vote_costs.py's profile). A ``redis.Redis`` is
safe to share between threads (each command borrows a connection from the pool), so one
per pool does.

Django's ``incr`` asks ``EXISTS`` and then ``INCRBY``: two round trips, and a key that
expires between the two is recreated by ``INCRBY`` without its timeout. A Lua script does
both at once, on the server: one round trip, and a missing key stays missing
(``ValueError``, as Django raises).

``add_counts`` adds to many counters in one round trip, creating those that are missing
with a timeout: the courtesy throttle (``voting.api.throttles``) sends each web process's
counts that way, in batches."""

from django.core.cache.backends import redis as django_redis

# KEYS[1] incremented by ARGV[1] if it exists; nil (None in Python) if it does not.
_INCR_EXISTING = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end"
)

# Each KEYS[i] incremented by ARGV[i] (created if missing, then expiring after the last
# ARGV, in seconds); the new values, in order. A total equal to its increment is a new key
# (counters only grow).
_ADD_COUNTS = """
local totals = {}
for i, key in ipairs(KEYS) do
  totals[i] = redis.call('INCRBY', key, ARGV[i])
  if totals[i] == tonumber(ARGV[i]) then redis.call('EXPIRE', key, ARGV[#ARGV]) end
end
return totals
"""


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._incr_existing = None  # the scripts, registered with the first client built
        self._add_counts = None

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:  # as Django's _get_connection_pool, by this index
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            client = self._client(connection_pool=self._pools[index])
            # Two threads may both build one; either is good and the last one stays.
            if self._incr_existing is None:
                self._incr_existing = client.register_script(_INCR_EXISTING)
                self._add_counts = client.register_script(_ADD_COUNTS)
            self._clients[index] = client
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        # redis-py's Script sends EVALSHA (and loads the script once if the server lacks it).
        value = self._incr_existing(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def add_counts(self, keys: list[str], deltas: list[int], timeout: int) -> list[int]:
        client = self.get_client(write=True)
        return self._add_counts(keys=keys, args=[*deltas, timeout], client=client)


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def add_counts(self, deltas: dict[str, int], timeout: int) -> dict[str, int]:
        """Adds each count to its counter in one round trip, creating missing counters
        with ``timeout`` (seconds); answers the counters' new values."""
        keys = [self.make_and_validate_key(key) for key in deltas]
        totals = self._cache.add_counts(keys, list(deltas.values()), timeout)
        return dict(zip(deltas, totals, strict=True))
