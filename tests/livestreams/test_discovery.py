"""The home screen's and the profiles' lists (API-more §7.1-§7.8): featured,
catch-streamers, most-watched creators, guest streams, past streams, upcoming
streams (v1 in hours, v2 in minutes) with isReminderActive."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from allmine.core.ids import new_object_id
from livestreams.lifecycle import LiveStreamStatus as S
from livestreams.models import (
    Guest,
    LiveStream,
    LiveStreamType,
    Participant,
    ReminderState,
    StreamReminder,
)
from livestreams.services.moderation import livestream_remove
from livestreams.services.reminders import reminder_set
from tests.api import assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory

API = "/api/v1/live-stream"
FEATURED = f"{API}/featured"
CATCH = f"{API}/catch-streamers"
MOST_WATCHED = f"{API}/most-watched-creators"
GUEST_STREAMS = f"{API}/guest-streams"
MY_PAST = f"{API}/my-past-streams"
CREATOR_CARD_FIELDS = {
    "_id",
    "username",
    "name",
    "surname",
    "profilePhoto",
    "availabilityStatus",
    "expertise",
    "isFollowing",
    "uniqueViewers",
}


def past_url(user_id) -> str:
    return f"{API}/user/{user_id}/past-streams"


def upcoming_url(user_id, version: int = 1) -> str:
    return f"/api/v{version}/live-stream/user/{user_id}/upcoming-live-streams"


def live(minutes_ago: int = 5, **fields) -> LiveStream:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return LiveStreamFactory(
        status=S.ACTIVE, started_at=started, host_joined_at=started, host_present=True, **fields
    )


def watchers(stream, count: int, *, present: bool = True, when=None) -> list[User]:
    users = UserFactory.create_batch(count)
    for user in users:
        Participant.objects.create(
            live_stream=stream,
            user=user,
            is_present=present,
            last_joined_at=when or timezone.now(),
        )
    return users


def ended(creator, *, hours_ago: int, **fields) -> LiveStream:
    now = timezone.now()
    return LiveStreamFactory(
        creator=creator,
        status=S.ENDED,
        started_at=now - timedelta(hours=hours_ago + 1),
        ended_at=now - timedelta(hours=hours_ago),
        **fields,
    )


def scheduled(creator, *, in_minutes: int, **fields) -> LiveStream:
    return LiveStreamFactory(
        creator=creator,
        status=S.SCHEDULED,
        planned_start_date=timezone.now() + timedelta(minutes=in_minutes),
        **fields,
    )


# --- Featured (§7.1) ------------------------------------------------------------------


@pytest.mark.django_db
def test_featured_ranks_the_active_streams_by_viewers_now(client_for):
    quiet = live(minutes_ago=1, title="quiet")
    busy = live(minutes_ago=30, title="busy")
    busier = live(minutes_ago=40, title="busier")
    tie_old = live(minutes_ago=50, title="tie-old")
    tie_new = live(minutes_ago=2, title="tie-new")
    watchers(busy, 3)
    watchers(busy, 4, present=False)  # gone: they do not count
    watchers(busier, 5)
    watchers(tie_old, 2)
    watchers(tie_new, 2)
    ended_stream = ended(UserFactory(), hours_ago=1, title="ended")
    watchers(ended_stream, 9, present=False)
    removed = live(title="removed")
    watchers(removed, 9)
    LiveStream.objects.filter(pk=removed.pk).update(deleted_at=timezone.now())
    LiveStreamFactory(status=S.PREPARING, title="preparing")

    data = assert_envelope(APIClient().get(FEATURED), 200)

    assert [s["title"] for s in data] == ["busier", "busy", "tie-new", "tie-old", "quiet"]
    assert all(s["role"] is None for s in data)  # anonymous
    assert data[0]["replayAccess"]["status"] == "none"
    assert quiet.pk in {s["id"] for s in data}


@pytest.mark.django_db
def test_featured_shows_at_most_ten_and_the_callers_role(client_for):
    streams = [live(minutes_ago=i + 1) for i in range(12)]
    viewer = UserFactory()
    Participant.objects.create(live_stream=streams[0], user=viewer)
    data = assert_envelope(client_for(viewer).get(FEATURED), 200)
    assert len(data) == 10
    assert data[0]["id"] == streams[0].pk  # the only one with a viewer
    assert data[0]["role"] == "audience"


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 10])
def test_featured_costs_the_same_whatever_the_streams_and_the_audience(
    django_assert_num_queries, count
):
    for index in range(count):
        stream = live(minutes_ago=index + 1, live_stream_type=LiveStreamType.DUOSELF)
        GuestFactory(live_stream=stream)
        watchers(stream, index % 3)
    # The streams with their viewer counts (one query), guests, mini crowdfundings.
    with django_assert_num_queries(3):
        response = APIClient().get(FEATURED)
    assert len(assert_envelope(response, 200)) == count


@pytest.mark.django_db
def test_a_bad_token_on_a_public_list_is_a_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    for url in (FEATURED, CATCH, MOST_WATCHED, past_url(new_object_id())):
        assert_error(client.get(url), 401)


# --- Catch the streamers (§7.2) -------------------------------------------------------


@pytest.mark.django_db
def test_catch_streamers_lists_each_live_creator_latest_start_first(client_for):
    first = live(minutes_ago=30, title="earlier")
    latest = live(minutes_ago=1, title="latest")
    LiveStreamFactory(status=S.PREPARING)
    ended(UserFactory(), hours_ago=2)

    data = assert_envelope(APIClient().get(CATCH), 200)

    assert [(c["creator"]["_id"], c["activeLiveStream"]["title"]) for c in data] == [
        (latest.creator_id, "latest"),
        (first.creator_id, "earlier"),
    ]
    assert set(data[0]) == {"creator", "activeLiveStream"}
    assert data[0]["activeLiveStream"]["status"] == "active"
    limited = assert_envelope(APIClient().get(CATCH, {"limit": 1}), 200)
    assert [c["activeLiveStream"]["title"] for c in limited] == ["latest"]


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["ten", "1.5", "0x1", "1.0", ""])
def test_a_non_integer_limit_is_a_400(limit):
    """A blank `limit=` is no integer either (as `paginate()` reads it)."""
    for url in (CATCH, MOST_WATCHED):
        assert_error(APIClient().get(url, {"limit": limit}), 400, contains="limit:")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("limit", "shown"), [("0", 1), ("-4", 1), ("500", 3), ("12345678901234567890", 3)]
)
def test_a_limit_is_brought_within_1_to_100(limit, shown):
    for minutes in (1, 2, 3):
        live(minutes_ago=minutes)
    assert len(assert_envelope(APIClient().get(CATCH, {"limit": limit}), 200)) == shown


# --- Most watched creators (§7.3) -------------------------------------------------------


@pytest.mark.django_db
def test_most_watched_counts_distinct_recent_audience_members(client_for):
    now = timezone.now()
    star, rising, quiet, gone = UserFactory.create_batch(4)
    deactivated = UserFactory()
    old = ended(star, hours_ago=30)
    recent = ended(star, hours_ago=2)
    fans = watchers(old, 3, present=False, when=now - timedelta(days=2))
    for fan in fans[:2]:  # the same people at another of the star's streams
        Participant.objects.create(live_stream=recent, user=fan, is_present=False)
    watchers(old, 4, present=False, when=now - timedelta(days=31))  # too long ago
    rising_stream = live(creator=rising, live_stream_type=LiveStreamType.DUOSELF)
    co_host = GuestFactory(live_stream=rising_stream).user
    watchers(rising_stream, 2)
    # An invited guest who also has an audience row does not count.
    Participant.objects.create(live_stream=rising_stream, user=co_host)
    removed = ended(gone, hours_ago=1)
    watchers(removed, 9, present=False)
    LiveStream.objects.filter(pk=removed.pk).update(deleted_at=now)
    watchers(ended(deactivated, hours_ago=1), 9, present=False)
    User.objects.filter(pk=deactivated.pk).update(is_active=False)
    ended(quiet, hours_ago=1)  # no viewers: left out

    data = assert_envelope(APIClient().get(MOST_WATCHED), 200)

    assert [(c["_id"], c["uniqueViewers"]) for c in data] == [(star.pk, 3), (rising.pk, 2)]
    assert set(data[0]) == CREATOR_CARD_FIELDS
    assert (data[0]["expertise"], data[0]["isFollowing"]) == (None, None)  # anonymous
    signed_in = assert_envelope(client_for(UserFactory()).get(MOST_WATCHED), 200)
    assert {c["isFollowing"] for c in signed_in} == {False}
    assert len(assert_envelope(APIClient().get(MOST_WATCHED, {"limit": 1}), 200)) == 1


@pytest.mark.django_db
def test_most_watched_breaks_ties_by_the_latest_start_then_the_id():
    older, newer = UserFactory.create_batch(2)
    watchers(ended(older, hours_ago=5), 2, present=False)
    watchers(ended(newer, hours_ago=1), 2, present=False)
    data = assert_envelope(APIClient().get(MOST_WATCHED), 200)
    assert [c["_id"] for c in data] == [newer.pk, older.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("creators", [2, 8])
def test_most_watched_costs_two_queries(django_assert_num_queries, creators):
    for index in range(creators):
        watchers(ended(UserFactory(), hours_ago=index + 1), index + 1, present=False)
    with django_assert_num_queries(2):
        response = APIClient().get(MOST_WATCHED, {"limit": 100})
    assert len(assert_envelope(response, 200)) == creators


# --- Guest streams (§7.4) ---------------------------------------------------------------


@pytest.fixture
def invited(db):
    """A user invited to three duo streams, and one stream they are not in."""
    me = UserFactory()
    now = timezone.now()
    streams = {
        "a": LiveStreamFactory(
            title="a",
            live_stream_type=LiveStreamType.DUOSELF,
            status=S.SCHEDULED,
            planned_start_date=now + timedelta(hours=5),
            created_at=now - timedelta(hours=3),
            funding_goal=50,
        ),
        "b": LiveStreamFactory(
            title="b",
            live_stream_type=LiveStreamType.DUOCROWD,
            status=S.ENDED,
            created_at=now - timedelta(hours=2),
        ),
        "c": LiveStreamFactory(
            title="c",
            live_stream_type=LiveStreamType.DUOSELF,
            status=S.SCHEDULED,
            planned_start_date=now + timedelta(hours=1),
            created_at=now - timedelta(hours=1),
            funding_goal=10,
        ),
    }
    for stream in streams.values():
        GuestFactory(live_stream=stream, user=me)
    GuestFactory(live_stream=LiveStreamFactory(title="not mine"))
    gone = LiveStreamFactory(title="removed", live_stream_type=LiveStreamType.DUOSELF)
    GuestFactory(live_stream=gone, user=me)
    LiveStream.objects.filter(pk=gone.pk).update(deleted_at=now)
    return me


@pytest.mark.parametrize(
    ("params", "titles"),
    [
        ({}, ["c", "b", "a"]),
        ({"sortOrder": "asc"}, ["a", "b", "c"]),
        ({"status": "scheduled"}, ["c", "a"]),
        ({"status": "active"}, []),
        ({"sortBy": "plannedStartDate", "sortOrder": "asc"}, ["c", "a", "b"]),  # nulls last
        ({"sortBy": "plannedStartDate"}, ["a", "c", "b"]),
        ({"sortBy": "fundingGoal", "sortOrder": "desc"}, ["a", "c", "b"]),
    ],
)
def test_guest_streams_lists_the_callers_invitations(client_for, invited, params, titles):
    data = assert_envelope(client_for(invited).get(GUEST_STREAMS, params), 200)
    assert [s["title"] for s in data] == titles
    assert {s["role"] for s in data} <= {"guest"}


@pytest.mark.parametrize(
    "params",
    [{"status": "live"}, {"sortBy": "title"}, {"sortOrder": "up"}, {"sortBy": "created_at"}],
)
def test_guest_streams_refuses_other_values(client_for, invited, params):
    (field,) = params
    assert_error(client_for(invited).get(GUEST_STREAMS, params), 400, contains=f"{field}:")


@pytest.mark.django_db
def test_guest_streams_and_my_past_streams_need_a_token():
    assert_error(APIClient().get(GUEST_STREAMS), 401)
    assert_error(APIClient().get(MY_PAST), 401)


# --- Past streams (§7.5, §7.6) ------------------------------------------------------------


@pytest.fixture
def creator_with_a_past(db):
    creator = UserFactory()
    ended(creator, hours_ago=1, title="yesterday")
    ended(creator, hours_ago=48, title="last week")
    ended(creator, hours_ago=10, title="this morning")
    gone = ended(creator, hours_ago=3, title="removed")
    LiveStream.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    live(creator=creator, title="now")
    ended(UserFactory(), hours_ago=1, title="someone else's")
    return creator


def test_my_past_streams_are_the_callers_ended_ones_latest_end_first(
    client_for, creator_with_a_past
):
    data = assert_envelope(client_for(creator_with_a_past).get(MY_PAST), 200)
    assert [s["title"] for s in data] == ["yesterday", "this morning", "last week"]
    assert {s["role"] for s in data} == {"host"}
    limited = assert_envelope(client_for(creator_with_a_past).get(MY_PAST, {"limit": 2}), 200)
    assert [s["title"] for s in limited] == ["yesterday", "this morning"]
    assert_error(client_for(creator_with_a_past).get(MY_PAST, {"limit": "x"}), 400)


def test_a_users_past_streams_for_anyone(client_for, creator_with_a_past):
    anonymous = assert_envelope(APIClient().get(past_url(creator_with_a_past.pk)), 200)
    assert [s["title"] for s in anonymous] == ["yesterday", "this morning", "last week"]
    assert {s["role"] for s in anonymous} == {None}
    theirs = assert_envelope(
        client_for(creator_with_a_past).get(past_url(creator_with_a_past.pk)), 200
    )
    assert {s["role"] for s in theirs} == {"host"}


@pytest.mark.django_db
def test_the_past_streams_of_an_unknown_or_deactivated_user_are_a_404():
    assert_error(APIClient().get(past_url(new_object_id())), 404)
    gone = UserFactory(is_active=False)
    assert_error(APIClient().get(past_url(gone.pk)), 404)
    assert_error(APIClient().get(upcoming_url(gone.pk)), 404)
    assert_error(APIClient().get(past_url("not-an-id")), 400, contains="userId:")


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 12])
def test_past_streams_cost_the_same_whatever_their_number(
    client_for, django_assert_num_queries, count
):
    creator = UserFactory()
    for index in range(count):
        ended(creator, hours_ago=index + 1)
    client = client_for(UserFactory())
    # Authentication, the user, the streams, guests, mini crowdfundings,
    # participations and rentals.
    with django_assert_num_queries(7):
        response = client.get(past_url(creator.pk))
    assert len(assert_envelope(response, 200)) == count


# --- Upcoming streams (§7.7, §7.8) --------------------------------------------------------


@pytest.fixture
def upcoming_world(db):
    """A creator with streams in every state, and a stream they are a guest of."""
    creator = UserFactory()
    now = timezone.now()
    streams = {
        "live": live(creator=creator, title="live"),
        "in 2h": scheduled(creator, in_minutes=120, title="in 2h"),
        "in 30m": scheduled(creator, in_minutes=30, title="in 30m"),
        "1h ago": scheduled(creator, in_minutes=-60, title="1h ago"),
        "in 3 days": scheduled(creator, in_minutes=3 * 24 * 60, title="in 3 days"),
        "ended": ended(creator, hours_ago=1, title="ended"),
    }
    other = UserFactory()
    guest_of = LiveStreamFactory(
        creator=other,
        live_stream_type=LiveStreamType.DUOSELF,
        status=S.PREPARING,
        title="as guest",
        planned_start_date=now + timedelta(days=20),
    )
    Guest.objects.create(live_stream=guest_of, user=creator)
    cancelled = scheduled(creator, in_minutes=60, title="cancelled")
    LiveStream.objects.filter(pk=cancelled.pk).update(status=S.CANCELLED_BY_HOST)
    removed = scheduled(creator, in_minutes=90, title="removed")
    livestream_remove(actor=creator, live_stream_id=removed.pk)
    return creator, streams


@pytest.mark.parametrize(
    ("version", "params", "titles"),
    [
        (1, {}, ["live", "as guest", "1h ago", "in 30m", "in 2h"]),
        (1, {"hoursBefore": 0, "hoursAfter": 1}, ["live", "as guest", "in 30m"]),
        (1, {"hoursAfter": 0.75}, ["live", "as guest", "1h ago", "in 30m"]),
        (1, {"hoursAfter": 100}, ["live", "as guest", "1h ago", "in 30m", "in 2h", "in 3 days"]),
        (1, {"limit": 3}, ["live", "as guest", "1h ago"]),
        (2, {}, ["live", "as guest", "1h ago", "in 30m", "in 2h"]),
        (2, {"minutesBefore": 0, "minutesAfter": 45}, ["live", "as guest", "in 30m"]),
        (2, {"minutesBefore": 90, "minutesAfter": 0}, ["live", "as guest", "1h ago"]),
    ],
)
def test_upcoming_streams(client_for, upcoming_world, version, params, titles):
    creator, _streams = upcoming_world
    data = assert_envelope(APIClient().get(upcoming_url(creator.pk, version), params), 200)
    assert [s["title"] for s in data] == titles
    assert {s["isReminderActive"] for s in data} == {None}  # anonymous


@pytest.mark.parametrize(
    ("version", "params", "field"),
    [
        (1, {"hoursBefore": -1}, "hoursBefore"),
        (1, {"hoursAfter": "soon"}, "hoursAfter"),
        (1, {"hoursAfter": "nan"}, "hoursAfter"),
        (1, {"hoursAfter": "inf"}, "hoursAfter"),
        (1, {"hoursBefore": 8761}, "hoursBefore"),
        (1, {"limit": -1}, "limit"),
        (1, {"limit": "many"}, "limit"),
        (2, {"minutesBefore": -5}, "minutesBefore"),
        (2, {"minutesAfter": 1.5}, "minutesAfter"),
        (2, {"minutesAfter": 525601}, "minutesAfter"),
    ],
)
def test_upcoming_refuses_negative_or_non_numeric_values(upcoming_world, version, params, field):
    creator, _streams = upcoming_world
    response = APIClient().get(upcoming_url(creator.pk, version), params)
    assert_error(response, 400, contains=f"{field}:")


def test_upcoming_says_which_streams_the_caller_is_reminded_of(client_for, upcoming_world):
    creator, streams = upcoming_world
    fan = UserFactory()
    reminder_set(user=fan, live_stream_id=streams["in 30m"].pk, minute=10)
    reminder_set(user=fan, live_stream_id=streams["in 2h"].pk, minute=0)
    StreamReminder.objects.filter(live_stream=streams["in 2h"]).update(state=ReminderState.FIRED)
    reminder_set(user=UserFactory(), live_stream_id=streams["1h ago"].pk, minute=0)

    data = assert_envelope(client_for(fan).get(upcoming_url(creator.pk)), 200)

    active = {s["title"]: s["isReminderActive"] for s in data}
    assert active == {
        "live": False,
        "as guest": False,
        "1h ago": False,  # someone else's reminder
        "in 30m": True,
        "in 2h": False,  # fired already
    }


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("extra", [0, 6])
def test_upcoming_costs_the_same_whatever_the_streams(
    client_for, django_assert_num_queries, version, extra
):
    creator = UserFactory()
    for index in range(3 + extra):
        scheduled(creator, in_minutes=10 + index)
    client = client_for(UserFactory())
    # Authentication, the user, the streams, guests, mini crowdfundings,
    # participations, reminders (nothing ended: no rentals).
    with django_assert_num_queries(7):
        response = client.get(upcoming_url(creator.pk, version))
    assert len(assert_envelope(response, 200)) == 3 + extra


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 9])
def test_catch_streamers_and_guest_streams_cost_the_same_whatever_their_number(
    client_for, django_assert_num_queries, count
):
    me = UserFactory()
    for index in range(count):
        stream = live(minutes_ago=index + 1, live_stream_type=LiveStreamType.DUOSELF)
        GuestFactory(live_stream=stream, user=me)
    # The streams, guests, mini crowdfundings (anonymous: no participations).
    with django_assert_num_queries(3):
        response = APIClient().get(CATCH, {"limit": 100})
    assert len(assert_envelope(response, 200)) == count
    client = client_for(me)
    # Authentication, the streams, guests, mini crowdfundings (a guest: no
    # participation or rental to look up).
    with django_assert_num_queries(4):
        response = client.get(GUEST_STREAMS)
    assert len(assert_envelope(response, 200)) == count
