"""Serializer fields for the conventions of the API contract (§1), each with the
schema facts it enforces beside it (`openapi_facts`, merged into the field's
OpenAPI schema by `allmine.apidocs.schema`), so that the schema states exactly
what the server accepts."""

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, overload

from django.http import QueryDict
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

# --- Forms -----------------------------------------------------------------------------


class FormNullMixin:
    """In a form (multipart or urlencoded, where every value is text), `null` for a
    field that may be null means null, as an empty value does (and as DRF's
    BooleanField already reads it): what a JSON body says with null, a form says so."""

    def get_value(self, dictionary: Any) -> Any:
        value = super().get_value(dictionary)  # type: ignore[misc]
        if value == "null" and self.allow_null and isinstance(dictionary, QueryDict):  # type: ignore[attr-defined]
            return None
        return value


class FormInputSerializer(serializers.Serializer):
    """An input serializer that also reads forms (multipart): a field that holds one
    value, given twice (`title=a&title=b`), is a 400, never read as its last value.
    (List fields, such as a stream's guests, may repeat.)"""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict):
            repeated = {
                name: [_("Give it once.")]
                for name, field in self.fields.items()
                if not isinstance(field, serializers.ListField) and len(data.getlist(name)) > 1
            }
            if repeated:
                raise ValidationError(repeated)
        return super().to_internal_value(data)


# --- Datetimes ------------------------------------------------------------------------

# Every datetime the API accepts lies in this window (UTC), whatever the field: a
# client cannot store a time the database would hold but Python could not read back
# (PostgreSQL keeps years up to 294276; Python's datetime stops at 9999). Fields
# narrow it further (a stream's planned start: at most a year ahead).
EARLIEST_ACCEPTED = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_ACCEPTED = datetime(2100, 1, 1, tzinfo=UTC)

# RFC 3339 (what `format: date-time` means in the schema), ASCII digits only: no
# week dates, no compact forms, no other scripts' digits (Python would read them).
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)

Bound = datetime | Callable[[], datetime]


def _resolve(bound: Bound) -> datetime:
    return bound() if callable(bound) else bound


def datetime_window_error(
    value: datetime, *, earliest: Bound = EARLIEST_ACCEPTED, latest: Bound = LATEST_ACCEPTED
) -> str | None:
    """Why `value` (aware) lies outside [earliest, latest], or None if it does not.
    A value whose UTC time Python cannot even represent is outside too."""
    low, high = _resolve(earliest), _resolve(latest)
    try:
        in_utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        in_utc = None
    if in_utc is None or not low <= in_utc <= high:
        return f"Must be between {format_timestamp(low)} and {format_timestamp(high)}."
    return None


class TimestampField(FormNullMixin, serializers.DateTimeField):
    """Renders UTC with milliseconds and `Z`; accepts only RFC 3339 datetimes with a
    zone, within [earliest, latest] (by default EARLIEST_ACCEPTED..LATEST_ACCEPTED),
    and returns them in UTC. `latest` (or `earliest`) may be a callable, read on
    each request (a window relative to now); `window_text` says it in the schema."""

    default_error_messages = {
        "invalid": _("Enter a valid ISO 8601 datetime, such as 2026-01-15T10:30:00.000Z."),
        "naive": _("The datetime must include a time zone (Z or an offset)."),
    }

    def __init__(
        self,
        *,
        earliest: Bound = EARLIEST_ACCEPTED,
        latest: Bound = LATEST_ACCEPTED,
        window_text: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.earliest = earliest
        self.latest = latest
        self.window_text = window_text
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        text = value.strip()
        match = _RFC3339.fullmatch(text)
        if match is None:
            self.fail("invalid")
        if match.group("zone") is None:
            self.fail("naive")
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None or parsed.utcoffset() is None:
            self.fail("invalid")
        problem = datetime_window_error(parsed, earliest=self.earliest, latest=self.latest)
        if problem:
            raise ValidationError(problem)
        return parsed.astimezone(UTC)

    def to_representation(self, value: datetime) -> str:
        return format_timestamp(value)

    def openapi_facts(self, direction: str) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "type": "string",
            "format": "date-time",
            "example": TIMESTAMP_EXAMPLE,
        }
        if direction == "request":
            window = self.window_text or (
                f"from {format_timestamp(_resolve(self.earliest))} "
                f"to {format_timestamp(_resolve(self.latest))}"
            )
            facts["description"] = (
                f"RFC 3339 with a zone (Z or an offset), {window}; returned in UTC."
            )
            # The years the window can reach, so that generated values stay near it.
            facts["pattern"] = r"^20[0-9]{2}-"
        return facts


