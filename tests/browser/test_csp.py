"""Issue 10, finding 10: the admin pages sent no Content-Security-Policy. They do
now (django-csp), with no 'unsafe-inline' and no 'unsafe-eval', and every page a
moderator or a developer uses works under it in Chromium: the admin's login,
lists, change form and funding page (bars and chart), an action's reason page,
the ban form's user search, a history, the report pages, and the API playground at
/api/docs/, where "Try it out" still calls the API. Any violation the browser
reports fails the test."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import LiveStream, ReportType
from livestreams.services.money import livestream_fund
from livestreams.services.reports import report_create
from tests.factories import DEFAULT_PASSWORD, LiveStreamFactory, ParticipantFactory, UserFactory

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} in ${event.sourceFile}`
  );
});
"""


@pytest.fixture
def watched(browser):
    """A tab that records every CSP violation and console error of every page it opens."""
    context = browser.new_context(locale="en-US", viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_VIOLATIONS)
    tab = context.new_page()
    console: list[str] = []
    tab.on(
        "console",
        lambda message: (
            console.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    tab.console_errors = console
    yield tab
    context.close()


def assert_no_violations(page) -> None:
    violations = page.evaluate("window.__cspViolations")
    csp_console = [m for m in page.console_errors if "Content Security Policy" in m]
    assert violations == [] and csp_console == [], (violations, csp_console)


def header_of(response) -> str:
    policy = response.headers.get("content-security-policy", "")
    assert policy, response.url
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
    assert "frame-ancestors 'none'" in policy
    return policy


@pytest.fixture
def world(transactional_db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    now = timezone.now()
    for index, status in enumerate(LiveStreamStatus.values):
        LiveStreamFactory(title=f"Stream {status}", status=status, price=Decimal(index))
    funded = LiveStreamFactory(
        title="Album launch",
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=now + timedelta(days=2),
        funding_goal=Decimal("1000"),
    )
    fan = UserFactory(username="bigfan", credits="800")
    livestream_fund(user=fan, live_stream_id=funded.pk, amount=Decimal("500"))
    live = LiveStream.objects.get(status=LiveStreamStatus.ACTIVE)
    ParticipantFactory(live_stream=live, user__username="troll")
    report = report_create(user=fan, live_stream_id=live.pk, type=ReportType.SPAM)
    return {"admin": admin, "funded": funded, "live": live, "report": report}


def sign_in(page, live_server) -> None:
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("root")


def test_the_admin_works_under_the_policy(watched, live_server, world):
    page = watched
    response = page.goto(live_server.url + "/admin/")
    header_of(response)
    page.fill("#id_username", "root")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("#login-form input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("root")

    response = page.goto(live_server.url + "/admin/livestreams/livestream/")
    header_of(response)
    expect(page.locator("#result_list tbody tr")).to_have_count(8)
    # The status colours come from the stylesheet, not from inline styles.
    active = page.locator(".stream-status[data-status=active]").first
    assert active.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(21, 128, 61)"
    # The date hierarchy, the filters and the actions' script (the admin's own JS).
    page.locator("#changelist-filter details[data-filter-title='status']").get_by_role(
        "link", name="active", exact=True
    ).click()
    expect(page).to_have_url(re.compile(r"status__exact=active"))
    page.locator("#action-toggle").check()
    expect(page.locator("input.action-select").first).to_be_checked()

    page.goto(live_server.url + f"/admin/livestreams/livestream/{world['funded'].pk}/change/")
    expect(page.locator("#id_title")).to_have_value("Album launch")
    # The admin's date widgets (its JavaScript) still work: "Today" fills the date.
    page.locator("#id_planned_end_date_0").fill("")
    page.locator(".field-planned_end_date .datetimeshortcuts a").first.click()
    expect(page.locator("#id_planned_end_date_0")).not_to_have_value("")

    response = page.goto(live_server.url + "/admin/livestreams/livestream/funding/")
    header_of(response)
    row = page.locator("tr.funding-row").filter(has_text="Album launch")
    track = row.locator(".funding-progress__track")
    fill = row.locator(".funding-progress__fill")
    assert fill.bounding_box()["width"] == pytest.approx(track.bounding_box()["width"] / 2, abs=2)
    chart = page.locator("svg.funding-chart")
    expect(chart.locator("g.funding-chart__bar")).to_have_count(30)
    assert float(chart.locator("rect.funding-chart__value").last.get_attribute("height")) > 0

    page.goto(live_server.url + "/admin/accounts/user/")
    expect(page.locator("#result_list")).to_be_visible()
    assert_no_violations(page)


def test_the_reason_pages_the_history_and_the_reports_work_under_the_policy(
    watched, live_server, world
):
    """The moderator's other pages: an action's reason page (from a stream's page
    and from a changelist), the ban form's user search, a history, the report
    queue and a report's page. Each is checked as it is left."""
    page, live, report = watched, world["live"], world["report"]
    sign_in(page, live_server)
    stream_page = f"{live_server.url}/admin/livestreams/livestream/{live.pk}/"

    # The reason page of an action on the stream's own page, then its confirmation.
    page.goto(stream_page + "change/")
    page.get_by_role("link", name="End stream", exact=True).click()
    expect(page.locator("body.reasoned-action")).to_be_visible()
    expect(page.locator(".action-consequences")).to_contain_text("troll")
    assert_no_violations(page)
    page.fill("#id_reason", "Spam")
    page.locator("#reasoned-action-form .action-submit").click()
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    assert_no_violations(page)

    # The ban form: its user search (select2, the admin's autocomplete) works.
    response = page.goto(stream_page + "do/ban_user/")
    header_of(response)
    page.locator(".field-user .select2-selection").click()
    page.locator(".select2-search__field").fill("trol")
    expect(page.locator(".select2-results__option").filter(has_text="troll")).to_be_visible()
    assert_no_violations(page)

    # The stream's history: the audit trail of the end.
    response = page.goto(stream_page + "history/")
    header_of(response)
    expect(page.locator(".audit-trail__entry")).to_have_count(1)
    assert_no_violations(page)

    # The report queue, an action's reason page from it, and the report's page.
    response = page.goto(live_server.url + "/admin/livestreams/streamreport/")
    header_of(response)
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.locator("input.action-select").first.check()
    page.select_option("select[name=action]", "resolve")
    page.locator("button[name=index]").click()
    expect(page.locator("body.reasoned-action")).to_be_visible()
    assert_no_violations(page)
    page.fill("#id_reason", "Handled")
    page.locator("#reasoned-action-form .action-submit").click()
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    assert_no_violations(page)

    response = page.goto(f"{live_server.url}/admin/livestreams/streamreport/{report.pk}/change/")
    header_of(response)
    expect(page.locator(".field-note")).to_contain_text("Handled")
    assert_no_violations(page)
    response = page.goto(f"{live_server.url}/admin/livestreams/streamreport/{report.pk}/history/")
    header_of(response)
    expect(page.locator(".audit-trail__entry")).to_have_count(1)
    assert_no_violations(page)


def test_the_playground_works_under_the_policy(watched, live_server, world, monkeypatch):
    from drf_spectacular.settings import spectacular_settings

    page = watched
    # The playground's first server is this live server (as in development, where
    # the page and the API share an origin; other listed servers are in connect-src).
    servers = [{"url": live_server.url, "description": "Development"}]
    monkeypatch.setattr(spectacular_settings, "SERVERS", servers)
    response = page.goto(live_server.url + "/api/docs/")
    policy = header_of(response)
    assert re.search(r"script-src 'self' 'nonce-[^']+'", policy), policy
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Allmine Live API")

    # "Try it out" on the health check: Swagger UI calls the API and shows its answer.
    operation = page.locator("#operations-Health-health")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".responses-wrapper .live-responses-table")).to_contain_text(
        '"isSuccess": true'
    )
    assert_no_violations(page)


def test_the_policy_is_sent_on_the_api_and_the_admin_login(client, db):
    for url in ("/admin/login/", "/api/docs/", "/api/v1/health", "/api/schema/"):
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "object-src 'none'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
