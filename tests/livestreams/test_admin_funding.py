"""The "Funding progress" admin page, its CSV export, its selectors and chart."""

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from livestreams.admin import funding as admin_funding
from livestreams.admin.funding import format_money, funding_chart_svg, funding_progress_text
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import ContributionStatus
from livestreams.selectors.funding import funding_collected_per_day, funding_progress_streams
from tests.factories import ContributionFactory, LiveStreamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.livestreams.funding_test_urls")]

PAGE = "/admin/livestreams/livestream/funding/"
CSV = "/admin/livestreams/livestream/funding.csv"
SVG = "{http://www.w3.org/2000/svg}"


def make_stream(title, goal, collected, **fields):
    return LiveStreamFactory(
        title=title,
        status=fields.pop("status", LiveStreamStatus.SCHEDULED),
        funding_goal=None if goal is None else Decimal(goal),
        collected_funding=Decimal(collected),
        **fields,
    )


def contribute(stream, user, amount, *, status=ContributionStatus.COMPLETED, at=None):
    """A contribution paid through the ledger; a completed one adds to the stream's
    collected funding."""
    return ContributionFactory(
        live_stream=stream,
        user=user,
        amount=amount,
        refunded=status == ContributionStatus.REFUNDED,
        created_at=at or timezone.now(),
    )


@pytest.fixture
def funded():
    """Three streams with a goal (half-way, over it, barely started) and the
    ones the page leaves out."""
    fans = UserFactory.create_batch(3)
    # The first three collect what their contributions below bring: 500, 1500, 12.5.
    half = make_stream("Half-way mountain trip", "1000", "0")
    over = make_stream("Overfunded concert", "1000", "0", status=LiveStreamStatus.ENDED)
    barely = make_stream("Barely started podcast", "800", "0")
    make_stream("No goal at all", None, "0")
    make_stream("Zero goal stream", "0", "0")
    make_stream("Removed fundraiser", "100", "90", deleted_at=timezone.now())
    contribute(half, fans[0], "200")
    contribute(half, fans[0], "100")
    contribute(half, fans[1], "200")
    contribute(half, fans[2], "40", status=ContributionStatus.REFUNDED)
    contribute(over, fans[2], "1500")
    contribute(barely, fans[1], "12.5", at=timezone.now() - timedelta(days=45))
    for stream, collected in ((half, "500"), (over, "1500"), (barely, "12.5")):
        assert stream.collected_funding == Decimal(collected)
    return {"half": half, "over": over, "barely": barely}


def row_titles(html: str) -> list[str]:
    return re.findall(
        r'<tr class="funding-row">\s*<th scope="row"><a href="[^"]*">([^<]*)</a>', html
    )


# --- The page --------------------------------------------------------------------


def test_superuser_sees_streams_closest_to_their_goal_first(admin_client, funded):
    response = admin_client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert row_titles(html) == [
        "Overfunded concert",
        "Half-way mountain trip",
        "Barely started podcast",
    ]
    assert "No goal at all" not in html
    assert "Zero goal stream" not in html
    assert "Removed fundraiser" not in html
    # Bars and "collected / goal (percent)", the real percentage past 100 %.
    assert "1500 / 1000 (150.00 %)" in html
    assert "500 / 1000 (50.00 %)" in html
    assert "12.5 / 800 (1.56 %)" in html
    assert html.count('class="funding-progress__track"') == 3
    assert 'width="100.00" height="8"' in html  # SVG bars: no inline style (CSP)
    assert 'width="50.00" height="8"' in html
    assert 'width="1.56" height="8"' in html
    # Each title links to the stream's change page; the creator and status show.
    half = funded["half"]
    assert f'href="/admin/livestreams/livestream/{half.pk}/change/"' in html
    assert half.creator.username in html
    assert "<td>ended</td>" in html
    assert html.count("<td>scheduled</td>") == 2


def test_page_shows_contributors_refunds_and_totals(admin_client, funded):
    html = admin_client.get(PAGE).content.decode()

    rows = re.findall(
        r'<tr class="funding-row">.*?<td class="funding-contributors">(\d+)</td>\s*'
        r'<td class="funding-refunded">([^<]*)</td>',
        html,
        flags=re.S,
    )
    # Overfunded: one fan; half-way: two distinct fans (one gave twice), 40 refunded.
    assert rows == [("1", "0"), ("2", "40"), ("1", "0")]
    assert '<dd class="funding-totals__streams">3</dd>' in html
    assert '<dd class="funding-totals__reached">1</dd>' in html
    assert '<dd class="funding-totals__collected">2012.5</dd>' in html
    assert '<dd class="funding-totals__goal">2800</dd>' in html
    assert '<dd class="funding-totals__progress">2012.5 / 2800 (71.88 %)</dd>' in html
    assert 'href="/admin/livestreams/livestream/funding.csv"' in html


