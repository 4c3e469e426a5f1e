"""Issue 10, finding 5: money in a JSON body is a JSON number or a 400 (`"1e2"` used
to charge 100 credits; Arabic-Indic and full-width digits were read as ASCII ones);
in a multipart form, where every value is text, only plain digits with a dot are
read. A refused amount moves no credit and writes nothing."""

import json
from decimal import Decimal

import pytest

from accounts.models import CreditTransaction
from livestreams.models import Contribution, LiveStream
from tests.api import assert_envelope, assert_error
from tests.helpers import world_snapshot as snapshot
from tests.security.test_hostile_input import client_of

STRINGS_IN_JSON = {
    "exponent": "1e2",
    "arabic-indic": "\u0661\u0662",
    "full-width": "\uff15",
    "plain-digits": "12",
    "decimal": "2.50",
    "empty": "",
    "spaces": " 5 ",
}
NOT_PLAIN_IN_A_FORM = {
    "exponent": "1e2",
    "upper-exponent": "1E2",
    "arabic-indic": "\u0661\u0662",
    "full-width": "\uff15",
    "persian": "\u06f1\u06f2",
    "devanagari": "\u0967\u0968",
    "comma": "2,50",
    "thousands": "1,000",
    "leading-space": " 5",
    "plus": "+5",
    "hex": "0x10",
    "nan": "NaN",
    "infinity": "Infinity",
    "dot-first": ".5",
    "underscore": "1_000",
}


def fund_url(world) -> str:
    return f"/api/v1/live-stream/{world.other_scheduled.pk}/fund"


@pytest.mark.parametrize("amount", STRINGS_IN_JSON.values(), ids=STRINGS_IN_JSON.keys())
def test_a_string_amount_in_json_is_a_400_and_charges_nothing(world, amount):
    before = snapshot()
    response = client_of(world.me).post(fund_url(world), {"amount": amount}, format="json")
    assert_error(response, 400, contains="amount: Must be a JSON number, not a string.")
    assert snapshot() == before


@pytest.mark.parametrize("amount", NOT_PLAIN_IN_A_FORM.values(), ids=NOT_PLAIN_IN_A_FORM.keys())
def test_an_amount_that_is_not_plain_digits_in_a_form_is_a_400(world, amount):
    before = snapshot()
    response = client_of(world.me).post(fund_url(world), {"amount": amount}, format="multipart")
    assert_error(response, 400, contains="amount: ")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "charged"),
    [
        pytest.param('{"amount": 1e2}', Decimal("100"), id="json-number-with-exponent"),
        pytest.param('{"amount": 2.5}', Decimal("2.50"), id="json-decimal"),
        pytest.param('{"amount": 7}', Decimal("7"), id="json-integer"),
    ],
)
def test_a_json_number_is_charged_as_written(world, body, charged):
    response = client_of(world.me).generic(
        "POST", fund_url(world), body, content_type="application/json"
    )
    data = assert_envelope(response, 201)
    assert Decimal(str(data["contribution"]["amount"])) == charged
    entry = CreditTransaction.objects.get(kind="stream_funding_contribution")
    assert entry.amount == -charged


@pytest.mark.parametrize("amount", ["12", "2.5", "0.01"])
def test_plain_digits_in_a_form_are_read(world, amount):
    response = client_of(world.me).post(fund_url(world), {"amount": amount}, format="multipart")
    assert_envelope(response, 201)
    assert Contribution.objects.get().amount == Decimal(amount)


@pytest.mark.parametrize("field", ["price", "fundingGoal", "replayCreditPrice"])
@pytest.mark.parametrize("value", ["1e2", "\u0661\u0662", "\uff15", "12"])
def test_a_string_in_a_json_create_is_a_400(world, field, value):
    before = snapshot()
    response = client_of(world.newcomer).post(
        "/api/v1/live-stream/create", {"title": "Money", field: value}, format="json"
    )
    assert_error(response, 400, contains=f"{field}: Must be a JSON number")
    assert snapshot() == before


@pytest.mark.parametrize("field", ["price", "fundingGoal", "replayCreditPrice"])
@pytest.mark.parametrize("value", ["1e2", "\u0661\u0662", "\uff15", "7,50"])
def test_a_money_field_in_a_multipart_create_must_be_plain_digits(world, field, value):
    before = snapshot()
    response = client_of(world.newcomer).post(
        "/api/v1/live-stream/create", {"title": "Money", field: value}, format="multipart"
    )
    assert_error(response, 400, contains=f"{field}: Write plain digits with a dot")
    assert snapshot() == before


def test_plain_money_in_a_multipart_create_is_stored(world):
    response = client_of(world.newcomer).post(
        "/api/v1/live-stream/create",
        {"title": "Money", "price": "7.50", "fundingGoal": "100", "replayCreditPrice": "0"},
        format="multipart",
    )
    data = assert_envelope(response, 201)
    assert (data["price"], data["fundingGoal"], data["replayCreditPrice"]) == (7.5, 100, 0)
    stream = LiveStream.objects.get(pk=data["id"])
    assert stream.price == Decimal("7.50")


@pytest.mark.parametrize("value", ["1e2", "5", ""])
def test_a_string_replay_price_in_json_is_a_400(world, value):
    before = snapshot()
    response = client_of(world.me).patch(
        f"/api/v1/live-stream/{world.my_ended.pk}/replay-settings",
        json.dumps({"replayCreditPrice": value}),
        content_type="application/json",
    )
    assert_error(response, 400, contains="replayCreditPrice: Must be a JSON number")
    assert snapshot() == before
