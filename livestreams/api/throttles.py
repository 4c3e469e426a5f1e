"""The room's rate limits (API-more §6.5), per user; rates in
`settings.API_THROTTLE_RATES` (THROTTLE_GIFTS, THROTTLE_REPORTS, THROTTLE_CHAT,
THROTTLE_SUPERLIKES)."""

from allmine.core.ids import is_object_id
from allmine.core.throttling import PerUserThrottle


class GiftThrottle(PerUserThrottle):
    scope = "gifts"  # 30 a minute by default


class ReportThrottle(PerUserThrottle):
    scope = "reports"  # 10 an hour by default


class ChatThrottle(PerUserThrottle):
    """Chat messages per user and stream (THROTTLE_CHAT, 20 a minute by default):
    a busy user in one room is not slowed down in another."""

    scope = "chat"

    def get_cache_key(self, request, view):
        key = super().get_cache_key(request, view)
        stream_id = view.kwargs.get("stream_id", "")
        # A malformed id (refused later with a 400) never makes a long cache key.
        return f"{key}:{stream_id if is_object_id(stream_id) else 'invalid'}"


class SuperlikeThrottle(PerUserThrottle):
    scope = "superlikes"  # 10 a minute by default
