"""Request rate limits kept in the shared cache (Redis in production), so that a
limit holds across every app server. If the cache cannot be reached the API keeps
serving: throttling fails open, with a warning logged at most once a minute."""

import logging
import time

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from allmine.http import client_ip

logger = logging.getLogger("allmine.throttling")
WARNING_INTERVAL_SECONDS = 60
_last_warning = 0.0


def _warn_cache_down(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARNING_INTERVAL_SECONDS:
        _last_warning = now
        logger.warning("Throttling is off: the cache is unreachable (%s).", type(exc).__name__)


class FailOpenThrottle(SimpleRateThrottle):
    """A DRF throttle whose rate comes from `settings.API_THROTTLE_RATES[scope]`
    (read per request, so it can be changed in tests and by configuration)."""

    scope: str

    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:
            _warn_cache_down(exc)
            return True


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


class LoginThrottle(PerClientAddressThrottle):
    scope = "login"


class RegisterThrottle(PerClientAddressThrottle):
    scope = "register"
