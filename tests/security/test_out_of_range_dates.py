"""Issue 10, finding 1: one request with a planned date PostgreSQL can hold but
Python cannot read (`9999-12-31T23:59:59-14:00` is 10000-01-01 in UTC) used to be
stored, answer 500, and from then on break the stream list, its filters, the
stream's own page, its cancel and delete and the admin's list for everyone.

Every datetime the API and the admin accept lies in a window (planned dates: from
2000-01-01T00:00:00Z to LIVESTREAM_MAX_SCHEDULE_DAYS days from now); anything else
is a 400 field error and nothing is stored, and a response is rendered inside the
transaction of its work, so it cannot fail after the commit.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from livestreams.api import serializers as api_serializers
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import LiveStream
from tests.api import assert_envelope, assert_error
from tests.factories import LiveStreamFactory, UserFactory
from tests.security.test_hostile_input import client_of, jpeg_bytes, media_files

CREATE_URL = "/api/v1/live-stream/create"
LIST_URL = "/api/v1/live-stream"

UNREADABLE = {
    "year-10000-in-utc": "9999-12-31T23:59:59-14:00",
    "year-0-in-utc": "0001-01-01T00:00:00+14:00",
}
OUT_OF_WINDOW = {
    **UNREADABLE,
    "before-2000": "1999-12-31T23:59:59Z",
    "year-9999": "9999-12-31T23:59:59Z",
    "two-years-ahead": None,  # filled in per test: now + 730 days
    "offset-beyond-a-day": "2026-06-01T10:00:00+24:00",
    "week-date": "2026-W23-1T10:00:00Z",
    "full-width-digits": "２０２６-06-01T10:00:00Z",
}


def _dated(value):
    if value is None:
        return (timezone.now() + timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


@pytest.fixture
def bystanders(db):
    """Streams of other creators that every list shows."""
    now = timezone.now()
    return [
        LiveStreamFactory(
            status=LiveStreamStatus.SCHEDULED,
            planned_start_date=now + timedelta(days=1),
            planned_end_date=now + timedelta(days=1, hours=1),
        ),
        LiveStreamFactory(status=LiveStreamStatus.PREPARING),
    ]


def assert_everything_still_reads(client, admin_client, creator, bystanders):
    """The lists (and their filters), a stream's page and the admin's list answer 200."""
    for query in ("", "?status=scheduled", "?status=preparing", f"?creator={creator.pk}"):
        assert_envelope(client.get(LIST_URL + query), 200)
    for stream in bystanders:
        assert_envelope(client.get(f"{LIST_URL}/{stream.pk}"), 200)
    response = admin_client.get("/admin/livestreams/livestream/")
    assert response.status_code == 200
    response = admin_client.get("/admin/livestreams/livestream/?status__exact=preparing")
    assert response.status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("field", ["plannedStartDate", "plannedEndDate"])
@pytest.mark.parametrize("value", UNREADABLE.values(), ids=UNREADABLE.keys())
@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_an_unreadable_planned_date_is_refused_and_every_list_keeps_answering(
    admin_client, bystanders, media_root, field, value, fmt
):
    creator = UserFactory()
    client = client_of(creator)
    body = {"title": "Far away", field: value}
    if fmt == "multipart":
        body["thumbnail"] = SimpleUploadedFile("t.jpg", jpeg_bytes(), content_type="image/jpeg")

    response = client.post(CREATE_URL, body, format=fmt)

    assert_error(response, 400, contains=f"{field}: Must be between 2000-01-01T00:00:00.000Z")
    assert not LiveStream.objects.filter(creator=creator).exists()
    assert media_files(media_root) == []
    assert_everything_still_reads(client, admin_client, creator, bystanders)
    # The creator is not blocked from creating (the refused stream does not exist).
    assert_envelope(client.post(CREATE_URL, {"title": "Tonight"}, format="json"), 201)


@pytest.mark.parametrize("field", ["plannedStartDate", "plannedEndDate"])
@pytest.mark.parametrize("value", OUT_OF_WINDOW.values(), ids=OUT_OF_WINDOW.keys())
def test_a_planned_date_outside_the_window_is_a_400_field_error(db, field, value):
    creator = UserFactory()
    response = client_of(creator).post(
        CREATE_URL, {"title": "Window", field: _dated(value)}, format="json"
    )
    errors = assert_error(response, 400)
    assert errors[1].startswith(f"{field}: "), errors
    assert not LiveStream.objects.exists()


def test_the_window_is_stated_in_the_error(db, settings):
    settings.LIVESTREAM_MAX_SCHEDULE_DAYS = 30
    creator = UserFactory()
    late = timezone.now() + timedelta(days=31)
    response = client_of(creator).post(
        CREATE_URL, {"title": "Late", "plannedStartDate": late.isoformat()}, format="json"
    )
    errors = assert_error(response, 400)
    latest = errors[1].rsplit(" and ", 1)[1].rstrip(".")
    assert errors[1].startswith("plannedStartDate: Must be between 2000-01-01T00:00:00.000Z and ")
    stated = timezone.datetime.fromisoformat(latest.replace("Z", "+00:00"))
    assert abs(stated - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "offset", [timedelta(days=-365 * 20), timedelta(minutes=5), timedelta(days=364)]
)
def test_planned_dates_inside_the_window_are_stored_and_read_back(db, offset):
    creator = UserFactory()
    client = client_of(creator)
    start = (timezone.now() + offset).replace(microsecond=0)
    end = start + timedelta(hours=1) if offset < timedelta(days=300) else None
    body = {"title": "Inside", "plannedStartDate": start.isoformat()}
    if end:
        body["plannedEndDate"] = end.isoformat()
    created = assert_envelope(client.post(CREATE_URL, body, format="json"), 201)
    shown = assert_envelope(client.get(f"{LIST_URL}/{created['id']}"), 200)
    assert shown["plannedStartDate"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    listed = assert_envelope(client.get(f"{LIST_URL}?creator={creator.pk}"), 200)  # an array
    assert [s["id"] for s in listed] == [created["id"]]


def test_a_planned_date_with_an_offset_is_returned_in_utc(db):
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    sent = start.strftime("%Y-%m-%dT%H:%M:%S") + "-14:00"
    data = assert_envelope(
        client_of(UserFactory()).post(
            CREATE_URL, {"title": "Kiritimati", "plannedStartDate": sent}, format="json"
        ),
        201,
    )
    assert data["plannedStartDate"] == (start + timedelta(hours=14)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )


def test_a_response_that_cannot_be_rendered_leaves_nothing_behind(db, media_root, monkeypatch):
    """Whatever goes wrong while the created stream is rendered (here: a renderer
    that fails), the stream and its thumbnail are not left behind: the response is
    built before the commit, not after it."""

    def broken(self, instance):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(api_serializers.LiveStreamSerializer, "to_representation", broken)
    creator = UserFactory()
    thumbnail = SimpleUploadedFile("t.jpg", jpeg_bytes(), content_type="image/jpeg")
    response = client_of(creator).post(
        CREATE_URL, {"title": "Unrenderable", "thumbnail": thumbnail}, format="multipart"
    )
    assert_error(response, 500)
    assert not LiveStream.objects.exists()
    assert media_files(media_root) == []


def test_the_admin_refuses_a_planned_date_outside_the_window(admin_client, db):
    stream = LiveStreamFactory(status=LiveStreamStatus.PREPARING, title="Edited")
    url = f"/admin/livestreams/livestream/{stream.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and not hasattr(value, "pk")
    }
    data.update(
        {
            "title": "Edited",
            "live_stream_type": "solo",
            "planned_start_date_0": "9999-12-31",
            "planned_start_date_1": "23:59:59",
            "guest_set-TOTAL_FORMS": "0",
            "guest_set-INITIAL_FORMS": "0",
            "bans-TOTAL_FORMS": "0",
            "bans-INITIAL_FORMS": "0",
        }
    )
    data.pop("planned_start_date", None)
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "Must be between 2000-01-01T00:00:00.000Z" in response.content.decode()
    stream.refresh_from_db()
    assert stream.planned_start_date is None


@pytest.mark.postgres
def test_the_migration_repairs_a_row_the_attack_left_behind(client, admin_client, bystanders):
    """A row stored before the fix (a UTC time in the year 10000) is what broke every
    list; the migration clears such dates in the database, without reading them."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("livestreams.migrations.0013_planned_dates_in_range")
    victim = LiveStreamFactory(status=LiveStreamStatus.PREPARING)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks before the DDL
        cursor.execute(
            "ALTER TABLE livestreams_livestream DROP CONSTRAINT livestream_planned_dates_in_range"
        )
        cursor.execute(
            "UPDATE livestreams_livestream SET planned_start_date = "
            "'9999-12-31T23:59:59-14:00'::timestamptz WHERE id = %s",
            [victim.pk],
        )
    creator = UserFactory()
    with pytest.raises(Exception, match="year"):  # the list as it was: unreadable
        list(LiveStream.objects.all())

    migration.clear_unreadable_planned_dates(apps, None)

    victim.refresh_from_db()
    assert victim.planned_start_date is None
    assert_everything_still_reads(client_of(creator), admin_client, creator, bystanders)
    assert_envelope(client_of(victim.creator).delete(f"{LIST_URL}/{victim.pk}"), 200)


