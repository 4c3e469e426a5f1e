"""The room's rate limits (API-more §6.5), per user; rates in
`settings.API_THROTTLE_RATES` (THROTTLE_GIFTS, THROTTLE_REPORTS)."""

from allmine.core.throttling import PerUserThrottle


class GiftThrottle(PerUserThrottle):
    scope = "gifts"  # 30 a minute by default


class ReportThrottle(PerUserThrottle):
    scope = "reports"  # 10 an hour by default
