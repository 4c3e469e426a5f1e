"""The one timestamp format of the API: UTC, milliseconds, `Z`."""

from datetime import UTC, datetime
from typing import overload

from django.utils import timezone


@overload
def format_timestamp(value: datetime) -> str: ...
@overload
def format_timestamp(value: None) -> None: ...
@overload
def format_timestamp(value: datetime | None) -> str | None: ...
def format_timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    # The year padded by hand: strftime's %Y gives "1", not "0001", on Linux.
    return f"{value.year:04d}-{value:%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def now_timestamp() -> str:
    return format_timestamp(timezone.now())