def test_join_as_creator_on_a_stream_the_creator_deleted_says_so(db):
    """Finding 11: the creator deleted it; no moderator was involved."""
    creator = UserFactory()
    client = client_of(creator)
    stream = LiveStreamFactory(creator=creator, status=LiveStreamStatus.PREPARING)
    assert_envelope(client.delete(f"{LIST_URL}/{stream.pk}"), 200)
    response = client.post(
        f"{LIST_URL}/join-as-creator", {"liveStreamId": stream.pk}, format="json"
    )
    errors = assert_error(response, 409, contains="You deleted this live stream.")
    assert not any("moderator" in e for e in errors)


def test_join_as_creator_on_a_stream_a_moderator_removed_says_so(db):
    from livestreams.services.moderation import livestream_remove

    creator = UserFactory()
    moderator = UserFactory(is_superuser=True, is_staff=True)
    stream = LiveStreamFactory(creator=creator, status=LiveStreamStatus.PREPARING)
    livestream_remove(actor=moderator, live_stream_id=stream.pk, reason="Rules")
    response = client_of(creator).post(
        f"{LIST_URL}/join-as-creator", {"liveStreamId": stream.pk}, format="json"
    )
    assert_error(response, 409, contains="removed by a moderator")


def test_going_live_with_a_second_stream_while_one_is_open_is_a_409(db):
    """Found by the fuzzing of issue 10: a scheduled stream's creator going live
    while another of their streams is active broke the one-open-stream rule (500)."""
    creator = UserFactory()
    LiveStreamFactory(creator=creator, status=LiveStreamStatus.ACTIVE)
    later = LiveStreamFactory(
        creator=creator,
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=timezone.now() + timedelta(hours=1),
    )
    response = client_of(creator).post(
        f"{LIST_URL}/join-as-creator", {"liveStreamId": later.pk}, format="json"
    )
    assert_error(response, 409, contains="another live stream that is preparing or active")
    later.refresh_from_db()
    assert later.status == LiveStreamStatus.SCHEDULED and later.started_at is None