def test_page_draws_the_chart_of_the_last_30_days(admin_client, funded):
    html = admin_client.get(PAGE).content.decode()

    svg = re.search(r"<svg class=\"funding-chart\".*?</svg>", html, flags=re.S).group(0)
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert "last 30 days" in root.get("aria-label")
    bars = root.findall(f"{SVG}g")
    assert len(bars) == 30
    # Today: 200 + 100 + 200 + 1500 completed (the refund and the 45-day-old one left out).
    today_title = bars[-1].find(f"{SVG}title").text
    assert today_title.endswith(": 2000 credits")
    assert all(bar.find(f"{SVG}title").text.endswith(": 0 credits") for bar in bars[:-1])
    assert root.find(f"{SVG}text[@class='funding-chart__max']").text == "2000"
    # No external scripts: only the admin's own static files, none in the chart.
    assert "<script" not in svg
    assert all(
        src.startswith("/static/") for src in re.findall(r'<script[^>]* src="([^"]*)"', html)
    )


def test_removed_streams_only_with_the_toggle(admin_client, funded):
    html = admin_client.get(PAGE, {"removed": "1"}).content.decode()

    assert row_titles(html) == [
        "Overfunded concert",
        "Removed fundraiser",
        "Half-way mountain trip",
        "Barely started podcast",
    ]
    assert '<dd class="funding-totals__streams">4</dd>' in html
    assert 'href="/admin/livestreams/livestream/funding.csv?removed=1"' in html


def test_page_without_any_funding_goal(admin_client):
    make_stream("No goal at all", None, "0")

    response = admin_client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert row_titles(html) == []
    assert "No stream has a funding goal." in html
    chart = ET.fromstring(re.search(r"<svg class=\"funding-chart\".*?</svg>", html, re.S).group(0))
    assert len(chart.findall(f"{SVG}g")) == 30
    assert '<dd class="funding-totals__progress">0 / 0 (0.00 %)</dd>' in html


def test_page_is_paginated(admin_client, monkeypatch):
    monkeypatch.setattr(admin_funding, "PER_PAGE", 2)
    for n, collected in enumerate(["90", "70", "50", "30", "10"]):
        make_stream(f"Fund number {n}", "100", collected)

    first = admin_client.get(PAGE).content.decode()
    third = admin_client.get(PAGE, {"p": "3"}).content.decode()
    beyond = admin_client.get(PAGE, {"p": "99"}).content.decode()

    assert row_titles(first) == ["Fund number 0", "Fund number 1"]
    assert row_titles(third) == ["Fund number 4"]
    assert row_titles(beyond) == ["Fund number 4"]
    assert '<a href="?p=2">2</a>' in first
    assert "5 streams" in first


@pytest.mark.parametrize("count", [3, 30])
def test_page_query_count_does_not_grow_with_the_streams(
    admin_client, django_assert_num_queries, count
):
    fan = UserFactory()
    for n in range(count):
        stream = make_stream(f"Fund {n}", "100", str(n))
        contribute(stream, fan, "1")
        contribute(stream, fan, "2", status=ContributionStatus.REFUNDED)

    # Session, user, then the paginator's count, the page, the totals, the chart.
    with django_assert_num_queries(6):
        response = admin_client.get(PAGE)

    assert response.status_code == 200
    assert len(row_titles(response.content.decode())) == count


# --- Permissions -----------------------------------------------------------------


@pytest.mark.parametrize("url", [PAGE, CSV])
def test_staff_without_view_permission_gets_403(client, url):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [PAGE, CSV])
def test_staff_with_view_permission_gets_the_page(client, url):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="view_livestream", content_type__app_label="livestreams")
    )
    client.force_login(staff)

    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [PAGE, CSV])
def test_anonymous_is_sent_to_the_admin_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


