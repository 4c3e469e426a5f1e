"""The back office a moderator wants at midnight (issue 14), in Debian's Chromium.

Done when: from the dashboard, a moderator finds the most-watched live stream,
ends it with a reason, bans a participant from it and sees all of it in the
stream's history, in Turkish, on a phone, without touching a changelist
checkbox. Each step is a test of its own (with what the step before left
behind made directly), and the whole walk is one more. Then: the bulk preview,
the object pages' actions in English, the Turkish capitals, and the layouts at
1440 and 390 px. Screenshots go to test-output/screenshots/."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from allmine.core.models import AuditEntry
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import BanAction, LiveStream, LiveStreamBan, Participant
from livestreams.services.bans import ban_create
from livestreams.services.moderation import livestream_end
from livestreams.services.money import livestream_fund
from tests.factories import DEFAULT_PASSWORD, LiveStreamFactory, UserFactory

S = LiveStreamStatus
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}


@pytest.fixture
def open_tab(browser):
    """`open_tab(locale, viewport)`: a fresh tab (own cookies)."""
    contexts = []

    def make(locale: str = "en-US", viewport: dict = LAPTOP):
        context = browser.new_context(locale=locale, viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page, live_server, username: str = "ayse"):
    page.goto(live_server.url + "/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(live_server.url + "/admin/")


def no_sideways_scroll(page, width: int):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def live(title: str, viewers: list[str]) -> LiveStream:
    now = timezone.now()
    stream = LiveStreamFactory(
        title=title, status=S.ACTIVE, started_at=now - timedelta(minutes=20), host_present=True
    )
    for name in viewers:
        Participant.objects.create(live_stream=stream, user=UserFactory(username=name))
    return stream


@pytest.fixture
def midnight(moderators_group):
    """Ayşe, a moderator; the most watched stream "Akustik konser" (3 viewers,
    one of them a troll), a quieter one, and a scheduled one being funded."""
    ayse = UserFactory(username="ayse", name="Ayşe", is_staff=True)
    ayse.groups.add(moderators_group)
    concert = live("Akustik konser", ["dinleyici", "meraklı", "trol"])
    quiet = live("Gece cazı", ["yalnız"])
    funded = LiveStreamFactory(
        title="Albüm lansmanı",
        status=S.SCHEDULED,
        planned_start_date=timezone.now() + timedelta(hours=5),
        funding_goal=Decimal("1000"),
    )
    fan = UserFactory(username="hayran", credits="800")
    livestream_fund(user=fan, live_stream_id=funded.pk, amount=Decimal("500"))
    return {"ayse": ayse, "concert": concert, "quiet": quiet, "funded": funded, "fan": fan}


# --- Done when: each step, in Turkish, on a phone ---------------------------------------------


def test_step_1_the_dashboard_leads_to_the_most_watched_stream(
    open_tab, live_server, midnight, screenshots
):
    page = open_tab("tr-TR", PHONE)
    sign_in(page, live_server)

    expect(page.locator("h1")).to_have_text("Pano")
    most = page.locator("#panel-most-watched")
    expect(most.locator("h2")).to_have_text("Şu an en çok izlenenler")
    # CSS uppercase with lang="tr" capitalises the dotless and the dotted i apart.
    assert most.locator("thead th").nth(1).inner_text() == "ANLIK İZLEYİCİ"
    expect(most.locator("tbody tr").first).to_contain_text("Akustik konser")
    expect(most.locator("tbody tr").first.locator("td.numeric")).to_have_text("3")
    expect(page.locator("#panel-live-now .dashboard-panel__note")).to_have_text("2 yayın canlı.")
    expect(page.locator("#panel-funding-close")).to_contain_text("500 / 1000 (%50,00)")
    no_sideways_scroll(page, PHONE["width"])
    page.screenshot(path=str(screenshots / "admin-dashboard-phone-tr.png"), full_page=True)

    most.get_by_role("link", name="Akustik konser").click()

    concert = midnight["concert"]
    expect(page).to_have_url(f"{live_server.url}/admin/livestreams/livestream/{concert.pk}/change/")
    buttons = page.locator(".object-tools a.moderator-action")
    expect(buttons).to_have_text(
        ["Yayını sonlandır", "Yayını kaldır", "Bir kullanıcıyı yayından yasakla"]
    )
    assert buttons.nth(2).inner_text() == "BİR KULLANICIYI YAYINDAN YASAKLA"  # uppercase, lang=tr
    no_sideways_scroll(page, PHONE["width"])


def test_step_2_the_stream_is_ended_from_its_page_with_a_reason(
    open_tab, live_server, midnight, screenshots
):
    concert = midnight["concert"]
    page = open_tab("tr-TR", PHONE)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/livestreams/livestream/{concert.pk}/change/")

    page.get_by_role("link", name="Yayını sonlandır").click()

    expect(page.locator("h1")).to_have_text("Yayını sonlandır")
    consequences = page.locator(".action-consequences")
    expect(consequences).to_contain_text("Yayın hemen sona erer")
    expect(consequences).to_contain_text(
        f"Yayıncısı {concert.creator.username} kanaldan çıkarılır."
    )
    expect(consequences).to_contain_text("3 izleyici izliyor ve kanaldan çıkarılır")
    expect(consequences).to_contain_text("trol")
    expect(page.get_by_role("link", name="Geri dön")).to_be_visible()
    no_sideways_scroll(page, PHONE["width"])
    page.screenshot(path=str(screenshots / "admin-end-phone-tr.png"), full_page=True)
    page.fill("#id_reason", "spam")
    page.get_by_role("button", name="Yayını sonlandır").click()

    expect(page).to_have_url(f"{live_server.url}/admin/livestreams/livestream/{concert.pk}/change/")
    expect(page.locator("ul.messagelist li.success")).to_have_text("1 yayın sonlandırıldı.")
    expect(page.locator(".field-status_detail .stream-status")).to_have_text("sona erdi")
    concert.refresh_from_db()
    assert concert.status == S.ENDED
    entry = AuditEntry.objects.get(target_id=concert.pk, action="end")
    assert (entry.actor, entry.reason) == (midnight["ayse"], "spam")


def test_step_3_a_participant_is_banned_from_their_row(
    open_tab, live_server, midnight, screenshots
):
    concert = midnight["concert"]
    livestream_end(actor=midnight["ayse"], live_stream_id=concert.pk, reason="spam")
    page = open_tab("tr-TR", PHONE)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/livestreams/livestream/{concert.pk}/change/")

    row = page.locator("table.audience-table tbody tr").filter(has_text="trol")
    row.get_by_role("link", name="Yasakla").click()

    expect(page.locator("h1")).to_have_text("Bir kullanıcıyı yayından yasakla")
    expect(page.locator(".select2-selection__rendered")).to_have_text("trol")  # filled in
    expect(page.locator("#id_action_type input[value=BLOCK]")).to_be_checked()
    page.fill("#id_reason", "hakaret")
    page.screenshot(path=str(screenshots / "admin-ban-phone-tr.png"), full_page=True)
    page.get_by_role("button", name="Kullanıcıyı yayından yasakla").click()

    expect(page.locator("ul.messagelist li.success")).to_have_text(
        "Kullanıcı 1 yayından yasaklandı."
    )
    expect(page.locator("#bans-group")).to_contain_text("trol")
    ban = LiveStreamBan.objects.get(live_stream=concert, user__username="trol")
    assert (ban.action_type, ban.created_by, ban.reason) == (
        BanAction.BLOCK,
        midnight["ayse"],
        "hakaret",
    )


def test_step_4_the_history_tells_it_all_in_turkish(open_tab, live_server, midnight, screenshots):
    concert, ayse = midnight["concert"], midnight["ayse"]
    livestream_end(actor=ayse, live_stream_id=concert.pk, reason="spam")
    troll = Participant.objects.get(live_stream=concert, user__username="trol").user
    ban_create(
        actor=ayse,
        live_stream_id=concert.pk,
        target_user_id=troll.pk,
        action_type=BanAction.BLOCK,
        reason="hakaret",
    )
    page = open_tab("tr-TR", PHONE)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/livestreams/livestream/{concert.pk}/change/")

    page.get_by_role("link", name="Geçmiş", exact=True).click()

    entries = page.locator(".audit-trail__entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0).locator(".audit-trail__what")).to_have_text(
        "ayse, trol kullanıcısını “Akustik konser” yayınından yasakladı"
    )
    expect(entries.nth(0)).to_contain_text("Gerekçe: hakaret")
    expect(entries.nth(1).locator(".audit-trail__what")).to_have_text(
        "ayse, “Akustik konser” yayınını sonlandırdı"
    )
    expect(entries.nth(1)).to_contain_text("durum: etkin → sona erdi")
    no_sideways_scroll(page, PHONE["width"])
    page.screenshot(path=str(screenshots / "admin-history-phone-tr.png"), full_page=True)
    # The dashboard's recent actions say the same.
    page.goto(live_server.url + "/admin/")
    expect(page.locator("#panel-recent-actions tbody tr").first).to_contain_text(
        "— gerekçe: hakaret"
    )


def test_done_when_the_whole_night_on_a_phone_in_turkish(
    open_tab, live_server, midnight, screenshots
):
    """Dashboard → most watched → end with a reason → ban a participant →
    history: links and buttons only, no changelist checkbox."""
    page = open_tab("tr-TR", PHONE)
    sign_in(page, live_server)
    page.locator("#panel-most-watched").get_by_role("link", name="Akustik konser").click()
    page.get_by_role("link", name="Yayını sonlandır").click()
    page.fill("#id_reason", "spam")
    page.get_by_role("button", name="Yayını sonlandır").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text("1 yayın sonlandırıldı.")
    page.locator("table.audience-table tbody tr").filter(has_text="trol").get_by_role(
        "link", name="Yasakla"
    ).click()
    page.fill("#id_reason", "hakaret")
    page.get_by_role("button", name="Kullanıcıyı yayından yasakla").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text(
        "Kullanıcı 1 yayından yasaklandı."
    )
    page.get_by_role("link", name="Geçmiş", exact=True).click()

    expect(page.locator(".audit-trail__what")).to_have_text(
        [
            "ayse, trol kullanıcısını “Akustik konser” yayınından yasakladı",
            "ayse, “Akustik konser” yayınını sonlandırdı",
        ]
    )
    assert page.locator("input.action-select").count() == 0
    page.screenshot(path=str(screenshots / "admin-done-when-phone-tr.png"), full_page=True)


# --- The bulk preview -----------------------------------------------------------------------


def test_a_bulk_cancel_previews_counts_refunds_and_asks_to_type_the_number(
    open_tab, live_server, midnight, screenshots, settings
):
    settings.ADMIN_TYPED_CONFIRMATION_ABOVE = 1
    LiveStreamFactory(
        title="Yarın sabah",
        status=S.SCHEDULED,
        planned_start_date=timezone.now() + timedelta(days=1),
    )
    page = open_tab("en-US", LAPTOP)
    sign_in(page, live_server)
    page.goto(live_server.url + "/admin/livestreams/livestream/")
    page.locator("#action-toggle").check()
    page.select_option("#changelist-form select[name=action]", "cancel")
    page.locator("#changelist-form button[name=index]").click()

    expect(page.locator("h1")).to_have_text("Cancel stream")
    expect(page.locator(".action-applies-to")).to_have_text(
        "2 of the 4 chosen streams can be cancelled."
    )
    expect(page.locator(".action-left-out")).to_have_text(
        "Left as they are: 2 active (only a stream that has not started can be cancelled)."
    )
    expect(page.locator(".action-consequences")).to_contain_text(
        "1 contribution (500.00 credits) is refunded to 1 contributor."
    )
    expect(page.get_by_role("button", name="Cancel 2 streams")).to_be_visible()
    expect(page.get_by_role("link", name="Go back")).to_be_visible()
    page.screenshot(path=str(screenshots / "admin-bulk-preview.png"), full_page=True)
    page.fill("#id_reason", "Fraud ring")
    page.fill("#id_confirm_count", "4")
    page.get_by_role("button", name="Cancel 2 streams").click()
    expect(page.locator(".field-confirm_count .errorlist")).to_have_text(
        "Type 2, the number of objects this applies to."
    )
    assert not LiveStream.objects.filter(status=S.CANCELLED_BY_HOST).exists()
    page.fill("#id_confirm_count", "2")
    page.get_by_role("button", name="Cancel 2 streams").click()

    messages = page.locator("ul.messagelist li")
    expect(messages).to_have_count(1)
    expect(messages).to_have_text(
        "Cancelled 2 streams. Left as they are: 2 active (only a stream that has not started"
        " can be cancelled)."
    )
    assert LiveStream.objects.filter(status=S.CANCELLED_BY_HOST).count() == 2
    expect(page.locator(".stream-note").first).to_have_text("cancelled by ayse")


# --- The object pages, in English -----------------------------------------------------------------


def test_remove_restore_and_lift_from_the_objects_pages(
    open_tab, live_server, midnight, screenshots
):
    quiet = midnight["quiet"]
    troll = UserFactory(username="grumpy")
    ban = ban_create(
        actor=midnight["ayse"],
        live_stream_id=quiet.pk,
        target_user_id=troll.pk,
        action_type=BanAction.CHAT_ONLY,
        reason="Rude",
    )
    page = open_tab("en-US", LAPTOP)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/livestreams/livestream/{quiet.pk}/change/")
    page.screenshot(path=str(screenshots / "admin-stream-page.png"), full_page=True)

    page.locator("#bans-group").get_by_role("link", name="Lift").click()
    expect(page.locator("h1")).to_have_text("Lift ban")
    page.fill("#id_reason", "Apologised")
    page.get_by_role("button", name="Lift 1 ban").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text("Lifted 1 ban.")
    ban.refresh_from_db()
    assert ban.lifted_at is not None

    page.goto(f"{live_server.url}/admin/livestreams/livestream/{quiet.pk}/change/")
    page.get_by_role("link", name="Remove stream").click()
    expect(page.locator(".action-consequences")).to_contain_text("A live stream is ended first.")
    page.fill("#id_reason", "Scam")
    page.get_by_role("button", name="Remove 1 stream").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text("Removed 1 stream.")
    expect(page.locator(".object-tools a.moderator-action")).to_have_text(["Restore stream"])

    page.get_by_role("link", name="Restore stream").click()
    page.fill("#id_reason", "Mistake")
    page.get_by_role("button", name="Restore 1 stream").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text("Restored 1 stream.")
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.locator(".audit-trail__what")).to_have_text(
        [
            "ayse restored “Gece cazı”",
            "ayse removed “Gece cazı”",
            "ayse lifted the ban of grumpy on “Gece cazı”",
            "ayse banned grumpy from “Gece cazı”",
        ]
    )


# --- Turkish capitals, layouts -------------------------------------------------------------------


def test_turkish_capitals_are_turkish_and_the_brand_stays_allmine(
    open_tab, live_server, midnight, screenshots
):
    page = open_tab("tr-TR", LAPTOP)
    sign_in(page, live_server)

    expect(page.locator("html")).to_have_attribute("lang", "tr")
    assert page.locator("#site-name .brand").inner_text() == "ALLMINE"
    fan = midnight["fan"]
    page.goto(f"{live_server.url}/admin/accounts/user/{fan.pk}/change/")
    header = page.locator("#credit_transactions-group th.column-balance_after")
    expect(header).to_have_count(1)
    assert header.inner_text().strip() == "İŞLEM SONRASI BAKİYE"
    assert "None" not in page.locator("#content").inner_text()
    expect(page.get_by_text("Reset password")).to_have_count(0)
    page.screenshot(path=str(screenshots / "admin-user-tr.png"), full_page=True)


def test_the_stream_list_fits_1440_px_live_first(open_tab, live_server, midnight, screenshots):
    LiveStreamFactory(
        title="A very long title that would wrap onto three lines in a narrow column",
        status=S.ENDED,
    )
    page = open_tab("en-US", LAPTOP)
    sign_in(page, live_server)
    page.goto(live_server.url + "/admin/livestreams/livestream/")

    titles = page.locator("#result_list tbody th.field-title a")
    expect(titles.first).to_have_text(re.compile("Akustik konser|Gece cazı"))
    results = page.locator("#changelist-form .results")
    assert results.evaluate("e => e.scrollWidth <= e.clientWidth")
    for column in ("coloured_status", "viewers", "funding", "start"):
        box = page.locator(f"#result_list thead th.column-{column}").bounding_box()
        assert box and box["x"] + box["width"] <= LAPTOP["width"], column
    line = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('#result_list th.field-title a'))"
        ".lineHeight)"
    )
    for height in titles.evaluate_all("links => links.map(a => a.getBoundingClientRect().height)"):
        assert height < 2.5 * line  # two lines at most
    no_sideways_scroll(page, LAPTOP["width"])
    page.screenshot(path=str(screenshots / "admin-changelist-1440.png"), full_page=True)


def test_on_a_phone_the_essentials_and_the_filters_are_reachable(
    open_tab, live_server, midnight, screenshots
):
    page = open_tab("tr-TR", PHONE)
    sign_in(page, live_server)
    page.goto(live_server.url + "/admin/livestreams/livestream/")

    row = page.locator("#result_list tbody tr").filter(has_text="Akustik konser")
    for cell in ("th.field-title", "td.field-coloured_status", "td.field-viewers"):
        box = row.locator(cell).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], cell
    expect(row.locator("td.field-coloured_status")).to_have_text("etkin")
    expect(row.locator("td.field-viewers")).to_have_text("3")
    filters = page.locator("#changelist-filter")
    assert filters.bounding_box()["y"] < page.locator("#result_list").bounding_box()["y"]
    filters.locator("details[data-filter-title='durum'] summary").click()
    filters.get_by_role("link", name="etkin", exact=True).click()
    expect(page).to_have_url(re.compile(r"status__exact=active"))
    no_sideways_scroll(page, PHONE["width"])
    page.screenshot(path=str(screenshots / "admin-changelist-phone-tr.png"), full_page=True)

    page.goto(live_server.url + "/admin/livestreams/livestream/funding/")
    expect(page.locator("tr.funding-row").filter(has_text="Albüm lansmanı")).to_contain_text(
        "%50,00"
    )
    no_sideways_scroll(page, PHONE["width"])
    page.screenshot(path=str(screenshots / "admin-funding-phone-tr.png"), full_page=True)
