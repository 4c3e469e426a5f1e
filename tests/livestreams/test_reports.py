"""Reports (API-more §10): filing one (one open per user and stream, the app's
headers kept), the rate limit, and the moderators' queue in the admin, where a
report is resolved or dismissed with a note, or its stream is ended, removed or a
user banned from it; every step audited."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from allmine.core.ids import new_object_id
from allmine.core.models import AuditEntry
from livestreams.lifecycle import LiveStreamStatus as S
from livestreams.models import (
    BanAction,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    ReportStatus,
    StreamReport,
)
from livestreams.services.reports import report_close
from tests.api import OBJECT_ID_RE, TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory

QUEUE = reverse("admin:livestreams_streamreport_changelist")
REPORT_FIELDS = {
    "_id",
    "liveStreamId",
    "reporterId",
    "type",
    "description",
    "status",
    "createdAt",
    "updatedAt",
}


def report_url(stream_id) -> str:
    return f"/api/v1/live-stream-reports/{stream_id}"


def report(client, stream_id, body=None, **headers):
    return client.post(report_url(stream_id), body or {"type": "spam"}, format="json", **headers)


@pytest.fixture
def stream(db):
    now = timezone.now()
    return LiveStreamFactory(status=S.ACTIVE, started_at=now, host_joined_at=now, host_present=True)


def moderator(*, staff: bool = True) -> User:
    user = UserFactory(is_staff=staff)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["moderate_livestream", "view_streamreport"])
    )
    return User.objects.get(pk=user.pk)


# --- Filing a report (§10.1) ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_user_reports_a_stream(client_for, stream):
    reporter = UserFactory()
    body = {"type": "harassment", "description": "  Shouting slurs at viewers.  "}

    data = assert_envelope(report(client_for(reporter), stream.pk, body), 201)

    assert set(data) == REPORT_FIELDS
    row = StreamReport.objects.get()
    assert OBJECT_ID_RE.match(data["_id"]) and data["_id"] == row.pk
    assert (data["liveStreamId"], data["reporterId"], data["type"], data["status"]) == (
        stream.pk,
        reporter.pk,
        "harassment",
        "open",
    )
    assert data["description"] == "Shouting slurs at viewers." == row.description
    assert TIMESTAMP_RE.match(data["createdAt"]) and TIMESTAMP_RE.match(data["updatedAt"])


@pytest.mark.django_db
def test_the_apps_headers_are_kept_and_unknown_values_become_defaults(client_for, stream):
    headers = {
        "HTTP_X_LANGUAGE": "tr-TR",
        "HTTP_X_TIMEZONE": "Europe/Istanbul",
        "HTTP_X_PLATFORM": "iOS",
        "HTTP_X_APP_VERSION": "2.4.0",
        "HTTP_X_DEVICE_ID": "A1B2-C3D4:e5",
    }
    assert_envelope(report(client_for(UserFactory()), stream.pk, **headers), 201)
    kept = StreamReport.objects.get()
    assert (kept.language, kept.time_zone, kept.platform, kept.app_version, kept.device_id) == (
        "tr",
        "Europe/Istanbul",
        "ios",
        "2.4.0",
        "A1B2-C3D4:e5",
    )
    odd = {
        "HTTP_X_LANGUAGE": "klingon",
        "HTTP_X_TIMEZONE": "Mars/Olympus",
        "HTTP_X_PLATFORM": "<script>",
        "HTTP_X_APP_VERSION": "' OR 1=1 --",
        "HTTP_X_DEVICE_ID": "x" * 500,
    }
    assert_envelope(report(client_for(UserFactory()), stream.pk, **odd), 201)
    defaulted = StreamReport.objects.latest("created_at")
    assert (
        defaulted.language,
        defaulted.time_zone,
        defaulted.platform,
        defaulted.app_version,
        defaulted.device_id,
    ) == ("en", "UTC", "unknown", "", "")


@pytest.mark.django_db
def test_other_needs_a_description(client_for, stream):
    client = client_for(UserFactory())
    for body in ({"type": "other"}, {"type": "other", "description": "   "}):
        assert_error(report(client, stream.pk, body), 400, contains="description:")
    assert not StreamReport.objects.exists()
    data = assert_envelope(report(client, stream.pk, {"type": "other", "description": "x"}), 201)
    assert data["description"] == "x"
    blank = assert_envelope(
        report(client_for(UserFactory()), stream.pk, {"type": "spam", "description": " "}), 201
    )
    assert blank["description"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "type"),
        ({"type": "rude"}, "type"),
        ({"type": "SPAM"}, "type"),
        ({"type": "spam", "description": "d" * 1001}, "description"),
        ({"type": "spam", "description": "bad\x00byte"}, "description"),
        ({"type": "spam", "description": ["a"]}, "description"),
    ],
)
def test_a_malformed_report_is_a_400(client_for, stream, body, field):
    response = client_for(UserFactory()).post(report_url(stream.pk), body, format="json")
    assert_error(response, 400, contains=f"{field}:")
    assert not StreamReport.objects.exists()


@pytest.mark.django_db
def test_one_open_report_per_user_and_stream(client_for, stream):
    reporter = UserFactory()
    client = client_for(reporter)
    first = assert_envelope(report(client, stream.pk), 201)
    assert_error(report(client, stream.pk, {"type": "scam"}), 409, contains="already reported")
    assert StreamReport.objects.count() == 1
    # Another user, or another stream, is another report.
    assert_envelope(report(client_for(UserFactory()), stream.pk), 201)
    assert_envelope(report(client, LiveStreamFactory(status=S.ENDED).pk), 201)
    # Once moderators close it, a new one may be filed.
    report_close(actor=moderator(), report_id=first["_id"], status="dismissed", note="Fine.")
    assert_envelope(report(client, stream.pk), 201)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.SCHEDULED, S.ENDED, S.CANCELLED_BY_HOST, S.EXPIRED])
def test_a_stream_in_any_status_can_be_reported(client_for, status):
    stream = LiveStreamFactory(status=status)
    assert_envelope(report(client_for(UserFactory()), stream.pk), 201)


@pytest.mark.django_db
def test_who_may_report(client_for, stream):
    blocked = UserFactory()
    LiveStreamBan.objects.create(
        live_stream=stream, user=blocked, action_type=BanAction.BLOCK, created_by=stream.creator
    )
    assert_error(report(client_for(stream.creator), stream.pk), 403, contains="creator")
    assert_error(report(APIClient(), stream.pk), 401)
    assert_error(report(client_for(blocked), new_object_id()), 404)
    assert_error(report(client_for(blocked), "not-an-id"), 400, contains="id:")
    assert not StreamReport.objects.exists()
    assert_envelope(report(client_for(blocked), stream.pk), 201)  # a ban does not stop it
    duo = LiveStreamFactory(live_stream_type=LiveStreamType.DUOSELF)
    assert_envelope(report(client_for(GuestFactory(live_stream=duo).user), duo.pk), 201)
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(report(client_for(UserFactory()), stream.pk), 404)


@pytest.mark.django_db
def test_reports_are_rate_limited_per_user(client_for, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "reports": "2/hour"}
    client = client_for(UserFactory())
    streams = LiveStreamFactory.create_batch(3, status=S.ENDED)
    assert_envelope(report(client, streams[0].pk), 201)
    assert_envelope(report(client, streams[1].pk), 201)
    response = report(client, streams[2].pk)
    assert_error(response, 429)
    assert response["Retry-After"]
    assert StreamReport.objects.count() == 2
    assert_envelope(report(client_for(UserFactory()), streams[2].pk), 201)


@pytest.mark.django_db
def test_filing_a_report_costs_a_fixed_number_of_queries(
    client_for, django_assert_num_queries, stream
):
    client = client_for(UserFactory())
    # Authentication, the stream with the caller's flags, "an open one?", the insert
    # (in a savepoint: 3), the savepoint around the service (2).
    with django_assert_num_queries(8):
        response = report(client, stream.pk)
    assert_envelope(response, 201)


# --- The moderators' queue ----------------------------------------------------------------


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def queued_ids(response) -> list[str]:
    return re.findall(r'name="_selected_action" value="([0-9a-f]{24})"', response.content.decode())


def act(client, action: str, reports, **fields):
    data = {
        "action": action,
        "_selected_action": [r.pk for r in reports],
        "post": "yes",
        "select_across": "0",
        **fields,
    }
    return client.post(QUEUE, data)


@pytest.fixture
def queue(db):
    """Reports of two streams, open and closed, at different times."""
    now = timezone.now()
    busy, quiet = LiveStreamFactory(status=S.ACTIVE), LiveStreamFactory(status=S.ENDED)

    def filed(stream, minutes_ago, type="spam", status=ReportStatus.OPEN):
        made = StreamReport.objects.create(
            live_stream=stream, reporter=UserFactory(), type=type, status=status
        )
        StreamReport.objects.filter(pk=made.pk).update(
            created_at=now - timedelta(minutes=minutes_ago)
        )
        return made

    return {
        "busy": busy,
        "quiet": quiet,
        "newest": filed(busy, 1, "violence"),
        "oldest": filed(busy, 60),
        "middle": filed(quiet, 30, "scam"),
        "closed": filed(busy, 90, status=ReportStatus.DISMISSED),
    }


def test_the_queue_shows_open_reports_first_oldest_first(queue):
    client = admin_client(moderator())
    response = client.get(QUEUE)
    assert response.status_code == 200
    order = [queue[name].pk for name in ("oldest", "middle", "newest", "closed")]
    assert queued_ids(response) == order
    html = response.content.decode()
    assert 'class="field-open_on_stream">2<' in html  # two open reports of the busy stream

    only_scam = client.get(QUEUE, {"type__exact": "scam"})
    assert queued_ids(only_scam) == [queue["middle"].pk]
    only_closed = client.get(QUEUE, {"status__exact": "dismissed"})
    assert queued_ids(only_closed) == [queue["closed"].pk]


def test_a_moderator_resolves_and_dismisses_with_a_note(queue):
    mod = moderator()
    client = admin_client(mod)
    response = act(client, "resolve", [queue["oldest"]], reason="Warned the creator.")
    assert response.status_code == 302
    act(client, "dismiss", [queue["middle"]], reason="Not a scam.")

    resolved = StreamReport.objects.get(pk=queue["oldest"].pk)
    assert (resolved.status, resolved.note, resolved.closed_by_id) == (
        "resolved",
        "Warned the creator.",
        mod.pk,
    )
    assert resolved.closed_at is not None
    dismissed = StreamReport.objects.get(pk=queue["middle"].pk)
    assert (dismissed.status, dismissed.note) == ("dismissed", "Not a scam.")
    audit = AuditEntry.objects.filter(target_type="streamreport").order_by("created_at")
    assert [(a.action, a.actor_id, a.target_id, a.reason) for a in audit] == [
        ("report_resolved", mod.pk, resolved.pk, "Warned the creator."),
        ("report_dismissed", mod.pk, dismissed.pk, "Not a scam."),
    ]
    assert StreamReport.objects.get(pk=queue["newest"].pk).status == "open"


def test_a_note_is_required(queue):
    client = admin_client(moderator())
    response = act(client, "resolve", [queue["oldest"]], reason="")
    assert response.status_code == 200  # the form again
    assert StreamReport.objects.get(pk=queue["oldest"].pk).status == "open"
    assert not AuditEntry.objects.exists()


def test_a_closed_report_is_not_closed_again(queue):
    client = admin_client(moderator())
    act(client, "resolve", [queue["closed"]], reason="again")
    assert StreamReport.objects.get(pk=queue["closed"].pk).status == "dismissed"
    assert not AuditEntry.objects.exists()


def test_ending_the_stream_from_a_report_resolves_its_open_reports(queue):
    mod = moderator()
    response = act(admin_client(mod), "end_stream", [queue["newest"]], reason="Violence on air.")
    assert response.status_code == 302

    busy = LiveStream.objects.get(pk=queue["busy"].pk)
    assert busy.status == S.ENDED
    assert AuditEntry.objects.filter(target_id=busy.pk, action="end", actor=mod).exists()
    for name in ("newest", "oldest"):
        closed = StreamReport.objects.get(pk=queue[name].pk)
        assert (closed.status, closed.note) == ("resolved", "Violence on air.")
    assert StreamReport.objects.get(pk=queue["middle"].pk).status == "open"  # another stream
    assert StreamReport.objects.get(pk=queue["closed"].pk).status == "dismissed"


def test_removing_the_stream_from_a_report(queue):
    act(admin_client(moderator()), "remove_stream", [queue["middle"]], reason="Fraud.")
    quiet = LiveStream.objects.get(pk=queue["quiet"].pk)
    assert quiet.is_removed and quiet.deletion_reason == "Fraud."
    assert StreamReport.objects.get(pk=queue["middle"].pk).status == "resolved"


def test_a_refused_stream_action_leaves_the_report_open(queue):
    client = admin_client(moderator())
    response = act(client, "end_stream", [queue["middle"]], reason="End it.")  # already ended
    assert response.status_code == 302
    assert StreamReport.objects.get(pk=queue["middle"].pk).status == "open"
    messages = [m.message for m in response.wsgi_request._messages]
    assert any("only an active stream can be ended" in m for m in messages)


def test_banning_a_user_from_the_reported_stream(queue):
    mod = moderator()
    troll = UserFactory(username="troll")
    fields = {"user": troll.pk, "action_type": "CHAT_ONLY", "reason": "Spamming the chat."}
    act(admin_client(mod), "ban_user", [queue["oldest"]], **fields)

    ban = LiveStreamBan.objects.get()
    assert (ban.live_stream_id, ban.user_id, ban.action_type, ban.created_by_id) == (
        queue["busy"].pk,
        troll.pk,
        "CHAT_ONLY",
        mod.pk,
    )
    assert StreamReport.objects.get(pk=queue["oldest"].pk).status == "resolved"
    assert StreamReport.objects.get(pk=queue["newest"].pk).status == "open"
    assert AuditEntry.objects.filter(action="ban", target_id=queue["busy"].pk).exists()


def test_staff_without_the_moderators_permission_cannot_act(queue):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_streamreport"))
    client = admin_client(viewer)
    assert client.get(QUEUE).status_code == 200
    act(client, "resolve", [queue["oldest"]], reason="x")
    assert StreamReport.objects.get(pk=queue["oldest"].pk).status == "open"
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("reports", [3, 30])
def test_the_queue_costs_the_same_whatever_the_reports(django_assert_num_queries, reports):
    client = admin_client(moderator())
    for _ in range(reports):
        StreamReport.objects.create(
            live_stream=LiveStreamFactory(), reporter=UserFactory(), type="spam"
        )
    client.get(QUEUE)
    # The session, the user, their permissions (2), the count, the page of reports
    # (with streams, reporters and each stream's open count in the same query).
    with django_assert_num_queries(6):
        assert client.get(QUEUE).status_code == 200


def test_a_reports_page_shows_it_with_its_audit_history(queue):
    mod = moderator()
    client = admin_client(mod)
    act(client, "resolve", [queue["oldest"]], reason="Handled <b>now</b>.")
    page = client.get(reverse("admin:livestreams_streamreport_change", args=[queue["oldest"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "report resolved" in html and "report_resolved" not in html
    assert "Handled &lt;b&gt;now&lt;/b&gt;." in html  # escaped, never markup
    assert mod.username in html


def test_a_reports_history_button_shows_its_audit_trail(queue):
    """The "History" button of a report tells its audit trail (not Django's empty
    change history)."""
    mod = moderator()
    client = admin_client(mod)
    act(client, "resolve", [queue["oldest"]], reason="Handled.")
    page = client.get(reverse("admin:livestreams_streamreport_history", args=[queue["oldest"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="audit-trail__entry') == 1
    assert "Handled." in html
    assert mod.username in html
    assert "doesn’t have a change history" not in html
