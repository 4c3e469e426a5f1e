"""Serializer fields for the conventions of the API contract (§1)."""

import re
import unicodedata
from decimal import Decimal

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from allmine.core.ids import is_object_id
from allmine.core.timestamps import format_timestamp

OBJECT_ID_PATTERN = r"^[0-9a-f]{24}$"
OBJECT_ID_EXAMPLE = "64d15f9e2e6c8f4d5a123456"
TIMESTAMP_EXAMPLE = "2026-01-15T10:30:00.000Z"
OBJECT_ID_SCHEMA = {"type": "string", "pattern": OBJECT_ID_PATTERN, "example": OBJECT_ID_EXAMPLE}


@extend_schema_field({"type": "string", "format": "date-time", "example": TIMESTAMP_EXAMPLE})
class TimestampField(serializers.DateTimeField):
    """Renders UTC with milliseconds and `Z`; accepts only datetimes with a zone."""

    default_error_messages = {
        "invalid": _("Enter a valid ISO 8601 datetime, such as 2026-01-15T10:30:00.000Z."),
        "naive": _("The datetime must include a time zone (Z or an offset)."),
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.fail("naive")
        return parsed

    def to_representation(self, value):
        return format_timestamp(value)


class MoneyField(serializers.DecimalField):
    """An amount of money or credits: a JSON number with at most 2 decimals.

    Input may be a JSON number or a numeric string (multipart); it is never
    rendered as a string.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data == "" and self.allow_null:
            return (True, None)
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)

    def to_representation(self, value):
        return money_to_json(value)


@extend_schema_field({"type": "string", "format": "uri"})
class UrlField(serializers.CharField):
    """An absolute URL in a response."""


def money_to_json(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return float(round(value, 2))


@extend_schema_field(OBJECT_ID_SCHEMA)
class IdField(serializers.CharField):
    """An object id in a response (a 24-character hexadecimal string)."""


@extend_schema_field(OBJECT_ID_SCHEMA)
class ObjectIdInputField(serializers.CharField):
    default_error_messages = {"invalid_id": _("Must be a 24-character hexadecimal id.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not is_object_id(data):
            self.fail("invalid_id")
        return data


ALLOWED_CONTROL_CHARACTERS = frozenset("\t\n\r")


def no_control_characters(value: str) -> None:
    """Text a person typed: no control characters (NUL, escape, backspace, C1, ...)
    other than tab and line breaks. Other Unicode (emoji, right-to-left text,
    zero-width joiners) is kept as sent."""
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROL_CHARACTERS:
            raise ValidationError(_("Control characters are not allowed."))


_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@extend_schema_field(
    {
        "type": "string",
        "example": TIMESTAMP_EXAMPLE,
        "description": "A datetime with a zone, or a bare date (YYYY-MM-DD) meaning that whole "
        "UTC day.",
    }
)
class DayOrTimestampField(TimestampField):
    """A `TimestampField` that also takes a bare date (`2026-01-15`): the start of
    that UTC day, or with `end_of_day` its last microsecond (for inclusive ranges)."""

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str) and _BARE_DATE.fullmatch(value.strip()):
            time = "23:59:59.999999" if self.end_of_day else "00:00:00"
            value = f"{value.strip()}T{time}Z"
        return super().to_internal_value(value)
