"""POST / GET / DELETE /api/v1/live-stream-ban (spec §4 "Bans")."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from allmine.core.ids import new_object_id
from allmine.core.models import AuditEntry
from allmine.core.timestamps import format_timestamp
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    BanAction,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
)
from tests.api import OBJECT_ID_RE, assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory

URL = "/api/v1/live-stream-ban"
API = "/api/v1/live-stream"
BAN_FIELDS = {
    "_id",
    "targetUserId",
    "liveStreamId",
    "targetUser",
    "actionType",
    "reason",
    "createdBy",
    "deletedAt",
    "deletedBy",
    "createdAt",
    "updatedAt",
    # Kept beside the reference's fields (API-more §14).
    "id",
    "isActive",
    "liftedAt",
    "liftedBy",
}
USER_SUMMARY_FIELDS = {"_id", "username", "name", "surname", "profilePhoto", "availabilityStatus"}
PAGINATION_FIELDS = {
    "currentPage",
    "totalPages",
    "totalItems",
    "itemsPerPage",
    "hasNextPage",
    "hasPrevPage",
}
# Authentication, the stream, the count and the page of bans (with the banned
# users and their photos); whatever the number of bans.
LIST_QUERIES = 4
# A moderator's permission check adds their user and group permissions.
LIST_QUERIES_MODERATOR = LIST_QUERIES + 2


# --- Helpers ---------------------------------------------------------------------


@pytest.fixture
def moderator(db):
    return UserFactory(moderator=True)


@pytest.fixture
def stream(db):
    """An active duo stream with one invited guest."""
    stream = LiveStreamFactory(active=True, live_stream_type=LiveStreamType.DUOSELF)
    GuestFactory(live_stream=stream)
    return stream


def guest_of(stream) -> User:
    return Guest.objects.select_related("user").get(live_stream=stream).user


def ban(client, stream_id, target_id, action="BLOCK", reason="spam"):
    body = {"liveStreamId": stream_id, "targetUserId": target_id, "actionType": action}
    if reason is not None:
        body["reason"] = reason
    return client.post(URL, body, format="json")


def join(client, stream_id):
    return client.post(f"{API}/join", {"liveStreamId": stream_id}, format="json")


def renew(client, stream_id):
    return client.post(f"{API}/renew-token", {"liveStreamId": stream_id}, format="json")


def viewer_count(client, stream_id) -> int:
    data = assert_envelope(client.get(f"{API}/{stream_id}/viewer-count"), 200)
    return data["viewerCount"]


def bans_state() -> dict:
    """The bans and the audit trail: what a ban request writes."""
    return {
        "bans": list(LiveStreamBan.objects.order_by("pk").values()),
        "audit": list(AuditEntry.objects.order_by("pk").values()),
    }


NOTHING = {"bans": [], "audit": []}


def audience_member(client_for, stream) -> User:
    """A user who joined `stream` through the API."""
    user = UserFactory()
    assert_envelope(join(client_for(user), stream.pk), 200)
    return user


# --- Creating a ban ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["creator", "moderator"])
@pytest.mark.parametrize("action", ["BLOCK", "CHAT_ONLY"])
def test_the_creator_or_a_moderator_bans_a_user(client_for, stream, moderator, who, action):
    actor = stream.creator if who == "creator" else moderator
    target = UserFactory()

    before = timezone.now()
    data = assert_envelope(ban(client_for(actor), stream.pk, target.pk, action, "rude"), 200)
    after = timezone.now()

    assert set(data) == BAN_FIELDS
    row = LiveStreamBan.objects.get()
    assert OBJECT_ID_RE.match(data["id"])
    assert set(data["targetUser"]) == USER_SUMMARY_FIELDS
    assert data["targetUser"]["_id"] == target.pk
    assert data["targetUser"]["username"] == target.username
    assert {k: v for k, v in data.items() if k != "targetUser"} == {
        "_id": row.pk,
        "id": row.pk,
        "liveStreamId": stream.pk,
        "targetUserId": target.pk,
        "actionType": action,
        "reason": "rude",
        "createdBy": actor.pk,
        "createdAt": format_timestamp(row.created_at),
        "updatedAt": format_timestamp(row.updated_at),
        "deletedAt": None,
        "deletedBy": None,
        "isActive": True,
        "liftedAt": None,
        "liftedBy": None,
    }
    assert (row.live_stream_id, row.user_id, row.action_type) == (stream.pk, target.pk, action)
    assert row.created_by_id == actor.pk
    assert before <= row.created_at <= after
    assert row.lifted_at is None


@pytest.mark.django_db
def test_the_reason_is_optional(client_for, stream):
    target = UserFactory()
    data = assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk, reason=None), 200)
    assert data["reason"] == ""


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["audience", "guest", "stranger"])
def test_only_the_creator_or_a_moderator_may_ban(client_for, stream, who):
    actor = {
        "audience": lambda: audience_member(client_for, stream),
        "guest": lambda: guest_of(stream),
        "stranger": UserFactory,
    }[who]()
    target = audience_member(client_for, stream)

    response = ban(client_for(actor), stream.pk, target.pk)

    assert_error(response, 403, contains="creator of this live stream or a moderator")
    assert bans_state() == NOTHING
    assert Participant.objects.get(live_stream=stream, user=target).is_present is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"actionType": "MUTE"}, "actionType"),
        ({"actionType": "block"}, "actionType"),  # the values are upper case
        ({"actionType": None}, "actionType"),
        ({"actionType": ""}, "actionType"),
        ({"liveStreamId": "not-an-id"}, "liveStreamId"),
        ({"liveStreamId": "ABCDEF0123456789ABCDEF01"}, "liveStreamId"),  # upper case
        ({"targetUserId": "1234"}, "targetUserId"),
        ({"targetUserId": 12345}, "targetUserId"),
    ],
)
def test_a_malformed_ban_is_a_400(client_for, stream, body, field):
    target = UserFactory()
    full = {"liveStreamId": stream.pk, "targetUserId": target.pk, "actionType": "BLOCK", **body}

    response = client_for(stream.creator).post(URL, full, format="json")

    assert_error(response, 400, contains=f"{field}:")
    assert bans_state() == NOTHING


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["liveStreamId", "targetUserId", "actionType"])
def test_a_ban_missing_a_field_is_a_400(client_for, stream, missing):
    full = {"liveStreamId": stream.pk, "targetUserId": UserFactory().pk, "actionType": "BLOCK"}
    del full[missing]
    assert_error(client_for(stream.creator).post(URL, full, format="json"), 400, contains=missing)
    assert bans_state() == NOTHING


@pytest.mark.django_db
def test_banning_in_an_unknown_or_removed_stream_is_a_404(client_for, stream, moderator):
    target = UserFactory()
    assert_error(ban(client_for(moderator), new_object_id(), target.pk), 404)
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(ban(client_for(moderator), stream.pk, target.pk), 404)
    assert_error(ban(client_for(stream.creator), stream.pk, target.pk), 404)
    assert bans_state() == NOTHING


@pytest.mark.django_db
def test_banning_an_unknown_user_is_a_404(client_for, stream):
    response = ban(client_for(stream.creator), stream.pk, new_object_id())
    assert_error(response, 404, contains="No user has this id")
    assert bans_state() == NOTHING


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["creator", "moderator"])
def test_nobody_bans_the_creator(client_for, stream, moderator, who):
    actor = stream.creator if who == "creator" else moderator
    response = ban(client_for(actor), stream.pk, stream.creator.pk)
    assert_error(response, 400, contains="targetUserId: The creator cannot be banned")
    assert bans_state() == NOTHING


@pytest.mark.django_db
def test_a_moderator_cannot_ban_themselves(client_for, stream, moderator):
    response = ban(client_for(moderator), stream.pk, moderator.pk)
    assert_error(response, 400, contains="targetUserId: You cannot ban yourself")
    assert bans_state() == NOTHING


@pytest.mark.django_db
@pytest.mark.parametrize("second", ["BLOCK", "CHAT_ONLY"])
def test_a_second_ban_in_force_is_a_409(client_for, stream, moderator, second):
    target = UserFactory()
    assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk, "BLOCK"), 200)
    state = bans_state()

    response = ban(client_for(moderator), stream.pk, target.pk, second)

    assert_error(response, 409, contains="already banned")
    assert bans_state() == state


@pytest.mark.django_db
def test_the_same_user_may_be_banned_from_another_stream(client_for, stream):
    target = UserFactory()
    other = LiveStreamFactory(status=LiveStreamStatus.ACTIVE)
    assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk), 200)
    assert_envelope(ban(client_for(other.creator), other.pk, target.pk), 200)
    assert LiveStreamBan.objects.filter(user=target).count() == 2


# --- Lifting a ban -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["creator", "moderator"])
def test_lifting_a_ban(client_for, stream, moderator, who):
    actor = stream.creator if who == "creator" else moderator
    target = UserFactory()
    created = assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk), 200)

    before = timezone.now()
    data = assert_envelope(client_for(actor).delete(f"{URL}/{created['id']}"), 200)
    after = timezone.now()

    row = LiveStreamBan.objects.get()  # a soft delete: the row stays
    assert before <= row.lifted_at <= after
    assert row.lifted_by_id == actor.pk
    assert data == {
        **created,
        "isActive": False,
        "liftedAt": format_timestamp(row.lifted_at),
        "liftedBy": actor.pk,
        "deletedAt": format_timestamp(row.lifted_at),
        "deletedBy": actor.pk,
        "updatedAt": format_timestamp(row.updated_at),
    }
    assert row.updated_at >= row.lifted_at

    again = client_for(actor).delete(f"{URL}/{created['id']}")
    assert_error(again, 409, contains="already been lifted")
    assert LiveStreamBan.objects.get().lifted_at == row.lifted_at


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["audience", "guest", "stranger", "target"])
def test_only_the_creator_or_a_moderator_may_lift_a_ban(client_for, stream, who):
    target = audience_member(client_for, stream)
    created = assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk), 200)
    state = bans_state()
    actor = {
        "audience": lambda: audience_member(client_for, stream),
        "guest": lambda: guest_of(stream),
        "stranger": UserFactory,
        "target": lambda: target,
    }[who]()

    assert_error(client_for(actor).delete(f"{URL}/{created['id']}"), 403)
    assert bans_state() == state


@pytest.mark.django_db
def test_lifting_an_unknown_or_malformed_ban(client_for, stream):
    client = client_for(stream.creator)
    assert_error(client.delete(f"{URL}/{new_object_id()}"), 404)
    assert_error(client.delete(f"{URL}/not-a-ban"), 400, contains="id:")


@pytest.mark.django_db
def test_a_lifted_ban_no_longer_blocks(client_for, stream):
    target = UserFactory()
    client = client_for(target)
    created = assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk), 200)
    assert_error(join(client, stream.pk), 403)

    assert_envelope(client_for(stream.creator).delete(f"{URL}/{created['id']}"), 200)

    data = assert_envelope(join(client, stream.pk), 200)
    assert data["agora"]["role"] == "audience"
    assert_envelope(renew(client, stream.pk), 200)
    # A lifted ban does not stand in the way of a new one.
    assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk), 200)
    assert_error(renew(client, stream.pk), 403)


# --- What a ban does ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_block_removes_an_audience_member_at_once(client_for, stream):
    target = audience_member(client_for, stream)
    other = audience_member(client_for, stream)
    since = timezone.now() - timedelta(minutes=3)
    Participant.objects.filter(live_stream=stream, user=target).update(last_joined_at=since)
    creator = client_for(stream.creator)
    assert viewer_count(creator, stream.pk) == 2

    assert_envelope(ban(creator, stream.pk, target.pk, "BLOCK"), 200)

    assert viewer_count(creator, stream.pk) == 1
    gone = Participant.objects.get(live_stream=stream, user=target)
    assert gone.is_present is False
    assert gone.left_at is not None
    assert gone.watch_seconds >= 180  # the time watched so far is kept
    assert Participant.objects.get(live_stream=stream, user=other).is_present is True

    client = client_for(target)
    assert_error(join(client, stream.pk), 403, contains="banned")
    assert_error(renew(client, stream.pk), 403, contains="banned")
    # The refused join did not bring them back.
    assert viewer_count(creator, stream.pk) == 1
    assert Participant.objects.get(live_stream=stream, user=target).join_count == 1


@pytest.mark.django_db
def test_a_block_takes_a_guest_off_the_broadcast(client_for, stream, moderator):
    guest = guest_of(stream)
    client = client_for(guest)
    body = {"liveStreamId": stream.pk}
    assert_envelope(client.post(f"{API}/join-as-guest", body, format="json"), 200)
    detail = assert_envelope(client_for(stream.creator).get(f"{API}/{stream.pk}"), 200)
    assert [b["hasJoined"] for b in detail["broadcasters"]] == [True, True]

    assert_envelope(ban(client_for(moderator), stream.pk, guest.pk, "BLOCK"), 200)

    detail = assert_envelope(client_for(stream.creator).get(f"{API}/{stream.pk}"), 200)
    host, guest_entry = detail["broadcasters"]
    assert (host["hasJoined"], guest_entry["user"], guest_entry["hasJoined"]) == (
        True,
        guest.pk,
        False,
    )
    assert_error(client.post(f"{API}/join-as-guest", body, format="json"), 403, contains="banned")
    assert_error(renew(client, stream.pk), 403, contains="banned")
    assert Guest.objects.get(live_stream=stream, user=guest).has_joined is False


@pytest.mark.django_db
def test_chat_only_does_not_block_watching(client_for, stream):
    target = audience_member(client_for, stream)
    creator = client_for(stream.creator)

    assert_envelope(ban(creator, stream.pk, target.pk, "CHAT_ONLY"), 200)

    assert viewer_count(creator, stream.pk) == 1
    assert Participant.objects.get(live_stream=stream, user=target).is_present is True
    client = client_for(target)
    assert assert_envelope(renew(client, stream.pk), 200)["agora"]["role"] == "audience"
    assert assert_envelope(join(client, stream.pk), 200)["agora"]["role"] == "audience"
    # A newcomer with a chat-only ban joins too.
    newcomer = UserFactory()
    assert_envelope(ban(creator, stream.pk, newcomer.pk, "CHAT_ONLY"), 200)
    assert_envelope(join(client_for(newcomer), stream.pk), 200)
    assert viewer_count(creator, stream.pk) == 2


@pytest.mark.django_db
def test_a_chat_only_guest_keeps_broadcasting(client_for, stream):
    guest = guest_of(stream)
    Guest.objects.filter(live_stream=stream).update(has_joined=True, uid=guest.agora_uid)
    assert_envelope(ban(client_for(stream.creator), stream.pk, guest.pk, "CHAT_ONLY"), 200)
    assert Guest.objects.get(live_stream=stream).has_joined is True
    assert_envelope(renew(client_for(guest), stream.pk), 200)


# --- Listing bans ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["creator", "moderator"])
def test_the_list_shows_the_bans_in_force_newest_first(
    client_for, stream, moderator, who, django_assert_num_queries
):
    actor = stream.creator if who == "creator" else moderator
    creator = client_for(stream.creator)
    now = timezone.now()
    made = []
    for minutes, action in [(30, "BLOCK"), (20, "CHAT_ONLY"), (10, "BLOCK")]:
        data = assert_envelope(ban(creator, stream.pk, UserFactory().pk, action), 200)
        LiveStreamBan.objects.filter(pk=data["id"]).update(
            created_at=now - timedelta(minutes=minutes)
        )
        made.append(data["id"])
    lifted = assert_envelope(ban(creator, stream.pk, UserFactory().pk), 200)
    assert_envelope(creator.delete(f"{URL}/{lifted['id']}"), 200)
    elsewhere = LiveStreamFactory(status=LiveStreamStatus.ACTIVE)
    assert_envelope(ban(client_for(elsewhere.creator), elsewhere.pk, UserFactory().pk), 200)

    client = client_for(actor)
    expected = LIST_QUERIES if who == "creator" else LIST_QUERIES_MODERATOR
    with django_assert_num_queries(expected):
        response = client.get(URL, {"liveStreamId": stream.pk})

    data = assert_envelope(response, 200)
    assert set(data) == {"list", "pagination"}
    assert set(data["pagination"]) == PAGINATION_FIELDS
    assert data["pagination"]["totalItems"] == 3
    assert data["pagination"]["itemsPerPage"] == 10
    bans = data["list"]
    assert [b["id"] for b in bans] == list(reversed(made))
    assert all(set(b) == BAN_FIELDS and b["isActive"] for b in bans)
    assert [b["actionType"] for b in bans] == ["BLOCK", "CHAT_ONLY", "BLOCK"]


@pytest.mark.django_db
def test_the_list_costs_the_same_whatever_the_number_of_bans(
    client_for, stream, django_assert_num_queries
):
    client = client_for(stream.creator)
    with django_assert_num_queries(LIST_QUERIES - 1):  # nothing to fetch after the count
        assert assert_envelope(client.get(URL, {"liveStreamId": stream.pk}), 200)["list"] == []
    LiveStreamBan.objects.bulk_create(
        LiveStreamBan(
            live_stream=stream, user=UserFactory(), action_type=BanAction.BLOCK, created_by=None
        )
        for _ in range(12)
    )
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(URL, {"liveStreamId": stream.pk})
    data = assert_envelope(response, 200)["list"]
    assert len(data) == 10  # the first page
    assert {b["createdBy"] for b in data} == {None}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["audience", "guest", "stranger"])
def test_only_the_creator_or_a_moderator_may_list_the_bans(client_for, stream, who):
    actor = {
        "audience": lambda: audience_member(client_for, stream),
        "guest": lambda: guest_of(stream),
        "stranger": UserFactory,
    }[who]()
    assert_envelope(ban(client_for(stream.creator), stream.pk, UserFactory().pk), 200)
    assert_error(client_for(actor).get(URL, {"liveStreamId": stream.pk}), 403)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"liveStreamId": "nope"}, 400),
        ({"liveStreamId": new_object_id()}, 404),
    ],
)
def test_listing_needs_a_well_formed_known_stream(client_for, stream, params, status):
    response = client_for(stream.creator).get(URL, params)
    errors = assert_error(response, status)
    if status == 400:
        assert any(e.startswith("liveStreamId:") for e in errors[1:]), errors


# --- The list's filters, and without a stream (API-more §14) ---------------------------


@pytest.fixture
def ban_world(db, stream):
    """Bans on the caller's stream and on another creator's, made at known times."""
    now = timezone.now()
    other = LiveStreamFactory(status=LiveStreamStatus.ACTIVE)
    people = {name: UserFactory(username=name) for name in ("ann", "bob", "cem", "dan")}
    made = {}
    for name, where, action, days_ago in (
        ("ann", stream, BanAction.BLOCK, 3),
        ("bob", stream, BanAction.CHAT_ONLY, 2),
        ("cem", stream, BanAction.BLOCK, 1),
        ("dan", other, BanAction.BLOCK, 1),
    ):
        ban_row = LiveStreamBan.objects.create(
            live_stream=where, user=people[name], action_type=action, created_by=where.creator
        )
        LiveStreamBan.objects.filter(pk=ban_row.pk).update(
            created_at=now - timedelta(days=days_ago)
        )
        made[name] = ban_row.pk
    gone = LiveStreamFactory(creator=stream.creator, status=LiveStreamStatus.ENDED)
    LiveStreamBan.objects.create(
        live_stream=gone, user=UserFactory(), action_type=BanAction.BLOCK, created_by=None
    )
    LiveStream.objects.filter(pk=gone.pk).update(deleted_at=now)
    return {"stream": stream, "other": other, "people": people, "made": made, "now": now}


def listed(client, **params) -> list[str]:
    data = assert_envelope(client.get(URL, params), 200)
    return [b["targetUser"]["username"] for b in data["list"]]


def test_without_a_stream_a_creator_sees_the_bans_of_their_streams(client_for, ban_world):
    stream = ban_world["stream"]
    assert listed(client_for(stream.creator)) == ["cem", "bob", "ann"]
    assert listed(client_for(ban_world["other"].creator)) == ["dan"]
    assert listed(client_for(UserFactory())) == []


def test_without_a_stream_a_moderator_sees_every_visible_streams_bans(
    client_for, ban_world, moderator
):
    seen = listed(client_for(moderator))
    assert sorted(seen) == ["ann", "bob", "cem", "dan"]  # not the removed stream's
    assert seen[-2:] == ["bob", "ann"]  # newest first


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"actionType": "BLOCK"}, ["cem", "ann"]),
        ({"actionType": "CHAT_ONLY"}, ["bob"]),
        ({"targetUser": "BOB"}, ["bob"]),
        ({"targetUser": "nobody"}, []),
        ({"limit": 1}, ["cem"]),
        ({"limit": 1, "page": 3}, ["ann"]),
    ],
)
def test_the_list_filters(client_for, ban_world, params, names):
    stream = ban_world["stream"]
    assert listed(client_for(stream.creator), liveStreamId=stream.pk, **params) == names


def test_the_list_filters_by_user_id_and_dates(client_for, ban_world):
    stream, people, now = ban_world["stream"], ban_world["people"], ban_world["now"]
    client = client_for(stream.creator)
    assert listed(client, targetUserId=people["ann"].pk) == ["ann"]
    assert listed(client, targetUser=people["ann"].pk) == ["ann"]
    yesterday = (now - timedelta(days=2)).date().isoformat()
    assert listed(client, startDate=yesterday) == ["cem", "bob"]
    assert listed(client, endDate=yesterday) == ["bob", "ann"]  # the whole day
    since = format_timestamp(now - timedelta(days=1, hours=1))
    assert listed(client, startDate=since) == ["cem"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"actionType": "MUTE"}, "actionType"),
        ({"targetUserId": "nope"}, "targetUserId"),
        ({"startDate": "yesterday"}, "startDate"),
        ({"startDate": "2026-01-15T10:00:00"}, "startDate"),  # no zone
        ({"startDate": "2026-02-01", "endDate": "2026-01-01"}, "startDate"),
        ({"page": "two"}, "page"),
    ],
)
def test_a_bad_filter_is_a_400(client_for, ban_world, params, field):
    response = client_for(ban_world["stream"].creator).get(URL, params)
    assert_error(response, 400, contains=f"{field}:")


# --- Checking a ban (§9.1) ---------------------------------------------------------------


def check_url(user_id) -> str:
    return f"{URL}/check/{user_id}"


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["BLOCK", "CHAT_ONLY"])
def test_a_user_checks_their_own_ban(client_for, stream, action):
    target = UserFactory()
    made = assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk, action), 200)
    data = assert_envelope(
        client_for(target).get(check_url(target.pk), {"liveStreamId": stream.pk}), 200
    )
    assert data == {"isBanned": True, "ban": made}


@pytest.mark.django_db
def test_no_ban_or_a_lifted_one_is_not_banned(client_for, stream):
    target = UserFactory()
    client = client_for(target)
    free = {"isBanned": False, "ban": None}
    assert (
        assert_envelope(client.get(check_url(target.pk), {"liveStreamId": stream.pk}), 200) == free
    )
    made = assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk), 200)
    assert_envelope(client_for(stream.creator).delete(f"{URL}/{made['id']}"), 200)
    assert (
        assert_envelope(client.get(check_url(target.pk), {"liveStreamId": stream.pk}), 200) == free
    )


@pytest.mark.django_db
def test_checking_another_user_takes_the_creator_or_a_moderator(client_for, stream, moderator):
    target = UserFactory()
    assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk), 200)
    query = {"liveStreamId": stream.pk}
    for allowed in (stream.creator, moderator):
        assert assert_envelope(client_for(allowed).get(check_url(target.pk), query), 200)[
            "isBanned"
        ]
    for refused in (guest_of(stream), audience_member(client_for, stream), UserFactory()):
        assert_error(client_for(refused).get(check_url(target.pk), query), 403)


@pytest.mark.django_db
def test_checking_needs_well_formed_known_ids(client_for, stream):
    client = client_for(stream.creator)
    me = stream.creator.pk
    assert_error(
        client.get(check_url("nope"), {"liveStreamId": stream.pk}), 400, contains="targetUserId:"
    )
    assert_error(client.get(check_url(me)), 400, contains="liveStreamId:")
    assert_error(client.get(check_url(me), {"liveStreamId": "x"}), 400, contains="liveStreamId:")
    assert_error(client.get(check_url(me), {"liveStreamId": new_object_id()}), 404)
    assert_error(client.get(check_url(new_object_id()), {"liveStreamId": stream.pk}), 404)
    gone = UserFactory(is_active=False)
    assert_error(client.get(check_url(gone.pk), {"liveStreamId": stream.pk}), 404)
    assert_error(APIClient().get(check_url(me), {"liveStreamId": stream.pk}), 401)


@pytest.mark.django_db
def test_checking_costs_a_fixed_number_of_queries(client_for, stream, django_assert_num_queries):
    target = UserFactory()
    assert_envelope(ban(client_for(stream.creator), stream.pk, target.pk), 200)
    client = client_for(target)
    # Authentication, the stream, the ban with the user and photo.
    with django_assert_num_queries(3):
        response = client.get(check_url(target.pk), {"liveStreamId": stream.pk})
    assert assert_envelope(response, 200)["isBanned"] is True
