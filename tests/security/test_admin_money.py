"""Issue 10, finding 9, without a browser: the admin reads money in the admin's
language and never drops a separator (tests/browser/test_admin_money_locale.py
types it in Chromium)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from allmine.core.forms import LocalizedMoneyField, parse_typed_amount
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import LiveStream
from tests.factories import LiveStreamFactory

READ = [
    ("tr", "7,50", "7.50"),
    ("tr", "7.5", "7.5"),
    ("tr", "7", "7"),
    ("tr", " 12,3 ", "12.3"),
    ("tr", "0,01", "0.01"),
    ("tr", "1,500", "1.5"),  # a comma is the decimal separator in Turkish
    ("en", "7.50", "7.50"),
    ("en", "1.500", "1.5"),
    ("en", "10000", "10000"),
]
REFUSED = [
    ("tr", "1.500"),  # 1500 or 1.5? refused, not guessed
    ("tr", "1.000,50"),
    ("tr", "7,5,0"),
    ("tr", "7 50"),
    ("tr", "1e2"),
    ("tr", "\u0667\u066b\u0665"),  # Arabic-Indic 7.5
    ("tr", "\uff17,\uff15"),  # full-width
    ("tr", ",5"),
    ("en", "7,50"),
    ("en", "1,500"),
    ("en", "1,000.50"),
    ("en", "$7.50"),
    ("en", "7.50 TL"),
    ("en", "--5"),
]


@pytest.mark.parametrize(("language", "typed", "value"), READ)
def test_an_amount_is_read_in_the_admins_language(language, typed, value):
    with translation.override(language):
        assert parse_typed_amount(typed) == Decimal(value)


@pytest.mark.parametrize(("language", "typed"), REFUSED)
def test_an_amount_that_cannot_be_read_one_way_is_refused(language, typed):
    with translation.override(language), pytest.raises(ValidationError):
        parse_typed_amount(typed)


def test_the_money_box_is_a_text_box_shown_in_the_admins_language():
    field = LocalizedMoneyField()
    with translation.override("tr"):
        html = field.widget.render("price", field.prepare_value(Decimal("7.50")))
    assert 'type="text"' in html and 'inputmode="decimal"' in html
    assert 'value="7,50"' in html


def test_three_decimals_are_refused():
    with translation.override("tr"), pytest.raises(ValidationError):
        LocalizedMoneyField().clean("7,505")


@pytest.mark.parametrize(
    ("language", "typed", "stored"),
    [("tr", "7,50", Decimal("7.50")), ("en", "7.50", Decimal("7.50")), ("tr", "", None)],
)
def test_the_changelist_price_box_reads_the_admins_language(
    admin_client, db, language, typed, stored
):
    stream = LiveStreamFactory(price=Decimal("5"), status=LiveStreamStatus.ACTIVE)
    response = admin_client.post(
        "/admin/livestreams/livestream/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": stream.pk,
            "form-0-price": typed,
            "form-0-replay_credit_price": "",
            "_save": "Save",
        },
        headers={"accept-language": language},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert LiveStream.objects.get(pk=stream.pk).price == stored


@pytest.mark.parametrize(("language", "typed"), [("tr", "1.500"), ("en", "7,50"), ("tr", "1e2")])
def test_the_changelist_refuses_an_unreadable_price_and_keeps_the_old_one(
    admin_client, db, language, typed
):
    stream = LiveStreamFactory(price=Decimal("5"), status=LiveStreamStatus.ACTIVE)
    response = admin_client.post(
        "/admin/livestreams/livestream/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": stream.pk,
            "form-0-price": typed,
            "form-0-replay_credit_price": "",
            "_save": "Save",
        },
        headers={"accept-language": language},
    )
    assert response.status_code == 200  # the list again, with the error at the box
    assert "errorlist" in response.content.decode()
    assert LiveStream.objects.get(pk=stream.pk).price == Decimal("5")
