"""The one timestamp format of the API: UTC, milliseconds, `Z`."""

from datetime import UTC, datetime

from django.utils import timezone


def format_timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def now_timestamp() -> str:
    return format_timestamp(timezone.now())