def test_non_staff_user_is_sent_to_the_admin_login(client):
    client.force_login(UserFactory())

    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- CSV -------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_csv_has_the_table_in_the_same_order(admin_client, funded):
    response = admin_client.get(CSV)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="funding-progress-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    rows = read_csv(response)
    over, half, barely = funded["over"], funded["half"], funded["barely"]
    assert rows == [
        [
            "stream id",
            "title",
            "creator",
            "status",
            "goal",
            "collected",
            "percentage",
            "contributors",
        ],
        [
            over.pk,
            "Overfunded concert",
            over.creator.username,
            "ended",
            "1000",
            "1500",
            "150.00",
            "1",
        ],
        [
            half.pk,
            "Half-way mountain trip",
            half.creator.username,
            "scheduled",
            "1000",
            "500",
            "50.00",
            "2",
        ],
        [
            barely.pk,
            "Barely started podcast",
            barely.creator.username,
            "scheduled",
            "800",
            "12.5",
            "1.56",
            "1",
        ],
    ]


def test_csv_with_removed_streams_and_formula_like_titles(admin_client):
    make_stream('=HYPERLINK("http://evil")', "100", "10", deleted_at=timezone.now())
    make_stream('Quotes "and", commas', "100", "20")

    default = read_csv(admin_client.get(CSV))
    with_removed = read_csv(admin_client.get(CSV, {"removed": "1"}))

    assert [row[1] for row in default[1:]] == ['Quotes "and", commas']
    assert [row[1] for row in with_removed[1:]] == [
        'Quotes "and", commas',
        '\'=HYPERLINK("http://evil")',
    ]


# --- Selectors -------------------------------------------------------------------


def test_funding_progress_streams_annotations_and_order(funded):
    streams = list(funding_progress_streams())

    assert [s.title for s in streams] == [
        "Overfunded concert",
        "Half-way mountain trip",
        "Barely started podcast",
    ]
    half = streams[1]
    assert half.contributor_count == 2
    assert half.refunded_total == Decimal("40.00")
    assert streams[2].contributor_count == 1  # 45 days ago still counts
    assert streams[2].refunded_total == Decimal("0")
    assert [s.title for s in funding_progress_streams(include_removed=True)][1] == (
        "Removed fundraiser"
    )


def test_funding_collected_per_day_fills_empty_days_and_skips_refunds_and_old_ones():
    fan = UserFactory()
    stream = make_stream("Fund", "1000", "0")
    today = date(2025, 3, 31)

    def at(day, hour=12, minute=0):
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)

    first = today - timedelta(days=29)
    contribute(stream, fan, "10", at=at(first, 0, 0))  # the first day counts
    contribute(stream, fan, "2.5", at=at(today - timedelta(days=3), 9))
    contribute(stream, fan, "7.25", at=at(today - timedelta(days=3), 23, 59))
    contribute(stream, fan, "99", at=at(today - timedelta(days=3)), status="refunded")
    contribute(stream, fan, "50", at=at(today - timedelta(days=30), 23, 59))  # 31 days ago
    contribute(stream, fan, "60", at=at(today + timedelta(days=1), 0, 0))  # tomorrow
    contribute(stream, fan, "1", at=at(today, 23, 59))

    points = funding_collected_per_day(days=30, today=today)

    assert [day for day, _amount in points] == [first + timedelta(days=n) for n in range(30)]
    amounts = dict(points)
    assert amounts[first] == Decimal("10")
    assert amounts[today - timedelta(days=3)] == Decimal("9.75")
    assert amounts[today] == Decimal("1")
    assert sum(amounts.values()) == Decimal("20.75")
    assert sum(1 for amount in amounts.values() if amount == 0) == 27
    assert all(isinstance(amount, Decimal) for amount in amounts.values())


def test_funding_collected_per_day_uses_the_current_time_zone_days():
    fan = UserFactory()
    stream = make_stream("Fund", "1000", "0")
    today = date(2025, 3, 31)
    # 22:30 UTC on the 30th is 01:30 on the 31st in Istanbul (UTC+3).
    contribute(stream, fan, "5", at=datetime(2025, 3, 30, 22, 30, tzinfo=UTC))

    with timezone.override("Europe/Istanbul"):
        points = dict(funding_collected_per_day(days=30, today=today))

    assert points[date(2025, 3, 31)] == Decimal("5")
    assert points[date(2025, 3, 30)] == Decimal("0")


def test_funding_collected_per_day_costs_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        points = funding_collected_per_day(days=7, today=date(2025, 1, 10))

    assert len(points) == 7


# --- Pure functions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("500", "500"),
        ("500.00", "500"),
        ("12.50", "12.5"),
        ("0.05", "0.05"),
        ("12.345", "12.35"),
        ("1000000", "1000000"),
        (None, "0"),
    ],
)
def test_format_money(value, text):
    assert format_money(None if value is None else Decimal(value)) == text


