"""Object ids (allmine/ids.py), the serializer fields of §1 (allmine/fields.py)
and the flattening of DRF's errors into "<field>: <message>" lines."""

import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from allmine.core.exception_handler import flatten_validation_errors
from allmine.core.fields import (
    MoneyField,
    ObjectIdInputField,
    StrictBooleanField,
    TimestampField,
    money_to_json,
)
from allmine.core.ids import is_object_id, new_object_id
from tests.api import OBJECT_ID_RE, TIMESTAMP_RE

# --- Ids ----------------------------------------------------------------------


def test_new_object_id_is_24_lowercase_hex():
    value = new_object_id()
    assert len(value) == 24
    assert OBJECT_ID_RE.fullmatch(value)
    assert value == value.lower()


def test_new_object_id_starts_with_its_creation_time():
    before = int(time.time())
    value = new_object_id()
    after = int(time.time())
    created = int.from_bytes(bytes.fromhex(value[:8]), "big")
    assert before - 2 <= created <= after + 2


def test_new_object_ids_are_unique_and_well_formed():
    ids = [new_object_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(OBJECT_ID_RE.fullmatch(v) for v in ids)
    # Not just a counter in the tail: the 8 random bytes differ.
    assert len({v[8:] for v in ids}) == len(ids)


@pytest.mark.parametrize(
    "value",
    ["64d1f0a2b3c4d5e6f7a8b9c0", "000000000000000000000000", "ffffffffffffffffffffffff"],
)
def test_is_object_id_accepts_well_formed_ids(value):
    assert is_object_id(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "",
        "64D1F0A2B3C4D5E6F7A8B9C0",  # upper case
        "64d1f0a2b3c4d5e6f7a8b9c",  # 23
        "64d1f0a2b3c4d5e6f7a8b9c01",  # 25
        "64d1f0a2b3c4d5e6f7a8b9cg",  # not hex
        "64d1f0a2b3c4d5e6f7a8b9c0\n",
        " 64d1f0a2b3c4d5e6f7a8b9c0",
        "64d1f0a2-3c4d5e6f7a8b9c0",
        None,
        123,
        b"64d1f0a2b3c4d5e6f7a8b9c0",
        ["64d1f0a2b3c4d5e6f7a8b9c0"],
    ],
)
def test_is_object_id_refuses_anything_else(value):
    assert is_object_id(value) is False


def test_object_id_input_field():
    field = ObjectIdInputField()
    assert field.run_validation("64d1f0a2b3c4d5e6f7a8b9c0") == "64d1f0a2b3c4d5e6f7a8b9c0"
    for bad in ("64d1f0a2b3c4d5e6f7a8b9c0 ", "nope", 5, "64D1F0A2B3C4D5E6F7A8B9C0"):
        with pytest.raises(serializers.ValidationError) as info:
            field.run_validation(bad)
        assert info.value.detail == ["Must be a 24-character hexadecimal id."]


# --- TimestampField -----------------------------------------------------------


class _When(serializers.Serializer):
    at = TimestampField()


def _parse(value):
    serializer = _When(data={"at": value})
    valid = serializer.is_valid()
    return valid, serializer.validated_data.get("at") if valid else serializer.errors


def test_timestamp_renders_utc_milliseconds_z():
    field = TimestampField()
    value = datetime(2026, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)
    assert field.to_representation(value) == "2026-01-15T10:30:00.123Z"


def test_timestamp_renders_other_zones_in_utc():
    field = TimestampField()
    istanbul = timezone(timedelta(hours=3))
    value = datetime(2026, 1, 15, 13, 30, 0, tzinfo=istanbul)
    rendered = field.to_representation(value)
    assert rendered == "2026-01-15T10:30:00.000Z"
    assert TIMESTAMP_RE.fullmatch(rendered)


