"""Request rate limits kept in the shared cache (Redis in production), so that a
limit holds across every app server. If the cache cannot be reached the API keeps
serving: throttling fails open, with a warning logged at most once a minute.

A dead Redis refuses connections at once; a hung one (a socket that accepts and
never answers) would cost every throttled request the cache's whole timeout. So the
cache's connect and read timeouts are short (REDIS_CONNECT_TIMEOUT and
REDIS_SOCKET_TIMEOUT, settings.py), and after a timeout this process stops asking
the cache for THROTTLE_CACHE_RETRY_SECONDS: one request pays the timeout, the ones
after it pay nothing until the cache is tried again. (A refused connection costs
nothing to find out, so a stopped Redis is simply asked again each time, and the
limits are back the moment it is.)"""

import logging
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.throttling import SimpleRateThrottle

from allmine.core.http import client_ip

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger("allmine.throttling")
WARNING_INTERVAL_SECONDS = 60
_last_warning = 0.0
# Until when (time.monotonic()) this process serves without asking the cache.
_cache_skipped_until = 0.0


def _warn_cache_down(exc: Exception) -> None:
    global _last_warning, _cache_skipped_until
    now = time.monotonic()
    timed_out = isinstance(exc, TimeoutError | RedisTimeoutError)
    if timed_out:
        _cache_skipped_until = now + settings.THROTTLE_CACHE_RETRY_SECONDS
    if now - _last_warning >= WARNING_INTERVAL_SECONDS:
        _last_warning = now
        logger.warning(
            "Throttling is off: the cache is unreachable (%s)%s.",
            type(exc).__name__,
            f"; not asked again for {settings.THROTTLE_CACHE_RETRY_SECONDS:g} s"
            if timed_out
            else "",
        )


def cache_skipped() -> bool:
    """Whether the cache failed a moment ago (throttling is open meanwhile)."""
    return time.monotonic() < _cache_skipped_until


def _count(cache: BaseCache, key: str, timeout: int) -> int:
    """Count one more request under `key` (created at 0 with `timeout` seconds to
    live) and return the count. On Redis this is one MULTI/EXEC round trip (SET NX
    EX, then INCR, which keeps the lifetime) instead of Django's add + incr (SET
    NX, EXISTS, INCR: three round trips, twice the client's CPU)."""
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(full_key, write=True).pipeline(transaction=True)
        pipe.set(full_key, 0, nx=True, ex=timeout)
        pipe.incr(full_key)
        return int(pipe.execute()[1])
    cache.add(key, 0, timeout=timeout)
    return cache.incr(key)


class FailOpenThrottle(SimpleRateThrottle):
    """A fixed-window counter in the cache, counted with the cache's atomic
    increment (INCR on Redis), so that concurrent requests on several servers are
    all counted. The rate comes from `settings.API_THROTTLE_RATES[scope]`, read
    per request."""

    scope: str

    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        key = f"{self.key}:{window}"
        if cache_skipped():
            return True
        try:
            # The default cache's backend itself, not the `django.core.cache.cache`
            # proxy DRF holds as `self.cache`: `_count` must see that it is Redis.
            count = _count(caches[DEFAULT_CACHE_ALIAS], key, timeout=self.duration + 1)
        except Exception as exc:  # any cache failure: serve anyway
            _warn_cache_down(exc)
            return True
        return count <= self.num_requests

    def wait(self):
        return max(1, int(self.window_ends_at - time.time()) + 1)


class PerUserThrottle(FailOpenThrottle):
    def get_cache_key(self, request, view):
        user = request.user
        ident = user.pk if user and user.is_authenticated else client_ip(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PerClientAddressThrottle(FailOpenThrottle):
    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class JoinThrottle(PerUserThrottle):
    scope = "join"


class RenewThrottle(PerUserThrottle):
    scope = "renew"


class CreateThrottle(PerUserThrottle):
    scope = "create"


class UploadThrottle(PerUserThrottle):
    """Image uploads (a thumbnail with a create, a profile photo) per user: decoding
    an image is the most expensive thing a client can ask for, so one account may
    not keep workers busy with it. Only requests that carry a file count."""

    scope = "upload"

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        if not request.FILES:
            return True
        return bool(super().allow_request(request, view))


class UploadBurstThrottle(UploadThrottle):
    """The same, over a short window: no burst of uploads at once."""

    scope = "upload_burst"


UPLOAD_THROTTLES = [UploadBurstThrottle, UploadThrottle]


class LoginThrottle(PerClientAddressThrottle):
    scope = "login"


class RegisterThrottle(PerClientAddressThrottle):
    scope = "register"


class WindowCounter:
    """A fixed-window counter in the shared cache for a limit a service keeps (not
    a request rate): `hit` counts one event under an identity, `count` reads the
    window's count. Like the throttles, it fails open: with the cache unreachable
    (or skipped after a timeout) both answer 0."""

    def __init__(self, scope: str, window_seconds: int) -> None:
        self.scope = scope
        self.window_seconds = max(1, int(window_seconds))

    def _key(self, ident: str) -> tuple[str, float]:
        window = int(time.time() // self.window_seconds)
        return f"counter_{self.scope}_{ident}:{window}", (window + 1) * self.window_seconds

    def hit(self, ident: str) -> int:
        if cache_skipped():
            return 0
        key, _ends = self._key(ident)
        try:
            return _count(caches[DEFAULT_CACHE_ALIAS], key, timeout=self.window_seconds + 1)
        except Exception as exc:  # any cache failure: count nothing
            _warn_cache_down(exc)
            return 0

    def count(self, ident: str) -> int:
        if cache_skipped():
            return 0
        key, _ends = self._key(ident)
        try:
            return int(caches[DEFAULT_CACHE_ALIAS].get(key) or 0)
        except Exception as exc:
            _warn_cache_down(exc)
            return 0

    def seconds_left(self) -> int:
        """Until the current window ends."""
        _key, ends = self._key("")
        return max(1, int(ends - time.time()) + 1)