# --- Money --------------------------------------------------------------------------

# Money in a form field (multipart) is text: plain ASCII digits, at most one dot.
# Never exponents ("1e2"), other scripts' digits (Arabic-Indic, full-width), spaces
# or separators, which Python's Decimal would all read.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _sent_as_form(field: serializers.Field) -> bool:
    """Whether the body the field is reading came as a form (multipart or
    urlencoded) or a query string, where every value is text, rather than JSON."""
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class MoneyField(FormNullMixin, serializers.DecimalField):
    """An amount of money or credits: a JSON number with at most 2 decimals.

    In a JSON body only a JSON number is accepted (`"12"` is a 400); in a form
    field, plain digits with a dot. It is never rendered as a string. `min_value`
    and `max_value` (a Decimal, or the name of a Decimal setting read per request)
    are checked here and stated in the schema."""

    default_error_messages = {
        "not_a_number": _("Must be a JSON number, not a string."),
        "not_plain": _("Write plain digits with a dot for decimals, such as 12.50."),
        "negative": _("Must not be negative."),
        "above": _("Must be at most {maximum}."),
        "below": _("Must be at least {minimum}."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        self.minimum = kwargs.pop("min_value", None)
        self.maximum = kwargs.pop("max_value", None)
        super().__init__(**kwargs)

    @staticmethod
    def _limit(value: Decimal | str | None) -> Decimal | None:
        if isinstance(value, str):
            from django.conf import settings

            return Decimal(getattr(settings, value))
        return value

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if isinstance(data, str) and not _sent_as_form(self):
            self.fail("not_a_number")
        if data == "" and self.allow_null:
            return (True, None)
        return serializers.Field.validate_empty_values(self, data)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            if not _sent_as_form(self):
                self.fail("not_a_number")
            if len(data) > self.MAX_STRING_LENGTH:
                self.fail("max_string_length")
            if not _PLAIN_DECIMAL.fullmatch(data):
                self.fail("not_plain")
        elif not isinstance(data, int | float | Decimal):
            self.fail("invalid")
        value = super().to_internal_value(data)
        minimum, maximum = self._limit(self.minimum), self._limit(self.maximum)
        if minimum is not None and value < minimum:
            if minimum == 0:
                self.fail("negative")
            self.fail("below", minimum=minimum)
        if maximum is not None and value > maximum:
            self.fail("above", maximum=maximum)
        return value

    def to_representation(self, value: Decimal | None) -> int | float | None:  # type: ignore[override]  # a JSON number, not DRF's string
        return money_to_json(value)

    def openapi_facts(self, direction: str) -> dict[str, Any]:
        places, digits = int(self.decimal_places or 0), int(self.max_digits or 12)
        step = Decimal(1).scaleb(-places)
        largest = Decimal(10) ** (digits - places) - step  # max_digits
        minimum, maximum = self._limit(self.minimum), self._limit(self.maximum)
        facts: dict[str, Any] = {"type": "number"}
        if direction == "request":
            facts["multipleOf"] = float(step)
            facts["minimum"] = money_to_json(
                -largest if minimum is None else max(minimum, -largest)
            )
            facts["maximum"] = money_to_json(largest if maximum is None else min(maximum, largest))
            facts["description"] = (
                f"A JSON number with at most {self.decimal_places} decimals "
                "(in a multipart form: plain digits with a dot)."
            )
        return facts


@extend_schema_field({"type": "string", "format": "uri"})
class UrlField(serializers.CharField):
    """An absolute URL in a response."""


@overload
def money_to_json(value: Decimal) -> int | float: ...
@overload
def money_to_json(value: Decimal | None) -> int | float | None: ...
def money_to_json(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return float(round(value, 2))


# --- Files --------------------------------------------------------------------------


class ImageUploadField(serializers.FileField):
    """An uploaded image, checked by decoding it (allmine.core.images), not here. In a
    form a file part is absent when there is none: the schema says a file, not null."""

    def openapi_facts(self, direction: str) -> dict[str, Any]:
        if direction != "request":
            return {}
        return {
            "type": "string",
            "format": "binary",
            "minLength": 1,
            "nullable": None,
            "description": "A JPEG, PNG or WebP image (decoded, not judged by its name or "
            "content type), not empty, within the size limits of what it is for.",
        }


# --- Ids ----------------------------------------------------------------------------


@extend_schema_field(OBJECT_ID_SCHEMA)
class IdField(serializers.CharField):
    """An object id in a response (a 24-character hexadecimal string)."""


@extend_schema_field(OBJECT_ID_SCHEMA)
class ObjectIdInputField(serializers.CharField):
    default_error_messages = {"invalid_id": _("Must be a 24-character hexadecimal id.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not is_object_id(data):
            self.fail("invalid_id")
        return data


# --- Text ---------------------------------------------------------------------------

ALLOWED_CONTROL_CHARACTERS = frozenset("\t\n\r")
# The control characters (Unicode category Cc) refused in text, as a JSON Schema
# (ECMA-262) character class: C0 but tab and line breaks, DEL and C1.
CONTROL_CHARACTER_CLASS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
NO_CONTROL_CHARACTERS_PATTERN = rf"^[^{CONTROL_CHARACTER_CLASS}]*$"
# The same, with at least one character that is not white space (what stays after
# trimming is not blank).
NOT_BLANK_NO_CONTROL_CHARACTERS_PATTERN = (
    rf"^[^{CONTROL_CHARACTER_CLASS}]*[^\s{CONTROL_CHARACTER_CLASS}][^{CONTROL_CHARACTER_CLASS}]*$"
)


def no_control_characters(value: str) -> None:
    """Text a person typed: no control characters (NUL, escape, backspace, C1, ...)
    other than tab and line breaks. Other Unicode (emoji, right-to-left text,
    zero-width joiners) is kept as sent."""
    for char in value:
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROL_CHARACTERS:
            raise ValidationError(_("Control characters are not allowed."))


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField also reads a JSON number or
    boolean as its text (`"name": 0` would be "0"), which the schema says is not a
    string."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _NotJsonBoolean:
    """A JSON value given for a boolean that is not one (kept to be refused where
    DRF reports a field's errors: in `to_internal_value`, under the field's name)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class StrictBooleanField(serializers.BooleanField):
    """In JSON, `true` or `false` (or null where allowed), as the schema says: DRF's
    BooleanField also reads "", "yes", "on", "1" or 1 as booleans. A form, where every
    value is text, keeps DRF's readings of text."""

    def get_value(self, dictionary: Any) -> Any:
        value = super().get_value(dictionary)
        if (
            isinstance(dictionary, QueryDict)
            or value is serializers.empty
            or value is None
            or isinstance(value, bool)
        ):
            return value
        return _NotJsonBoolean(value)

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, _NotJsonBoolean):
            self.fail("invalid", input=data.value)
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(FormNullMixin, StrictCharField):
    """Text a person typed (`no_control_characters`), trimmed, with the rule in the
    schema as a pattern."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [])
        kwargs["validators"] = [*kwargs["validators"], no_control_characters]
        super().__init__(**kwargs)

    def openapi_facts(self, direction: str) -> dict[str, Any]:
        if direction != "request":
            return {}
        # One string schema (drf-spectacular would say "blank or not" as a oneOf whose
        # branches both match "", which no string could satisfy).
        facts: dict[str, Any] = {"type": "string", "oneOf": None}
        if self.max_length is not None:
            facts["maxLength"] = self.max_length
        if self.allow_blank:
            facts["pattern"] = NO_CONTROL_CHARACTERS_PATTERN
        else:
            facts["minLength"] = 1
            facts["pattern"] = NOT_BLANK_NO_CONTROL_CHARACTERS_PATTERN
        return facts


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
