"""Request rate limits kept in the shared cache (Redis in production), so that a
limit holds across every app server. If the cache cannot be reached the API keeps
serving: throttling fails open, with a warning logged at most once a minute."""

import logging
import time

from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from allmine.core.http import client_ip

logger = logging.getLogger("allmine.throttling")
WARNING_INTERVAL_SECONDS = 60
_last_warning = 0.0


def _warn_cache_down(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARNING_INTERVAL_SECONDS:
        _last_warning = now
        logger.warning("Throttling is off: the cache is unreachable (%s).", type(exc).__name__)


def _count(cache, key: str, timeout: int) -> int:
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
        try:
            count = _count(self.cache, key, timeout=self.duration + 1)
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

    def allow_request(self, request, view):
        if not request.FILES:
            return True
        return super().allow_request(request, view)


class UploadBurstThrottle(UploadThrottle):
    """The same, over a short window: no burst of uploads at once."""

    scope = "upload_burst"


UPLOAD_THROTTLES = [UploadBurstThrottle, UploadThrottle]


class LoginThrottle(PerClientAddressThrottle):
    scope = "login"


class RegisterThrottle(PerClientAddressThrottle):
    scope = "register"
