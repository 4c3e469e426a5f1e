"""The shared cache's backend: Django's Redis cache, reusing its Redis clients."""

from typing import Any

import redis
from django.core.cache.backends import redis as django_redis


class _ReusingClient(django_redis.RedisCacheClient):
    """Django's Redis cache client makes a new `redis.Redis` (over the same
    connection pool) for every cache operation; making one costs more CPU than
    the operation's round trip (its command callbacks are built anew each time).
    One per pool serves them all: a `redis.Redis` is safe to share, each command
    borrowing a connection from the pool."""

    # Django's, set in its __init__ (not in django-stubs).
    _servers: list[str]
    _pools: dict[int, redis.ConnectionPool]
    _pool_class: type[redis.ConnectionPool]
    _pool_options: dict[str, Any]
    _client: type[redis.Redis]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]  # Django's: a random replica for reads
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:  # as Django's _get_connection_pool, for this index
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class RedisCache(django_redis.RedisCache):
    """`django.core.cache.backends.redis.RedisCache`, with its Redis clients
    made once (`_ReusingClient`)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