def test_timestamp_output_has_exactly_three_decimals():
    field = TimestampField()
    assert field.to_representation(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"
    assert (
        field.to_representation(datetime(2026, 1, 1, 0, 0, 0, 999999, tzinfo=UTC))
        == "2026-01-01T00:00:00.999Z"
    )


def test_timestamp_always_has_a_four_digit_year():
    """The output keeps the contract's format for any stored year (found by the
    fuzzer: a stream planned for 0001-01-01 was rendered "1-01-01..."); since issue
    10 the input refuses a year outside the accepted window instead of storing it."""
    field = TimestampField()
    early = datetime(1, 1, 1, 4, 0, tzinfo=UTC)
    assert field.to_representation(early) == "0001-01-01T04:00:00.000Z"
    assert field.to_representation(datetime(999, 12, 31, tzinfo=UTC)) == "0999-12-31T00:00:00.000Z"
    assert TIMESTAMP_RE.fullmatch(field.to_representation(early))
    valid, errors = _parse("0001-01-01T04:00:00Z")
    assert not valid and list(errors) == ["at"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-15T10:30:00.000Z", datetime(2026, 1, 15, 10, 30, tzinfo=UTC)),
        ("2026-01-15T10:30:00Z", datetime(2026, 1, 15, 10, 30, tzinfo=UTC)),
        ("2026-01-15T13:30:00+03:00", datetime(2026, 1, 15, 10, 30, tzinfo=UTC)),
        ("2026-01-15T05:30:00.500-05:00", datetime(2026, 1, 15, 10, 30, 0, 500000, tzinfo=UTC)),
    ],
)
def test_timestamp_accepts_zones_and_converts(raw, expected):
    valid, value = _parse(raw)
    assert valid, value
    assert value.tzinfo is not None
    assert value == expected
    assert TimestampField().to_representation(value) == TimestampField().to_representation(expected)


@pytest.mark.parametrize("raw", ["2026-01-15T10:30:00", "2026-01-15T10:30:00.000", "2026-01-15"])
def test_timestamp_rejects_naive_datetimes(raw):
    valid, errors = _parse(raw)
    assert not valid
    if raw == "2026-01-15":
        assert errors["at"]  # a date alone is no datetime at all
    else:
        assert errors == {"at": ["The datetime must include a time zone (Z or an offset)."]}


@pytest.mark.parametrize(
    "raw", ["", "tomorrow", "2026-13-45T10:30:00Z", "2026-01-15T25:00:00Z", 1768473000, [], {}]
)
def test_timestamp_rejects_garbage(raw):
    valid, errors = _parse(raw)
    assert not valid
    assert list(errors) == ["at"]


def test_timestamp_rejects_a_datetime_object_without_zone():
    valid, errors = _parse(datetime(2026, 1, 15, 10, 30))
    assert not valid
    assert list(errors) == ["at"]


# --- MoneyField ---------------------------------------------------------------


class _Price(serializers.Serializer):
    price = MoneyField(allow_null=True, required=False, min_value=Decimal("0"))


def _money(value, *, form: bool = False):
    """`value` as a JSON body's field, or (`form`) as a multipart form's."""
    data = {"price": value}
    if form:
        data = QueryDict(mutable=True)
        data["price"] = value
    serializer = _Price(data=data)
    valid = serializer.is_valid()
    return valid, serializer.validated_data.get("price") if valid else serializer.errors


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12.50"), 12.5),
        (Decimal("10.00"), 10),
        (Decimal("0"), 0),
        (Decimal("0.01"), 0.01),
        (Decimal("9999999999.99"), 9999999999.99),
    ],
)
def test_money_renders_a_json_number(value, expected):
    rendered = MoneyField().to_representation(value)
    assert rendered == expected
    assert isinstance(rendered, int | float)
    assert not isinstance(rendered, bool)


def test_money_to_json_none_is_none():
    assert money_to_json(None) is None


def test_money_renders_as_a_number_through_a_serializer():
    data = _Price({"price": Decimal("7.25")}).data
    assert data["price"] == 7.25
    assert isinstance(data["price"], float)


@pytest.mark.parametrize(
    ("raw", "expected"), [(12.5, Decimal("12.50")), (3, Decimal("3")), (0.99, "0.99")]
)
def test_money_accepts_json_numbers(raw, expected):
    valid, value = _money(raw)
    assert valid, value
    assert value == Decimal(expected)


@pytest.mark.parametrize(("raw", "expected"), [("12.5", "12.50"), ("3", "3"), ("0.99", "0.99")])
def test_money_accepts_plain_decimal_text_in_a_form(raw, expected):
    valid, value = _money(raw, form=True)
    assert valid, value
    assert value == Decimal(expected)


@pytest.mark.parametrize("raw", ["12.5", "12", "", "1e2", "0.99"])
def test_money_refuses_a_string_in_json(raw):
    valid, errors = _money(raw)
    assert not valid
    assert errors["price"] == ["Must be a JSON number, not a string."]


