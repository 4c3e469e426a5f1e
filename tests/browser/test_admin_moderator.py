"""A moderator's night in the back office, in a real browser (issue 4): sign in
through the login form, filter the active streams, change a price in the list,
end a stream with a reason, and look at the funding progress page. (Issue 14's
dashboard, object pages and Turkish phone are in test_admin_back_office.py.)"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from allmine.core.models import AuditEntry
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import LiveStream
from livestreams.services.money import livestream_fund
from tests.factories import DEFAULT_PASSWORD, LiveStreamFactory, UserFactory

S = LiveStreamStatus
CHANGELIST = "/admin/livestreams/livestream/"
FUNDING = "/admin/livestreams/livestream/funding/"
REASON = "Broke the community rules at midnight"


@pytest.fixture
def night(moderators_group):
    """A moderator, two active streams, a scheduled one, and a half-funded one."""
    moderator = UserFactory(username="nightmod", is_staff=True)
    moderator.groups.add(moderators_group)
    now = timezone.now()
    live = {"status": S.ACTIVE, "started_at": now, "host_joined_at": now, "host_present": True}
    jazz = LiveStreamFactory(title="Midnight jazz", price=Decimal("5"), **live)
    chess = LiveStreamFactory(title="Chess blitz", **live)
    yoga = LiveStreamFactory(
        title="Morning yoga", status=S.SCHEDULED, planned_start_date=now + timedelta(hours=8)
    )
    funded = LiveStreamFactory(
        title="Album launch",
        status=S.SCHEDULED,
        planned_start_date=now + timedelta(days=2),
        funding_goal=Decimal("1000"),
    )
    fan = UserFactory(username="bigfan", credits="800")
    livestream_fund(user=fan, live_stream_id=funded.pk, amount=Decimal("500"))
    return {"moderator": moderator, "jazz": jazz, "chess": chess, "yoga": yoga, "funded": funded}


def row(page, title: str):
    """The changelist row of the stream called `title`."""
    return page.locator("#result_list tbody tr").filter(
        has=page.get_by_role("link", name=title, exact=True)
    )


def expect_titles(page, titles: list[str]):
    """The changelist shows these streams, live first (waiting for the page)."""
    expect(page.locator("#result_list tbody th.field-title a")).to_have_text(titles)


def test_a_moderator_filters_prices_ends_and_checks_the_funding(
    page, live_server, night, screenshots
):
    moderator: User = night["moderator"]
    jazz: LiveStream = night["jazz"]

    # --- Sign in through the real login form -------------------------------------
    page.goto(live_server.url + "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.fill("#id_username", "nightmod")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(live_server.url + "/admin/")
    expect(page.locator("#user-tools")).to_contain_text("nightmod")
    streams_link = page.locator("#livestreams-livestream").get_by_role("link", name="Live streams")
    expect(streams_link).to_be_visible()
    # What a moderator may not do is not offered: no "Add" for streams.
    expect(page.locator("a.addlink[href='/admin/livestreams/livestream/add/']")).to_have_count(0)

    # --- Filter the active streams ----------------------------------------------------
    streams_link.click()
    expect(page).to_have_url(live_server.url + CHANGELIST)
    # Live first, then about to start; newest first in each.
    expect_titles(page, ["Chess blitz", "Midnight jazz", "Album launch", "Morning yoga"])
    status_filter = page.locator("#changelist-filter details[data-filter-title='status']")
    status_filter.get_by_role("link", name="active", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?status__exact=active$"))
    expect(status_filter.locator("li.selected")).to_have_text("active")
    expect_titles(page, ["Chess blitz", "Midnight jazz"])
    expect(row(page, "Midnight jazz").locator("td.field-coloured_status")).to_have_text("active")

    # --- Change a price in the list and save -------------------------------------------
    price = row(page, "Midnight jazz").locator("td.field-price input")
    expect(price).to_have_value("5.00")
    price.fill("7.50")
    page.locator("#changelist-form input[name=_save]").click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("was changed successfully")
    expect(page).to_have_url(re.compile(r"\?status__exact=active$"))  # the filter is kept
    expect(row(page, "Midnight jazz").locator("td.field-price input")).to_have_value("7.50")
    expect(row(page, "Midnight jazz").locator("td.field-access")).to_have_text("paid")
    jazz.refresh_from_db()
    assert jazz.price == Decimal("7.50")
    price_change = AuditEntry.objects.get(target_id=jazz.pk, action="change_price")
    assert price_change.actor == moderator
    assert price_change.changes == {"price": ["5.00", "7.50"]}
    page.screenshot(path=str(screenshots / "admin-changelist-active.png"), full_page=True)

    # --- End a stream now, with a reason -----------------------------------------------------
    row(page, "Midnight jazz").locator("input.action-select").check()
    page.select_option("#changelist-form select[name=action]", "end_now")
    page.locator("#changelist-form button[name=index]").click()
    expect(page.locator("h1")).to_have_text("End stream")
    expect(page.locator("ul.action-objects")).to_contain_text("Midnight jazz")
    expect(page.locator("ul.action-objects")).not_to_contain_text("Chess blitz")
    page.fill("#id_reason", REASON)
    page.get_by_role("button", name="End 1 stream").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text("Ended 1 stream.")
    # Still filtered on active: the ended stream has left the list.
    expect(page).to_have_url(re.compile(r"\?status__exact=active$"))
    expect_titles(page, ["Chess blitz"])
    page.locator("#changelist-filter details[data-filter-title='status']").get_by_role(
        "link", name="All", exact=True
    ).click()
    expect(row(page, "Midnight jazz").locator("td.field-coloured_status")).to_have_text("ended")
    expect(row(page, "Chess blitz").locator("td.field-coloured_status")).to_have_text("active")
    jazz.refresh_from_db()
    assert jazz.status == S.ENDED
    assert jazz.ended_at is not None
    ended = AuditEntry.objects.get(target_id=jazz.pk, action="end")
    assert (ended.actor, ended.reason) == (moderator, REASON)
    assert ended.changes == {"status": ["active", "ended"]}
    assert LiveStream.objects.get(pk=night["chess"].pk).status == S.ACTIVE
    page.screenshot(path=str(screenshots / "admin-changelist.png"), full_page=True)

    # --- The funding page: bars and chart -------------------------------------------------------
    page.get_by_role("link", name="Funding progress").click()
    expect(page).to_have_url(live_server.url + FUNDING)
    expect(page.locator("h1")).to_have_text("Funding progress")
    funded_row = page.locator("tr.funding-row").filter(has_text="Album launch")
    expect(funded_row).to_have_count(1)
    expect(funded_row.locator(".funding-progress__text")).to_have_text("500 / 1000 (50.00 %)")
    fill = funded_row.locator(".funding-progress__fill")
    assert fill.get_attribute("width") == "50.00"  # an SVG bar: no inline style (CSP)
    track_width = funded_row.locator(".funding-progress__track").bounding_box()["width"]
    assert fill.bounding_box()["width"] == pytest.approx(track_width / 2, abs=2)
    expect(funded_row.locator(".funding-contributors")).to_have_text("1")
    # Streams without a goal are not on this page.
    expect(page.locator("tr.funding-row")).to_have_count(1)
    chart = page.locator("svg.funding-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("g.funding-chart__bar")).to_have_count(30)
    today = chart.locator("g.funding-chart__bar").last
    expect(today.locator("title")).to_contain_text("500 credits")
    assert float(today.locator("rect.funding-chart__value").get_attribute("height")) > 0
    expect(page.locator(".funding-totals__progress")).to_have_text("500 / 1000 (50.00 %)")
    page.screenshot(path=str(screenshots / "admin-funding.png"), full_page=True)


def test_a_wrong_password_keeps_the_moderator_out(page, live_server, night):
    page.goto(live_server.url + CHANGELIST)
    page.fill("#id_username", "nightmod")
    page.fill("#id_password", "not-the-password")
    page.click("#login-form input[type=submit]")
    expect(page.locator(".errornote")).to_contain_text("correct username and password")
    page.goto(live_server.url + CHANGELIST)
    expect(page).to_have_url(re.compile(r"/admin/login/"))
