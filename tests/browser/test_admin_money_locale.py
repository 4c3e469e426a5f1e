"""Issue 10, finding 9, in a real browser: a moderator in the Turkish admin typed
`7,50` in the changelist's price box and `750.00` was saved with a success message
(Chromium's number box read the comma as a thousands separator and dropped it).

Money boxes in the admin are text boxes read in the admin's language: `7,50` in
Turkish is 7.50, and what could be read two ways is refused, never guessed."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from allmine.core.models import AuditEntry
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import LiveStream
from tests.factories import DEFAULT_PASSWORD, LiveStreamFactory, UserFactory

CHANGELIST = "/admin/livestreams/livestream/"


@pytest.fixture
def turkish_page(browser):
    """A tab of a browser set up for Turkey: Turkish UI and number formats."""
    context = browser.new_context(
        locale="tr-TR", timezone_id="Europe/Istanbul", viewport={"width": 1920, "height": 1080}
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def jazz(moderators_group):
    moderator = UserFactory(username="gecemod", is_staff=True)
    moderator.groups.add(moderators_group)
    now = timezone.now()
    return LiveStreamFactory(
        title="Gece caz",
        price=Decimal("5"),
        status=LiveStreamStatus.ACTIVE,
        started_at=now,
        host_joined_at=now,
        host_present=True,
    )


def sign_in(page, live_server):
    page.goto(live_server.url + CHANGELIST)
    page.fill("#id_username", "gecemod")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(live_server.url + CHANGELIST)


def price_box(page, title: str):
    row = page.locator("#result_list tbody tr").filter(
        has=page.get_by_role("link", name=title, exact=True)
    )
    return row.locator("td.field-price input")


def save(page):
    page.locator("#changelist-form input[name=_save]").click()


def test_a_price_typed_the_turkish_way_is_stored_as_meant(turkish_page, live_server, jazz):
    page = turkish_page
    sign_in(page, live_server)
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    box = price_box(page, "Gece caz")
    box.click()
    box.press("Control+a")
    box.press_sequentially("7,50")  # key by key, as the moderator typed it
    save(page)

    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    jazz.refresh_from_db()
    assert jazz.price == Decimal("7.50")  # not 750.00
    expect(price_box(page, "Gece caz")).to_have_value("7,50")  # shown the Turkish way
    change = AuditEntry.objects.get(target_id=jazz.pk, action="change_price")
    assert change.changes == {"price": ["5.00", "7.50"]}


def test_a_dot_is_read_as_decimals_too_in_turkish(turkish_page, live_server, jazz):
    page = turkish_page
    sign_in(page, live_server)
    price_box(page, "Gece caz").fill("7.5")
    save(page)
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    jazz.refresh_from_db()
    assert jazz.price == Decimal("7.50")


@pytest.mark.parametrize("typed", ["1.500", "7,5,0", "7 50", "1e2", "٧٫٥"])
def test_what_cannot_be_read_one_way_is_refused_and_nothing_changes(
    turkish_page, live_server, jazz, typed
):
    page = turkish_page
    sign_in(page, live_server)
    price_box(page, "Gece caz").fill(typed)
    save(page)
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("ul.messagelist li.success")).to_have_count(0)
    expect(page.locator("#result_list ul.errorlist")).to_be_visible()
    assert LiveStream.objects.get(pk=jazz.pk).price == Decimal("5")
    assert not AuditEntry.objects.filter(target_id=jazz.pk, action="change_price").exists()


def test_in_the_english_admin_a_comma_is_refused_not_dropped(page, live_server, jazz):
    sign_in(page, live_server)
    box = price_box(page, "Gece caz")
    expect(box).to_have_value("5.00")
    box.fill("7,50")
    save(page)
    expect(page.locator("#result_list ul.errorlist")).to_contain_text(re.compile("7.50"))
    assert LiveStream.objects.get(pk=jazz.pk).price == Decimal("5")