def test_funding_progress_text():
    assert funding_progress_text(Decimal("500"), Decimal("1000")) == "500 / 1000 (50.00 %)"
    assert funding_progress_text(Decimal("1"), Decimal("3")) == "1 / 3 (33.33 %)"


def test_chart_svg_has_one_bar_a_day_with_hover_text_and_the_max_on_the_axis():
    first = date(2025, 3, 2)
    points = [(first + timedelta(days=n), Decimal(0)) for n in range(30)]
    points[10] = (points[10][0], Decimal("40"))
    points[20] = (points[20][0], Decimal("12.5"))

    svg = funding_chart_svg(points, height=220)
    root = ET.fromstring(str(svg))  # well-formed, escaped

    assert root.get("role") == "img"
    assert root.get("aria-label") == (
        "Funds collected per day over the last 30 days; highest day: 40 credits."
    )
    bars = root.findall(f"{SVG}g")
    assert len(bars) == 30
    heights = [
        float(bar.find(f"{SVG}rect[@class='funding-chart__value']").get("height")) for bar in bars
    ]
    plot_height = 220 - 12 - 28
    assert heights[10] == plot_height
    assert heights[20] == pytest.approx(plot_height * 12.5 / 40, abs=0.1)
    assert heights.count(0.0) == 28
    assert bars[10].find(f"{SVG}title").text == "March 12, 2025: 40 credits"
    assert bars[20].find(f"{SVG}title").text == "March 22, 2025: 12.5 credits"
    assert root.find(f"{SVG}text[@class='funding-chart__max']").text == "40"
    days = [t.text for t in root.findall(f"{SVG}text[@class='funding-chart__day']")]
    assert days == ["2 Mar", "7 Mar", "12 Mar", "17 Mar", "22 Mar", "27 Mar", "31 Mar"]


def test_chart_svg_without_any_funds_and_escaping(monkeypatch):
    monkeypatch.setattr(admin_funding, "date_format", lambda day, fmt: f'<{day:%d}&"x">')
    points = [(date(2025, 1, 1) + timedelta(days=n), Decimal(0)) for n in range(3)]

    svg = str(funding_chart_svg(points))
    root = ET.fromstring(svg)

    assert "<01&" not in svg
    assert "&lt;01&amp;&quot;x&quot;&gt;" in svg
    assert root.findall(f"{SVG}g")[0].find(f"{SVG}title").text == '<01&"x">: 0 credits'
    assert root.find(f"{SVG}text[@class='funding-chart__max']").text == "0"
    assert all(
        rect.get("height") == "0.0"
        for rect in root.iter(f"{SVG}rect")
        if rect.get("class") == "funding-chart__value"
    )


def test_csv_in_turkish_opens_in_a_turkish_spreadsheet(admin_client, funded):
    """Semicolons between cells (a comma is the decimal separator there),
    translated headers and statuses, Turkish decimals."""
    response = admin_client.get(CSV, HTTP_ACCEPT_LANGUAGE="tr")

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    over, half, barely = funded["over"], funded["half"], funded["barely"]
    assert rows == [
        [
            "yayın kimliği",
            "başlık",
            "yayıncı",
            "durum",
            "hedef",
            "toplanan",
            "yüzde",
            "katkıda bulunanlar",
        ],
        [
            over.pk,
            "Overfunded concert",
            over.creator.username,
            "sona erdi",
            "1000",
            "1500",
            "150,00",
            "1",
        ],
        [
            half.pk,
            "Half-way mountain trip",
            half.creator.username,
            "planlandı",
            "1000",
            "500",
            "50,00",
            "2",
        ],
        [
            barely.pk,
            "Barely started podcast",
            barely.creator.username,
            "planlandı",
            "800",
            "12,5",
            "1,56",
            "1",
        ],
    ]
    assert body.splitlines()[1].count(";") == 7


def test_the_page_in_turkish_formats_amounts_and_percentages_the_turkish_way(admin_client, funded):
    html = admin_client.get(PAGE, HTTP_ACCEPT_LANGUAGE="tr").content.decode()

    assert "12,5 / 800 (%1,56)" in html
    assert '<dd class="funding-totals__progress">2012,5 / 2800 (%71,88)</dd>' in html
    assert 'width="1.56" height="8"' in html  # the SVG bar keeps its own decimal point
