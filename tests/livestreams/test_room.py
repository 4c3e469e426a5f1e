"""The room: who watches (§7.10), the gifts sent (§7.11) and the audience's
figures with the peak of concurrent viewers (§11.1)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from allmine.core.ids import new_object_id
from livestreams.lifecycle import LiveStreamStatus as S
from livestreams.models import BanAction, GiftType, LiveStream, LiveStreamBan, Participant
from livestreams.services.audience import livestream_join_as_audience, livestream_leave
from livestreams.services.gifts import gift_send
from tests.api import assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory

API = "/api/v1/live-stream"
VIEWER_FIELDS = {
    "_id",
    "username",
    "name",
    "surname",
    "profilePhoto",
    "followersCount",
    "followingCount",
    "expertise",
    "isFollowing",
    "joinedAt",
}


def viewers_url(stream) -> str:
    return f"{API}/{stream.pk}/viewers"


def gifts_url(stream) -> str:
    return f"{API}/{stream.pk}/gift-statistics"


def statistics_url(stream) -> str:
    return f"/api/v1/participant/stream/{stream.pk}/statistics"


@pytest.fixture
def stream(db):
    now = timezone.now()
    stream = LiveStreamFactory(
        status=S.ACTIVE, started_at=now, host_joined_at=now, host_present=True
    )
    return stream


def joined(stream, user=None, *, minutes_ago: int = 0, present: bool = True, **fields):
    user = user or UserFactory(**fields)
    when = timezone.now() - timedelta(minutes=minutes_ago)
    Participant.objects.create(
        live_stream=stream,
        user=user,
        is_present=present,
        first_joined_at=when,
        last_joined_at=when,
        left_at=None if present else timezone.now(),
    )
    return user


def moderator() -> User:
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="moderate_livestream"))
    return User.objects.get(pk=user.pk)


def block(stream, user, action=BanAction.BLOCK):
    LiveStreamBan.objects.create(
        live_stream=stream, user=user, action_type=action, created_by=stream.creator
    )


def gift_type(amount: str, *, active: bool = True) -> GiftType:
    return GiftType.objects.create(
        credit_amount=Decimal(amount), svg=f"gifts/{amount}.svg", is_active=active
    )


# --- Viewers (§7.10) ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_viewers_are_who_watches_now_latest_join_first(client_for, stream):
    early = joined(stream, minutes_ago=30, username="early")
    late = joined(stream, minutes_ago=1, username="late")
    joined(stream, minutes_ago=10, present=False, username="gone")
    joined(LiveStreamFactory(status=S.ACTIVE), username="elsewhere")

    data = assert_envelope(client_for(stream.creator).get(viewers_url(stream)), 200)

    assert set(data) == {"list", "pagination", "participantAudienceTotal"}
    assert [v["_id"] for v in data["list"]] == [late.pk, early.pk]
    assert data["participantAudienceTotal"] == 3  # the one who left counts
    assert data["pagination"] == {
        "currentPage": 1,
        "totalPages": 1,
        "totalItems": 2,
        "itemsPerPage": 20,
        "hasNextPage": False,
        "hasPrevPage": False,
    }
    first = data["list"][0]
    assert set(first) == VIEWER_FIELDS
    assert (first["followersCount"], first["followingCount"]) == (0, 0)
    assert (first["expertise"], first["isFollowing"]) == (None, False)
    assert first["username"] == "late" and first["profilePhoto"] is None


@pytest.mark.django_db
def test_the_viewers_can_be_searched_and_paged(client_for, stream):
    joined(stream, name="Ayşe", surname="Kaya", username="ak", minutes_ago=1)
    joined(stream, name="Mehmet", surname="Ayhan", username="mehmet", minutes_ago=2)
    joined(stream, name="Zed", surname="Zulu", username="ZAYIN", minutes_ago=3)
    joined(stream, name="Nobody", surname="Else", username="quiet", minutes_ago=4)
    client = client_for(UserFactory())

    found = assert_envelope(client.get(viewers_url(stream), {"search": "ay"}), 200)
    assert [v["username"] for v in found["list"]] == ["ak", "mehmet", "ZAYIN"]
    assert found["participantAudienceTotal"] == 4  # the search does not change it
    blank = assert_envelope(client.get(viewers_url(stream), {"search": "  "}), 200)
    assert blank["pagination"]["totalItems"] == 4
    paged = assert_envelope(client.get(viewers_url(stream), {"limit": 3, "page": 2}), 200)
    assert [v["username"] for v in paged["list"]] == ["quiet"]
    assert paged["pagination"]["hasPrevPage"] is True
    assert_error(client.get(viewers_url(stream), {"search": "x" * 101}), 400, contains="search:")
    assert_error(client.get(viewers_url(stream), {"limit": "lots"}), 400, contains="limit:")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.ENDED, S.SCHEDULED])
def test_a_stream_not_live_has_no_viewers_but_keeps_its_total(client_for, status):
    stream = LiveStreamFactory(status=status)
    joined(stream)
    joined(stream, present=False)
    data = assert_envelope(client_for(UserFactory()).get(viewers_url(stream)), 200)
    assert data["list"] == []
    assert data["participantAudienceTotal"] == 2


@pytest.mark.django_db
def test_who_may_read_the_room(client_for, stream):
    blocked, chat_only = UserFactory(), UserFactory()
    block(stream, blocked)
    block(stream, chat_only, BanAction.CHAT_ONLY)
    for url in (viewers_url(stream), gifts_url(stream)):
        assert_error(APIClient().get(url), 401)
        assert_error(client_for(blocked).get(url), 403, contains="banned")
        assert_envelope(client_for(chat_only).get(url), 200)
        assert_envelope(client_for(UserFactory()).get(url), 200)
    for url in (f"{API}/{new_object_id()}/viewers", f"{API}/{new_object_id()}/gift-statistics"):
        assert_error(client_for(UserFactory()).get(url), 404)
    assert_error(client_for(UserFactory()).get(f"{API}/nope/viewers"), 400, contains="id:")
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(client_for(stream.creator).get(viewers_url(stream)), 404)


@pytest.mark.django_db
@pytest.mark.parametrize("audience", [1, 30])
def test_the_viewers_cost_the_same_whatever_the_audience(
    client_for, django_assert_num_queries, stream, audience
):
    for minutes in range(audience):
        joined(stream, minutes_ago=minutes)
    client = client_for(UserFactory())
    # Authentication, the stream with the caller's flags and ban, the count, the
    # page (users and photos), the total.
    with django_assert_num_queries(5):
        response = client.get(viewers_url(stream), {"limit": 100})
    assert len(assert_envelope(response, 200)["list"]) == audience


# --- Gift statistics (§7.11) -------------------------------------------------------------


@pytest.fixture
def sender(stream):
    user = UserFactory(credits="1000")
    livestream_join_as_audience(user=user, live_stream_id=stream.pk)
    return user


@pytest.mark.django_db
def test_the_gift_statistics_add_up(client_for, stream, sender):
    rose, heart, crown = gift_type("5"), gift_type("1.5"), gift_type("100")
    retired = gift_type("20")
    never_sent_retired = gift_type("30", active=False)
    for kind, times in ((rose, 3), (crown, 1), (retired, 2)):
        for _ in range(times):
            gift_send(user=sender, live_stream_id=stream.pk, gift_type_id=kind.pk)
    GiftType.objects.filter(pk=retired.pk).update(is_active=False)
    other = LiveStreamFactory(status=S.ACTIVE)
    livestream_join_as_audience(user=sender, live_stream_id=other.pk)
    gift_send(user=sender, live_stream_id=other.pk, gift_type_id=heart.pk)

    data = assert_envelope(client_for(UserFactory()).get(gifts_url(stream)), 200)

    assert data["liveStreamId"] == stream.pk
    assert data["totalCount"] == 6
    counts = [(c["giftType"]["id"], c["count"]) for c in data["giftTypeCounts"]]
    assert counts == [(heart.pk, 0), (rose.pk, 3), (retired.pk, 2), (crown.pk, 1)]
    assert sum(c["count"] for c in data["giftTypeCounts"]) == data["totalCount"]
    assert never_sent_retired.pk not in {c for c, _n in counts}
    entry = data["giftTypeCounts"][2]["giftType"]
    assert set(entry) == {"id", "creditAmount", "svgUrl", "isActive"}
    assert (entry["creditAmount"], entry["isActive"]) == (20, False)
    assert entry["svgUrl"].startswith("http") and entry["svgUrl"].endswith("/gifts/20.svg")


@pytest.mark.django_db
@pytest.mark.parametrize("gifts", [1, 20])
def test_the_gift_statistics_cost_the_same_whatever_the_gifts(
    client_for, django_assert_num_queries, stream, sender, gifts
):
    types = [gift_type(str(n + 1)) for n in range(3)]
    for n in range(gifts):
        gift_send(user=sender, live_stream_id=stream.pk, gift_type_id=types[n % 3].pk)
    client = client_for(UserFactory())
    # Authentication, the stream with the caller's flags, the types with their counts.
    with django_assert_num_queries(3):
        response = client.get(gifts_url(stream))
    assert assert_envelope(response, 200)["totalCount"] == gifts


# --- Participant statistics (§11.1) --------------------------------------------------------


@pytest.mark.django_db
def test_the_participant_statistics(client_for, stream):
    gone = joined(stream, minutes_ago=50, present=False)
    Participant.objects.filter(user=gone).update(watch_seconds=20 * 60)
    joined(stream, minutes_ago=10)  # watching for 10 minutes now
    back = joined(stream, minutes_ago=5)  # 5 minutes now, after 7 minutes before
    Participant.objects.filter(user=back).update(watch_seconds=7 * 60 + 30)
    LiveStream.objects.filter(pk=stream.pk).update(peak_viewers=3)

    data = assert_envelope(client_for(stream.creator).get(statistics_url(stream)), 200)

    assert data["streamId"] == stream.pk
    assert data["totalViewers"] == 3
    assert data["peakConcurrentViewers"] == 3
    # 20 + 10 + 12.5 minutes (and the seconds the request took).
    assert data["totalWatchTimeMinutes"] == 42
    assert 14.16 <= data["averageWatchTimeMinutes"] <= 14.2


@pytest.mark.django_db
def test_statistics_without_viewers_are_zero(client_for, stream):
    data = assert_envelope(client_for(stream.creator).get(statistics_url(stream)), 200)
    assert data == {
        "streamId": stream.pk,
        "totalViewers": 0,
        "averageWatchTimeMinutes": 0,
        "totalWatchTimeMinutes": 0,
        "peakConcurrentViewers": 0,
    }


@pytest.mark.django_db
def test_who_may_read_the_participant_statistics(client_for):
    stream = LiveStreamFactory(status=S.ENDED)  # any status
    guest = GuestFactory(live_stream=stream).user
    watcher = joined(stream, present=False)
    url = statistics_url(stream)
    for allowed in (stream.creator, guest, moderator()):
        assert_envelope(client_for(allowed).get(url), 200)
    for refused in (watcher, UserFactory()):
        assert_error(client_for(refused).get(url), 403)
    assert_error(APIClient().get(url), 401)
    assert_error(client_for(stream.creator).get(statistics_url(LiveStreamFactory.build())), 404)


@pytest.mark.django_db
def test_the_peak_is_recorded_on_each_join_and_never_falls(client_for, stream):
    people = UserFactory.create_batch(4)
    for person in people[:3]:
        livestream_join_as_audience(user=person, live_stream_id=stream.pk)
    assert LiveStream.objects.get(pk=stream.pk).peak_viewers == 3
    livestream_leave(user=people[0], live_stream_id=stream.pk)
    livestream_leave(user=people[1], live_stream_id=stream.pk)
    livestream_join_as_audience(user=people[3], live_stream_id=stream.pk)  # 2 present
    assert LiveStream.objects.get(pk=stream.pk).peak_viewers == 3
    for person in people[:2]:
        livestream_join_as_audience(user=person, live_stream_id=stream.pk)  # back: 4
    assert LiveStream.objects.get(pk=stream.pk).peak_viewers == 4
    data = assert_envelope(client_for(stream.creator).get(statistics_url(stream)), 200)
    assert data["peakConcurrentViewers"] == 4


@pytest.mark.django_db
@pytest.mark.parametrize("audience", [1, 25])
def test_the_statistics_cost_the_same_whatever_the_audience(
    client_for, django_assert_num_queries, stream, audience
):
    for minutes in range(audience):
        joined(stream, minutes_ago=minutes, present=bool(minutes % 2))
    client = client_for(stream.creator)
    # Authentication, the stream with the caller's flags, one aggregate.
    with django_assert_num_queries(3):
        response = client.get(statistics_url(stream))
    assert assert_envelope(response, 200)["totalViewers"] == audience
