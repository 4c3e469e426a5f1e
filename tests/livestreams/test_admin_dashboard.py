"""The dashboard (issue 14): the admin's front page made of panels, each a fixed
number of queries whatever the size of the tables, showing what is live and
how many watch it, what starts soon, the funding close to or far from its goal,
and the latest moderation actions with who and why."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services.moderation import user_deactivate
from allmine.core import dashboard
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    AgoraKickStatus,
    BanAction,
    LiveStream,
    Participant,
    RecordingStatus,
    ReportType,
    StreamReport,
)
from livestreams.selectors import back_office
from livestreams.services.bans import ban_create
from livestreams.services.moderation import livestream_cancel, livestream_end, livestream_remove
from tests.factories import LiveStreamFactory, UserFactory, agora_kick, recording

S = LiveStreamStatus
INDEX = reverse("admin:index")

# Every panel, and the most queries it may cost (its declared count is pinned
# here: a panel that starts to cost more, or a new panel without a row, fails).
PANELS = {
    "live-now": 3,
    "most-watched": 2,
    "starting-soon": 1,
    "funding-close": 1,
    "funding-far": 1,
    "recent-actions": 4,
    "open-reports": 2,
    "agora-jobs": 2,
}


def live(title: str, viewers: int, **fields) -> LiveStream:
    now = timezone.now()
    stream = LiveStreamFactory(
        title=title,
        status=S.ACTIVE,
        started_at=now - timedelta(minutes=viewers + 1),
        host_present=True,
        **fields,
    )
    Participant.objects.bulk_create(
        Participant(live_stream=stream, user=user, is_present=True)
        for user in UserFactory.create_batch(viewers)
    )
    return stream


def scheduled(title: str, *, hours: float, goal=None, collected="0", **fields) -> LiveStream:
    return LiveStreamFactory(
        title=title,
        status=S.SCHEDULED,
        planned_start_date=timezone.now() + timedelta(hours=hours),
        funding_goal=None if goal is None else Decimal(goal),
        collected_funding=Decimal(collected),
        **fields,
    )


def world(moderator, size: int) -> dict:
    """Streams of every kind, `size` of each, and every kind of audited action."""
    made = {
        # One more live stream than `size`: the last one is ended below.
        "live": [live(f"Live {n}", viewers=n + 1) for n in range(size + 1)],
        "soon": [scheduled(f"Soon {n}", hours=n + 1) for n in range(size)],
        "later": [scheduled(f"Later {n}", hours=48 + n) for n in range(size)],
        "funded": [
            scheduled(f"Fund {n}", hours=30, goal="1000", collected=str(100 * n))
            for n in range(size)
        ],
    }
    for n in range(size):
        LiveStreamFactory(title=f"Old {n}", status=S.ENDED)
    troll = UserFactory(username=f"troll{size}")
    ban_create(
        actor=moderator,
        live_stream_id=made["live"][0].pk,
        target_user_id=troll.pk,
        action_type=BanAction.BLOCK,
        reason="Spam",
    )
    livestream_end(actor=moderator, live_stream_id=made["live"][-1].pk, reason="Raid")
    livestream_cancel(actor=moderator, live_stream_id=made["later"][0].pk, reason="Fake")
    user_deactivate(actor=moderator, user=UserFactory(), reason="Abuse")
    for n in range(size):
        StreamReport.objects.create(
            live_stream=made["live"][n], reporter=UserFactory(), type=ReportType.SPAM
        )
        agora_kick(
            made["live"][n],
            uid=troll.agora_uid,
            status=AgoraKickStatus.FAILED,
            attempts=1,
            last_error="HTTP 500 from Agora",
        )
        recording(
            made["live"][n],
            uid=4_000_000_000 + n,
            status=RecordingStatus.FAILED,
            attempts=10,
            last_error="The upload never came",
        )
    return made


def request_for(user):
    request = RequestFactory().get(INDEX)
    request.user = user
    return request


def panel(key: str) -> dashboard.Panel:
    return next(p for p in dashboard.registered() if p.key == key)


# --- The registry ------------------------------------------------------------------------


def test_every_panel_is_registered_with_its_pinned_query_count():
    assert {p.key: p.queries for p in dashboard.registered()} == PANELS


@pytest.mark.parametrize("key", PANELS)
@pytest.mark.parametrize("size", [1, 12])
def test_a_panel_costs_its_queries_whatever_the_number_of_rows(
    moderator, django_assert_num_queries, key, size
):
    world(moderator, size)
    with django_assert_num_queries(PANELS[key]):
        table = panel(key).render(request_for(moderator))
    assert table.rows, f"{key} shows something"
    assert len(table.rows) <= dashboard.ROWS


def test_the_dashboard_costs_the_same_queries_whatever_the_number_of_streams(mod_client, moderator):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert mod_client.get(INDEX).status_code == 200
        return len(captured)

    world(moderator, 1)
    small = queries()
    world(moderator, 12)
    assert queries() == small


# --- What the panels say -------------------------------------------------------------------


def test_the_live_panels_show_the_streams_and_their_viewers(moderator):
    quiet = live("Quiet room", viewers=1)
    busy = live("Busy arena", viewers=7)
    middle = live("Middle hall", viewers=3)
    Participant.objects.create(
        live_stream=busy, user=UserFactory(), is_present=False
    )  # left: not a viewer
    removed = live("Removed stream", viewers=20, deleted_at=timezone.now())
    request = request_for(moderator)

    live_now = panel("live-now").render(request)
    most = panel("most-watched").render(request)

    assert live_now.note == "3 streams are live."
    titles = [str(row[0]) for row in live_now.rows]
    assert all(removed.title not in t for t in titles)
    assert [row[1] for row in live_now.rows] == ["1", "3", "7"]  # latest started first
    assert [(str(row[0]), row[1]) for row in most.rows] == [
        (f'<a href="/admin/livestreams/livestream/{busy.pk}/change/">Busy arena</a>', "7"),
        (f'<a href="/admin/livestreams/livestream/{middle.pk}/change/">Middle hall</a>', "3"),
        (f'<a href="/admin/livestreams/livestream/{quiet.pk}/change/">Quiet room</a>', "1"),
    ]


def test_starting_soon_lists_the_next_24_hours_soonest_first(moderator):
    scheduled("In two hours", hours=2)
    scheduled("In one hour", hours=1)
    scheduled("Tomorrow evening", hours=30)
    LiveStreamFactory(
        title="Preparing now",
        status=S.PREPARING,
        planned_start_date=timezone.now() + timedelta(minutes=10),
    )
    scheduled("Removed soon", hours=1, deleted_at=timezone.now())

    table = panel("starting-soon").render(request_for(moderator))

    assert [str(row[0]).split(">")[1].split("<")[0] for row in table.rows] == [
        "Preparing now",
        "In one hour",
        "In two hours",
    ]


def test_funding_panels_list_the_closest_and_the_furthest_from_the_goal(moderator):
    scheduled("Nine tenths", hours=5, goal="1000", collected="900")
    scheduled("Half", hours=5, goal="1000", collected="500")
    scheduled("Nothing yet", hours=5, goal="1000", collected="0")
    scheduled("Reached", hours=5, goal="100", collected="150")  # done: in neither list
    scheduled("No goal", hours=5)
    LiveStreamFactory(
        title="Ended with a goal",
        status=S.ENDED,
        funding_goal=Decimal("100"),
        collected_funding=Decimal("99"),
    )

    def titles(key):
        table = panel(key).render(request_for(moderator))
        return [str(row[0]).split(">")[1].split("<")[0] for row in table.rows]

    assert titles("funding-close") == ["Nine tenths", "Half", "Nothing yet"]
    assert titles("funding-far") == ["Nothing yet", "Half", "Nine tenths"]


def test_recent_actions_tell_every_moderation_action_with_who_and_why(moderator):
    made = world(moderator, 1)
    stream = made["soon"][0]
    livestream_remove(actor=moderator, live_stream_id=stream.pk, reason="Scam")
    # A creator's own action is not a moderation action.
    own = live("Own show", viewers=0)
    livestream_end(actor=own.creator, live_stream_id=own.pk, reason="")

    table = panel("recent-actions").render(request_for(moderator))

    lines = [str(row[1]) for row in table.rows]
    assert lines[0] == (
        f'<a href="/admin/accounts/user/{moderator.pk}/change/">mod</a> removed'
        f' “<a href="/admin/livestreams/livestream/{stream.pk}/change/">Soon 0</a>”'
        " — reason: Scam"
    )
    text = " | ".join(lines)
    for told in ("deactivated the account of", "cancelled “", "ended “", "banned "):
        assert told in text
    assert "reason: Spam" in text and "reason: Raid" in text
    assert "Own show" not in text


def test_viewers_of_counts_a_page_of_streams_in_one_query(db, django_assert_num_queries):
    streams = [live(f"S{n}", viewers=n) for n in range(4)]
    with django_assert_num_queries(1):
        counts = back_office.viewers_of(s.pk for s in streams)
    assert counts == {s.pk: n for n, s in enumerate(streams) if n}


# --- The page ---------------------------------------------------------------------------


def test_the_front_page_is_the_dashboard_with_allmines_name(mod_client, moderator):
    world(moderator, 2)
    html = mod_client.get(INDEX).content.decode()

    assert "<title>Dashboard | Allmine</title>" in html
    assert '<span class="brand" lang="en" translate="no">Allmine</span>' in html
    assert "Django" not in html
    assert "View site" not in html
    for key in PANELS:
        assert f'id="panel-{key}"' in html
    assert 'id="livestreams-livestream"' in html  # every table, below the panels


def test_the_front_page_in_turkish(mod_client, moderator):
    world(moderator, 1)
    html = mod_client.get(INDEX, HTTP_ACCEPT_LANGUAGE="tr").content.decode()

    assert '<html lang="tr"' in html
    assert "<title>Pano | Allmine</title>" in html
    for turkish in ("Şu an canlı", "Şu an en çok izlenenler", "Yakında başlayacaklar"):
        assert turkish in html
    assert "Fonlama hedefine yakın olanlar" in html
    assert "Son işlemler" in html
    assert "yayınını sonlandırdı — gerekçe: Raid" in html
    assert "kullanıcısını" in html  # the ban, told in Turkish
    for english in ("Live now", "Most watched", "Recent actions", " ended ", "reason:"):
        assert english not in html


def test_staff_without_permissions_see_no_panel(client, db):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    live("Secret", viewers=2)

    html = client.get(INDEX).content.decode()

    assert 'class="module dashboard-panel"' not in html
    assert "Secret" not in html
    assert "permission to view or edit anything" in html


# --- On indexes (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.postgres
def test_every_dashboard_query_has_an_index_to_use(mod_client, moderator):
    """With sequential scans priced out, a query that still scans a table has no
    index to use: at 100,000 streams it would read them all. (The planner picks
    a scan on a table this small anyway, so its choice is forced here.)"""
    world(moderator, 3)
    with CaptureQueriesContext(connection) as captured:
        for key in PANELS:
            panel(key).render(request_for(moderator))
        mod_client.get(reverse("admin:livestreams_livestream_changelist"))
    sanity = 'SELECT * FROM "livestreams_livestream" WHERE "title" = \'x\''  # no index
    scanned, checked = {}, 0
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for sql in [sanity, *(q["sql"] for q in captured)]:
                if not sql.startswith("SELECT") or not re.search(
                    r"livestreams_|allmine_auditentry", sql
                ):
                    continue
                cursor.execute("EXPLAIN " + sql)
                checked += 1
                plan = "\n".join(row[0] for row in cursor.fetchall())
                tables = re.findall(r"Seq Scan on (\w+)", plan)
                if tables:
                    scanned[sql[:160]] = tables
        finally:
            cursor.execute("SET enable_seqscan = on")
    assert scanned.pop(sanity) == ["livestreams_livestream"]  # the check sees a scan
    assert checked > sum(PANELS.values())  # the panels' and the list's queries
    assert scanned == {}