@pytest.mark.parametrize(
    "raw", ["1e2", "1E2", "\u0661\u0662", "\uff15", " 5", "5 ", "1,5", ".5", "5.", "+5", "0x10"]
)
def test_money_refuses_anything_but_plain_digits_in_a_form(raw):
    valid, errors = _money(raw.encode().decode("unicode_escape"), form=True)
    assert not valid
    assert errors["price"] == ["Write plain digits with a dot for decimals, such as 12.50."]


@pytest.mark.parametrize("raw", ["1.234", 1.234, "0.001", Decimal("5.555")])
def test_money_rejects_three_decimals(raw):
    valid, errors = _money(raw)
    assert not valid
    assert list(errors) == ["price"]


@pytest.mark.parametrize("raw", [True, False])
def test_money_rejects_booleans(raw):
    valid, errors = _money(raw)
    assert not valid
    assert errors["price"] == ["A valid number is required."]


@pytest.mark.parametrize("raw", ["abc", "NaN", "Infinity", "-Infinity", [], {}])
def test_money_rejects_non_numbers(raw):
    valid, errors = _money(raw)
    assert not valid
    assert list(errors) == ["price"]


class _Switches(serializers.Serializer):
    on = StrictBooleanField(required=False, allow_null=True)


def _switch(raw, *, form=False):
    data: QueryDict | dict = QueryDict(mutable=True) if form else {}
    data["on"] = raw
    serializer = _Switches(data=data)
    valid = serializer.is_valid()
    return valid, (serializer.validated_data.get("on") if valid else serializer.errors)


@pytest.mark.parametrize(("raw", "expected"), [(True, True), (False, False), (None, None)])
def test_a_json_boolean_is_true_false_or_null(raw, expected):
    assert _switch(raw) == (True, expected)


@pytest.mark.parametrize("raw", ["", "true", "yes", "on", "1", 1, 0, 1.0, "null", [], {}])
def test_a_json_boolean_refuses_what_is_not_one(raw):
    valid, errors = _switch(raw)
    assert not valid
    assert errors["on"] == ["Must be a valid boolean."]


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("false", False), ("1", True), ("", None), ("null", None)]
)
def test_a_boolean_in_a_form_is_read_from_its_text(raw, expected):
    assert _switch(raw, form=True) == (True, expected)


def test_money_empty_form_field_is_null_when_allowed():
    valid, value = _money("", form=True)
    assert valid
    assert value is None


def test_money_honours_min_value():
    valid, errors = _money(-1)
    assert not valid
    assert list(errors) == ["price"]


# --- flatten_validation_errors ------------------------------------------------


def test_flatten_fields():
    detail = {
        "title": [ErrorDetail("This field is required.", code="required")],
        "price": [ErrorDetail("Too many decimals.", code="max_decimal_places"), "Negative."],
    }
    assert flatten_validation_errors(detail) == [
        "title: This field is required.",
        "price: Too many decimals.",
        "price: Negative.",
    ]


def test_flatten_non_field_errors_have_no_prefix():
    detail = {"non_field_errors": ["plannedEndDate must be after plannedStartDate."]}
    assert flatten_validation_errors(detail) == ["plannedEndDate must be after plannedStartDate."]


def test_flatten_nested_objects_and_lists():
    detail = {
        "guests": {0: ["Not a valid id."], 2: ["Unknown user."]},
        "funding": [{"goal": ["Must be positive."]}, {}],
        "meta": {"inner": {"deep": ["Bad."]}},
    }
    assert flatten_validation_errors(detail) == [
        "guests.0: Not a valid id.",
        "guests.2: Unknown user.",
        "funding.0.goal: Must be positive.",
        "meta.inner.deep: Bad.",
    ]


def test_flatten_plain_list_and_string():
    assert flatten_validation_errors(["One.", "Two."]) == ["One.", "Two."]
    assert flatten_validation_errors("Alone.") == ["Alone."]


def test_flatten_from_a_real_serializer():
    class Register(serializers.Serializer):
        username = serializers.CharField()
        email = serializers.EmailField()

    serializer = Register(data={"email": "not-an-email"})
    assert not serializer.is_valid()
    assert flatten_validation_errors(serializer.errors) == [
        "username: This field is required.",
        "email: Enter a valid email address.",
    ]
