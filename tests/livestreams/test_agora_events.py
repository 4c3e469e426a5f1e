"""POST /api/v1/agora/events: Agora's Notification Center (issue 5, "Agora events").

Every notice is posted through the API view with `Agora-Signature-V2` computed over
the exact bytes sent; the effects are read back through the API (the stream's
broadcasters, the viewer count) and from the rows."""

import hashlib
import hmac
import itertools
import json
import time
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    AgoraClientSequence,
    AgoraNotice,
    BanAction,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
)
from tests.api import assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory

URL = "/api/v1/agora/events"
API = "/api/v1/live-stream"
SECRET = "ncs-secret-used-only-by-these-tests"

CHANNEL_CREATED, CHANNEL_DESTROYED = 101, 102
BROADCASTER_JOINED, BROADCASTER_LEFT = 103, 104
AUDIENCE_JOINED, AUDIENCE_LEFT = 105, 106
BECAME_BROADCASTER, BECAME_AUDIENCE = 111, 112

# In one transaction (a savepoint in the tests' own, 2 statements): the notice
# looked up, inserted in a savepoint (3) and its outcome saved; the stream; the
# user; the clientSeq row read, then inserted in a savepoint (3); "destroyed
# since?"; "a guest?"; the participant; "banned?"; the participant saved (its
# triggers keep the count and raise the stream's peak of viewers).
AUDIENCE_JOIN_QUERIES = 18

_notice_ids = itertools.count(1)


# --- Helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _ncs_secret(settings):
    settings.AGORA_NCS_SECRET = SECRET


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def epoch_now() -> int:
    return int(time.time())


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def notice(
    event_type: int,
    channel: str,
    *,
    uid: int | None = None,
    seq: int | None = None,
    ts: int | None = None,
    notice_id: str | None = None,
    product_id: int = 1,
    **extra,
) -> dict:
    """A notice shaped like Agora's."""
    payload = {"channelName": channel, "ts": ts if ts is not None else epoch_now(), **extra}
    if uid is not None:
        payload.update({"uid": uid, "clientSeq": seq, "platform": 1, "reason": 1})
    return {
        "noticeId": notice_id or f"2000001428:4330:{next(_notice_ids)}",
        "productId": product_id,
        "eventType": event_type,
        "notifyMs": epoch_now() * 1000,
        "payload": payload,
    }


def post_raw(client, body: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_AGORA_SIGNATURE_V2": signature}
    return client.generic("POST", URL, body, content_type="application/json", **headers)


def deliver(client, message: dict) -> str:
    """Post a correctly signed notice; return the outcome it was answered with."""
    body = json.dumps(message).encode()
    data = assert_envelope(post_raw(client, body, sign(body)), 200)
    assert data["noticeId"] == message["noticeId"]
    return data["outcome"]


def stored(message: dict) -> AgoraNotice:
    return AgoraNotice.objects.get(notice_id=message["noticeId"])


@pytest.fixture
def stream(db):
    """An active duo stream: its creator broadcasting, one invited guest who has not
    joined yet."""
    now = timezone.now()
    stream = LiveStreamFactory(
        status=LiveStreamStatus.ACTIVE,
        live_stream_type=LiveStreamType.DUOSELF,
        started_at=now,
        host_joined_at=now,
        host_present=True,
    )
    GuestFactory(live_stream=stream)
    return stream


def guest_row(stream) -> Guest:
    return Guest.objects.select_related("user").get(live_stream=stream)


def watcher(stream, *, present=True, joined_ts=None, **fields) -> Participant:
    """An audience member who joined `stream` (a row as the join endpoint leaves it)."""
    joined = at(joined_ts) if joined_ts is not None else timezone.now()
    return Participant.objects.create(
        live_stream=stream,
        user=UserFactory(),
        is_present=present,
        first_joined_at=joined,
        last_joined_at=joined,
        **fields,
    )


def broadcasters(client, stream) -> dict:
    data = assert_envelope(client.get(f"{API}/{stream.pk}"), 200)
    return {b["role"] if b["role"] == "host" else b["user"]: b for b in data["broadcasters"]}


def viewer_count(client, stream) -> int:
    return assert_envelope(client.get(f"{API}/{stream.pk}/viewer-count"), 200)["viewerCount"]


@pytest.fixture
def reader(client_for, db):
    """Any signed-in user, to read streams through the API."""
    return client_for(UserFactory())


# --- The signature ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_notice_is_answered_200_in_the_envelope(api_client, stream):
    message = notice(CHANNEL_CREATED, stream.channel_name)
    body = json.dumps(message).encode()

    response = post_raw(api_client, body, sign(body))

    data = assert_envelope(response, 200)
    assert data == {"noticeId": message["noticeId"], "outcome": "recorded"}
    row = stored(message)
    assert (row.event_type, row.product_id, row.channel_name) == (101, 1, stream.channel_name)
    assert row.payload == message["payload"]
    assert row.notify_ms == message["notifyMs"]
    assert row.occurred_at == at(message["payload"]["ts"])


@pytest.mark.django_db
def test_the_signature_may_be_sent_in_upper_case(api_client, stream):
    body = json.dumps(notice(CHANNEL_CREATED, stream.channel_name)).encode()
    assert_envelope(post_raw(api_client, body, sign(body).upper()), 200)


def _altered(body: bytes) -> tuple[bytes, str]:
    signature = sign(body)
    return body.replace(b'"eventType": 104', b'"eventType": 103'), signature


REFUSED = {
    "missing": lambda body: (body, None),
    "empty": lambda body: (body, ""),
    "wrong": lambda body: (body, "0" * 64),
    "other secret": lambda body: (body, sign(body, "another-ncs-secret")),
    "SHA-1 (the V1 header's scheme)": lambda body: (
        body,
        hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest(),
    ),
    "body altered after signing": _altered,
    "whitespace added after signing": lambda body: (body + b" ", sign(body)),
    "not hexadecimal": lambda body: (body, "é" * 64),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_notice_not_signed_with_the_ncs_secret_is_a_401_and_changes_nothing(
    api_client, stream, case
):
    # Signed, this notice would take the host off the air.
    message = notice(BROADCASTER_LEFT, stream.channel_name, uid=stream.creator.agora_uid, seq=1)
    body, signature = REFUSED[case](json.dumps(message).encode())

    response = post_raw(api_client, body, signature)

    assert_error(response, 401, contains="Agora-Signature-V2")
    assert not AgoraNotice.objects.exists()
    assert not AgoraClientSequence.objects.exists()
    assert LiveStream.objects.get(pk=stream.pk).host_present is True


@pytest.mark.django_db
@pytest.mark.parametrize("secret", ["", None])
def test_without_an_ncs_secret_every_notice_is_refused(api_client, stream, settings, secret):
    settings.AGORA_NCS_SECRET = ""
    message = notice(BROADCASTER_LEFT, stream.channel_name, uid=stream.creator.agora_uid, seq=1)
    body = json.dumps(message).encode()

    response = post_raw(api_client, body, None if secret is None else sign(body, secret))

    assert_error(response, 401)
    assert not AgoraNotice.objects.exists()
    assert LiveStream.objects.get(pk=stream.pk).host_present is True


@pytest.mark.django_db
def test_a_user_token_is_neither_needed_nor_enough(client_for, stream):
    client = client_for(stream.creator)
    message = notice(BROADCASTER_LEFT, stream.channel_name, uid=stream.creator.agora_uid, seq=1)

    assert_error(client.post(URL, message, format="json"), 401)
    assert deliver(client, message) == "applied"


@pytest.mark.django_db
def test_only_post_is_allowed(api_client):
    assert_error(api_client.get(URL), 405)


# --- Each notice once --------------------------------------------------------------


@pytest.mark.django_db
def test_a_duplicated_or_retried_notice_is_answered_200_and_changes_nothing(
    api_client, client_for, stream
):
    viewer = watcher(stream, present=False, joined_ts=epoch_now() - 600)
    joined = notice(
        AUDIENCE_JOINED, stream.channel_name, uid=viewer.user.agora_uid, seq=1, ts=epoch_now() - 5
    )
    assert deliver(api_client, joined) == "applied"
    first = stored(joined)
    # The viewer then leaves through the API.
    assert_envelope(
        client_for(viewer.user).post(f"{API}/leave", {"liveStreamId": stream.pk}, format="json"),
        200,
    )
    after_leave = Participant.objects.get(pk=viewer.pk)

    assert deliver(api_client, joined) == "duplicate"
    retried = dict(joined, notifyMs=joined["notifyMs"] + 1000)  # Agora's retry of it
    assert deliver(api_client, retried) == "duplicate"

    assert AgoraNotice.objects.count() == 1
    again = stored(joined)
    assert (again.outcome, again.received_at, again.notify_ms) == (
        "applied",
        first.received_at,
        first.notify_ms,
    )
    now = Participant.objects.get(pk=viewer.pk)
    assert (now.is_present, now.last_joined_at, now.left_at, now.watch_seconds) == (
        False,
        after_leave.last_joined_at,
        after_leave.left_at,
        after_leave.watch_seconds,
    )


# --- 101 / 102: the channel -------------------------------------------------------


@pytest.mark.django_db
def test_channel_created_is_recorded_and_changes_nothing(api_client, reader, stream):
    before = broadcasters(reader, stream)
    message = notice(CHANNEL_CREATED, stream.channel_name)

    assert deliver(api_client, message) == "recorded"

    assert stored(message).outcome == "recorded"
    assert broadcasters(reader, stream) == before


@pytest.mark.django_db
def test_channel_destroyed_takes_every_broadcaster_and_viewer_out(api_client, reader, stream):
    guest = guest_row(stream)
    Guest.objects.filter(pk=guest.pk).update(has_joined=True, uid=guest.user.agora_uid)
    destroyed_ts = epoch_now() - 10
    first = watcher(stream, joined_ts=destroyed_ts - 300)
    second = watcher(stream, joined_ts=destroyed_ts - 60)
    gone = watcher(stream, present=False, joined_ts=destroyed_ts - 900, watch_seconds=42)
    assert viewer_count(reader, stream) == 2

    outcome = deliver(api_client, notice(CHANNEL_DESTROYED, stream.channel_name, ts=destroyed_ts))

    assert outcome == "applied"
    shown = broadcasters(reader, stream)
    assert shown["host"]["hasJoined"] is False
    assert shown[guest.user_id]["hasJoined"] is False
    assert viewer_count(reader, stream) == 0
    first.refresh_from_db()
    second.refresh_from_db()
    gone.refresh_from_db()
    assert (first.is_present, first.watch_seconds, first.left_at) == (
        False,
        300,
        at(destroyed_ts),
    )
    assert (second.is_present, second.watch_seconds) == (False, 60)
    assert (gone.watch_seconds, gone.left_at) == (42, None)
    assert LiveStream.objects.get(pk=stream.pk).status == LiveStreamStatus.ACTIVE


@pytest.mark.django_db
def test_channel_destroyed_spares_a_viewer_who_joined_after_it(api_client, reader, stream):
    destroyed_ts = epoch_now() - 60
    later = watcher(stream, joined_ts=destroyed_ts + 30)

    deliver(api_client, notice(CHANNEL_DESTROYED, stream.channel_name, ts=destroyed_ts))

    assert Participant.objects.get(pk=later.pk).is_present is True
    assert viewer_count(reader, stream) == 1


@pytest.mark.django_db
def test_a_late_channel_destroyed_after_the_channel_was_created_again_is_ignored(
    api_client, stream
):
    now = epoch_now()
    deliver(api_client, notice(CHANNEL_CREATED, stream.channel_name, ts=now - 10))
    late = notice(CHANNEL_DESTROYED, stream.channel_name, ts=now - 20)

    assert deliver(api_client, late) == "stale"

    assert LiveStream.objects.get(pk=stream.pk).host_present is True


# --- 103 / 104 / 111 / 112: broadcasters ----------------------------------------------


@pytest.mark.django_db
def test_the_host_leaving_and_joining_the_channel_moves_hasjoined(api_client, reader, stream):
    uid = stream.creator.agora_uid
    joined_at = broadcasters(reader, stream)["host"]["joinedAt"]

    assert deliver(api_client, notice(BROADCASTER_LEFT, stream.channel_name, uid=uid, seq=1)) == (
        "applied"
    )
    assert broadcasters(reader, stream)["host"]["hasJoined"] is False

    deliver(api_client, notice(BROADCASTER_JOINED, stream.channel_name, uid=uid, seq=2))
    host = broadcasters(reader, stream)["host"]
    assert (host["hasJoined"], host["uid"], host["joinedAt"]) == (True, uid, joined_at)


@pytest.mark.django_db
def test_a_guest_joining_as_broadcaster_is_shown_joined_with_their_uid(api_client, reader, stream):
    guest = guest_row(stream)
    ts = epoch_now() - 3
    assert broadcasters(reader, stream)[guest.user_id]["hasJoined"] is False

    message = notice(
        BROADCASTER_JOINED, stream.channel_name, uid=guest.user.agora_uid, seq=7, ts=ts
    )
    assert deliver(api_client, message) == "applied"

    shown = broadcasters(reader, stream)[guest.user_id]
    assert shown["hasJoined"] is True
    assert shown["uid"] == guest.user.agora_uid
    assert shown["joinedAt"] == at(ts).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    deliver(
        api_client,
        notice(BROADCASTER_LEFT, stream.channel_name, uid=guest.user.agora_uid, seq=8),
    )
    assert broadcasters(reader, stream)[guest.user_id]["hasJoined"] is False
    assert viewer_count(reader, stream) == 0  # a broadcaster is not a viewer


@pytest.mark.django_db
def test_role_changes_move_a_guest_on_and_off_the_air(api_client, reader, stream):
    guest = guest_row(stream)
    uid = guest.user.agora_uid

    deliver(api_client, notice(AUDIENCE_JOINED, stream.channel_name, uid=uid, seq=1))
    assert broadcasters(reader, stream)[guest.user_id]["hasJoined"] is False
    deliver(api_client, notice(BECAME_BROADCASTER, stream.channel_name, uid=uid, seq=2))
    assert broadcasters(reader, stream)[guest.user_id]["hasJoined"] is True
    deliver(api_client, notice(BECAME_AUDIENCE, stream.channel_name, uid=uid, seq=3))
    assert broadcasters(reader, stream)[guest.user_id]["hasJoined"] is False
    assert not Participant.objects.filter(live_stream=stream).exists()


@pytest.mark.django_db
def test_role_changes_of_the_host(api_client, reader, stream):
    uid = stream.creator.agora_uid

    deliver(api_client, notice(BECAME_AUDIENCE, stream.channel_name, uid=uid, seq=1))
    assert broadcasters(reader, stream)["host"]["hasJoined"] is False
    deliver(api_client, notice(BECAME_BROADCASTER, stream.channel_name, uid=uid, seq=2))
    assert broadcasters(reader, stream)["host"]["hasJoined"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", [LiveStreamStatus.ENDED, LiveStreamStatus.CANCELLED_BY_HOST, "removed"]
)
def test_a_broadcaster_joining_a_closed_stream_is_recorded_not_applied(api_client, stream, status):
    guest = guest_row(stream)
    if status == "removed":
        LiveStream.objects.filter(pk=stream.pk).update(
            deleted_at=timezone.now(), host_present=False
        )
    else:
        LiveStream.objects.filter(pk=stream.pk).update(status=status, host_present=False)

    for uid, seq in ((stream.creator.agora_uid, 1), (guest.user.agora_uid, 1)):
        message = notice(BROADCASTER_JOINED, stream.channel_name, uid=uid, seq=seq)
        assert deliver(api_client, message) == "stream_not_live"

    assert LiveStream.objects.get(pk=stream.pk).host_present is False
    assert Guest.objects.get(pk=guest.pk).has_joined is False


@pytest.mark.django_db
def test_a_guest_joins_before_the_host_went_live(api_client, stream):
    LiveStream.objects.filter(pk=stream.pk).update(
        status=LiveStreamStatus.PREPARING, host_present=False, started_at=None
    )
    guest = guest_row(stream)

    message = notice(BROADCASTER_JOINED, stream.channel_name, uid=guest.user.agora_uid, seq=1)
    assert deliver(api_client, message) == "applied"
    assert Guest.objects.get(pk=guest.pk).has_joined is True
    # The host cannot be on the air in a stream that has not started.
    message = notice(BROADCASTER_JOINED, stream.channel_name, uid=stream.creator.agora_uid, seq=1)
    assert deliver(api_client, message) == "stream_not_live"


@pytest.mark.django_db
def test_a_banned_guest_joining_is_not_shown_on_the_air(api_client, stream):
    guest = guest_row(stream)
    LiveStreamBan.objects.create(
        live_stream=stream, user=guest.user, action_type=BanAction.BLOCK, created_by=stream.creator
    )
    message = notice(BROADCASTER_JOINED, stream.channel_name, uid=guest.user.agora_uid, seq=1)

    assert deliver(api_client, message) == "banned"
    assert Guest.objects.get(pk=guest.pk).has_joined is False


# --- 105 / 106 / 111 / 112: the audience ------------------------------------------------


@pytest.mark.django_db
def test_an_audience_member_leaving_keeps_their_watch_time(api_client, reader, stream):
    left_ts = epoch_now() - 5
    viewer = watcher(stream, joined_ts=left_ts - 125, watch_seconds=10)
    assert viewer_count(reader, stream) == 1

    message = notice(
        AUDIENCE_LEFT, stream.channel_name, uid=viewer.user.agora_uid, seq=3, ts=left_ts
    )
    assert deliver(api_client, message) == "applied"

    viewer.refresh_from_db()
    assert (viewer.is_present, viewer.left_at, viewer.watch_seconds) == (False, at(left_ts), 135)
    assert viewer_count(reader, stream) == 0


@pytest.mark.django_db
def test_an_audience_member_coming_back_is_present_again(api_client, reader, stream):
    back_ts = epoch_now() - 5
    viewer = watcher(stream, present=False, joined_ts=back_ts - 600, watch_seconds=100)
    Participant.objects.filter(pk=viewer.pk).update(left_at=at(back_ts - 300))

    message = notice(
        AUDIENCE_JOINED, stream.channel_name, uid=viewer.user.agora_uid, seq=1, ts=back_ts
    )
    assert deliver(api_client, message) == "applied"

    viewer.refresh_from_db()
    assert (viewer.is_present, viewer.last_joined_at, viewer.watch_seconds) == (
        True,
        at(back_ts),
        100,
    )
    assert viewer.join_count == 1  # joins through the API are what is counted
    assert viewer_count(reader, stream) == 1


@pytest.mark.django_db
def test_role_changes_of_an_audience_member(api_client, reader, stream):
    viewer = watcher(stream)
    uid = viewer.user.agora_uid

    deliver(api_client, notice(BECAME_BROADCASTER, stream.channel_name, uid=uid, seq=1))
    assert viewer_count(reader, stream) == 0
    assert Participant.objects.get(pk=viewer.pk).is_present is False
    deliver(api_client, notice(BECAME_AUDIENCE, stream.channel_name, uid=uid, seq=2))
    assert viewer_count(reader, stream) == 1
    # Not a broadcaster of the stream for all that.
    assert viewer.user_id not in broadcasters(reader, stream)


@pytest.mark.django_db
def test_the_viewer_count_follows_the_events(api_client, client_for, reader, stream):
    viewers = [UserFactory() for _ in range(3)]
    for user in viewers:
        joined = client_for(user).post(f"{API}/join", {"liveStreamId": stream.pk}, format="json")
        assert_envelope(joined, 200)
    assert viewer_count(reader, stream) == 3
    channel = stream.channel_name
    ts = epoch_now() + 1  # after the joins above (clamped to the arrival time)

    deliver(api_client, notice(AUDIENCE_LEFT, channel, uid=viewers[0].agora_uid, seq=2, ts=ts))
    assert viewer_count(reader, stream) == 2
    deliver(api_client, notice(AUDIENCE_LEFT, channel, uid=viewers[1].agora_uid, seq=2, ts=ts))
    assert viewer_count(reader, stream) == 1
    deliver(api_client, notice(AUDIENCE_JOINED, channel, uid=viewers[0].agora_uid, seq=3, ts=ts))
    assert viewer_count(reader, stream) == 2
    # A repeated join of someone present changes nothing.
    deliver(api_client, notice(AUDIENCE_JOINED, channel, uid=viewers[2].agora_uid, seq=3, ts=ts))
    assert viewer_count(reader, stream) == 2


@pytest.mark.django_db
def test_an_audience_member_joining_an_ended_stream_is_not_counted(api_client, reader, stream):
    viewer = watcher(stream, present=False)
    LiveStream.objects.filter(pk=stream.pk).update(status=LiveStreamStatus.ENDED)

    message = notice(AUDIENCE_JOINED, stream.channel_name, uid=viewer.user.agora_uid, seq=1)
    assert deliver(api_client, message) == "stream_not_live"
    assert Participant.objects.get(pk=viewer.pk).is_present is False


@pytest.mark.django_db
def test_a_banned_audience_member_joining_is_not_counted(api_client, reader, stream):
    viewer = watcher(stream, present=False)
    LiveStreamBan.objects.create(
        live_stream=stream,
        user=viewer.user,
        action_type=BanAction.BLOCK,
        created_by=stream.creator,
    )

    message = notice(AUDIENCE_JOINED, stream.channel_name, uid=viewer.user.agora_uid, seq=1)
    assert deliver(api_client, message) == "banned"
    assert viewer_count(reader, stream) == 0


@pytest.mark.django_db
def test_a_user_who_never_joined_through_the_api_is_recorded_not_counted(
    api_client, reader, stream
):
    stranger = UserFactory()
    message = notice(AUDIENCE_JOINED, stream.channel_name, uid=stranger.agora_uid, seq=1)

    assert deliver(api_client, message) == "not_in_stream"
    assert not Participant.objects.filter(user=stranger).exists()
    assert viewer_count(reader, stream) == 0


@pytest.mark.django_db
def test_an_audience_event_costs_a_fixed_number_of_queries(
    api_client, stream, django_assert_num_queries
):
    viewer = watcher(stream, present=False, joined_ts=epoch_now() - 60)
    message = notice(AUDIENCE_JOINED, stream.channel_name, uid=viewer.user.agora_uid, seq=1)
    body = json.dumps(message).encode()

    with django_assert_num_queries(AUDIENCE_JOIN_QUERIES):
        response = post_raw(api_client, body, sign(body))

    assert assert_envelope(response, 200)["outcome"] == "applied"


# --- Order: clientSeq --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_late_join_never_overrides_a_newer_leave(api_client, reader, stream):
    ts = epoch_now() - 10
    viewer = watcher(stream, joined_ts=ts - 100)
    uid, channel = viewer.user.agora_uid, stream.channel_name
    leave = notice(AUDIENCE_LEFT, channel, uid=uid, seq=5, ts=ts)
    late_join = notice(AUDIENCE_JOINED, channel, uid=uid, seq=4, ts=ts - 1)

    assert deliver(api_client, leave) == "applied"
    assert deliver(api_client, late_join) == "stale"

    viewer.refresh_from_db()
    assert (viewer.is_present, viewer.left_at, viewer.watch_seconds) == (False, at(ts), 100)
    assert viewer_count(reader, stream) == 0
    assert stored(late_join).outcome == "stale"
    assert AgoraClientSequence.objects.get(channel_name=channel, uid=uid).client_seq == 5

    # A newer event is applied again.
    assert deliver(api_client, notice(AUDIENCE_JOINED, channel, uid=uid, seq=6)) == "applied"
    assert viewer_count(reader, stream) == 1


@pytest.mark.django_db
def test_a_late_broadcaster_join_never_overrides_a_newer_leave(api_client, reader, stream):
    uid, channel = stream.creator.agora_uid, stream.channel_name

    deliver(api_client, notice(BROADCASTER_LEFT, channel, uid=uid, seq=9))
    assert deliver(api_client, notice(BROADCASTER_JOINED, channel, uid=uid, seq=8)) == "stale"
    assert deliver(api_client, notice(BECAME_BROADCASTER, channel, uid=uid, seq=9)) == "stale"

    assert broadcasters(reader, stream)["host"]["hasJoined"] is False


@pytest.mark.django_db
def test_sequences_are_kept_per_user_and_per_channel(api_client, stream):
    viewer = watcher(stream)
    other_stream = LiveStreamFactory(status=LiveStreamStatus.ACTIVE)
    elsewhere = Participant.objects.create(live_stream=other_stream, user=viewer.user)
    neighbour = watcher(stream)

    deliver(
        api_client, notice(AUDIENCE_LEFT, stream.channel_name, uid=viewer.user.agora_uid, seq=50)
    )
    # Lower sequences of the same user in another channel, and of another user in
    # this channel, are theirs and are applied.
    other_uid, other_channel = viewer.user.agora_uid, other_stream.channel_name
    assert deliver(api_client, notice(AUDIENCE_LEFT, other_channel, uid=other_uid, seq=1)) == (
        "applied"
    )
    neighbour_uid = neighbour.user.agora_uid
    assert deliver(
        api_client, notice(AUDIENCE_LEFT, stream.channel_name, uid=neighbour_uid, seq=1)
    ) == ("applied")
    assert Participant.objects.get(pk=elsewhere.pk).is_present is False
    assert Participant.objects.get(pk=neighbour.pk).is_present is False


@pytest.mark.django_db
def test_a_join_from_before_a_leave_through_the_api_is_ignored(api_client, client_for, stream):
    viewer = watcher(stream, joined_ts=epoch_now() - 600)
    joined_ts = epoch_now() - 300
    assert_envelope(
        client_for(viewer.user).post(f"{API}/leave", {"liveStreamId": stream.pk}, format="json"),
        200,
    )

    message = notice(
        AUDIENCE_JOINED, stream.channel_name, uid=viewer.user.agora_uid, seq=1, ts=joined_ts
    )
    assert deliver(api_client, message) == "stale"
    assert Participant.objects.get(pk=viewer.pk).is_present is False


@pytest.mark.django_db
def test_a_leave_from_before_a_join_through_the_api_is_ignored(api_client, client_for, stream):
    viewer = watcher(stream, present=False, joined_ts=epoch_now() - 900)
    assert_envelope(
        client_for(viewer.user).post(f"{API}/join", {"liveStreamId": stream.pk}, format="json"),
        200,
    )

    message = notice(
        AUDIENCE_LEFT, stream.channel_name, uid=viewer.user.agora_uid, seq=1, ts=epoch_now() - 60
    )
    assert deliver(api_client, message) == "stale"
    assert Participant.objects.get(pk=viewer.pk).is_present is True


@pytest.mark.django_db
def test_a_join_from_before_the_channel_was_destroyed_is_ignored(api_client, stream):
    viewer = watcher(stream, present=False, joined_ts=epoch_now() - 900)
    now = epoch_now()
    deliver(api_client, notice(CHANNEL_DESTROYED, stream.channel_name, ts=now - 10))

    message = notice(
        AUDIENCE_JOINED, stream.channel_name, uid=viewer.user.agora_uid, seq=1, ts=now - 100
    )
    assert deliver(api_client, message) == "stale"
    assert Participant.objects.get(pk=viewer.pk).is_present is False


@pytest.mark.django_db
def test_an_event_time_in_the_future_is_taken_as_the_arrival_time(api_client, stream):
    viewer = watcher(stream, joined_ts=epoch_now() - 60)
    before = timezone.now()

    message = notice(
        AUDIENCE_LEFT, stream.channel_name, uid=viewer.user.agora_uid, seq=1, ts=epoch_now() + 3600
    )
    deliver(api_client, message)

    viewer.refresh_from_db()
    assert before <= viewer.left_at <= timezone.now()
    assert viewer.watch_seconds < 120


# --- Whatever Agora sends, a signed notice is answered --------------------------------------


@pytest.mark.django_db
def test_an_unknown_channel_is_recorded_and_answered_200(api_client, stream):
    message = notice(AUDIENCE_JOINED, "no-such-channel-1a2b", uid=stream.creator.agora_uid, seq=1)

    assert deliver(api_client, message) == "unknown_channel"

    row = stored(message)
    assert (row.outcome, row.channel_name, row.uid, row.client_seq) == (
        "unknown_channel",
        "no-such-channel-1a2b",
        stream.creator.agora_uid,
        1,
    )
    assert not AgoraClientSequence.objects.exists()


@pytest.mark.django_db
def test_an_unknown_uid_is_recorded_and_answered_200(api_client, reader, stream):
    message = notice(AUDIENCE_JOINED, stream.channel_name, uid=4_000_000_000, seq=1)

    assert deliver(api_client, message) == "unknown_user"

    assert stored(message).outcome == "unknown_user"
    assert viewer_count(reader, stream) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"eventType": 107},
        {"eventType": 0},
        {"productId": 3},  # cloud recording, say: its event types mean something else
    ],
    ids=["event 107", "event 0", "another product"],
)
def test_an_unknown_event_type_is_recorded_and_answered_200(api_client, stream, change):
    message = notice(BROADCASTER_LEFT, stream.channel_name, uid=stream.creator.agora_uid, seq=1)
    message.update(change)

    assert deliver(api_client, message) == "unknown_event"

    row = stored(message)
    assert row.outcome == "unknown_event"
    assert row.payload == message["payload"]
    assert LiveStream.objects.get(pk=stream.pk).host_present is True


@pytest.mark.django_db
def test_an_unknown_event_is_recorded_whatever_its_payload_holds(api_client):
    message = {
        "noticeId": "other:1",
        "eventType": 40,
        "payload": {"channelName": 5, "uid": "x", "sid": "abc"},
    }

    assert deliver(api_client, message) == "unknown_event"
    row = stored(message)
    assert (row.channel_name, row.uid, row.product_id) == ("", None, None)


BAD_NOTICES = {
    "not JSON": b'{"noticeId": "1", ',
    "not UTF-8": b'{"noticeId": "\xff"}',
    "a JSON list": b"[]",
    "no noticeId": json.dumps({"eventType": 105, "payload": {}}).encode(),
    "noticeId not a string": json.dumps({"noticeId": 5, "eventType": 101, "payload": {}}).encode(),
    "no eventType": json.dumps({"noticeId": "a", "payload": {"channelName": "c"}}).encode(),
    "eventType a string": json.dumps(
        {"noticeId": "a", "eventType": "105", "payload": {"channelName": "c"}}
    ).encode(),
    "no payload": json.dumps({"noticeId": "a", "eventType": 101}).encode(),
    "no channelName": json.dumps({"noticeId": "a", "eventType": 101, "payload": {}}).encode(),
    "no uid": json.dumps(
        {"noticeId": "a", "eventType": 105, "payload": {"channelName": "c", "clientSeq": 1}}
    ).encode(),
    "no clientSeq": json.dumps(
        {"noticeId": "a", "eventType": 106, "payload": {"channelName": "c", "uid": 7}}
    ).encode(),
    "clientSeq not a number": json.dumps(
        {
            "noticeId": "a",
            "eventType": 106,
            "payload": {"channelName": "c", "uid": 7, "clientSeq": "7"},
        }
    ).encode(),
    "uid out of range": json.dumps(
        {
            "noticeId": "a",
            "eventType": 106,
            "payload": {"channelName": "c", "uid": 2**40, "clientSeq": 7},
        }
    ).encode(),
    "uid a boolean": json.dumps(
        {
            "noticeId": "a",
            "eventType": 106,
            "payload": {"channelName": "c", "uid": True, "clientSeq": 7},
        }
    ).encode(),
    "ts negative": json.dumps(
        {"noticeId": "a", "eventType": 101, "payload": {"channelName": "c", "ts": -1}}
    ).encode(),
    "channelName too long": json.dumps(
        {"noticeId": "a", "eventType": 101, "payload": {"channelName": "c" * 65}}
    ).encode(),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_NOTICES, ids=list(BAD_NOTICES))
def test_a_signed_notice_that_is_not_a_notice_is_a_400(api_client, case):
    body = BAD_NOTICES[case]

    response = post_raw(api_client, body, sign(body))

    assert_error(response, 400)
    assert not AgoraNotice.objects.exists()


@pytest.mark.django_db
def test_the_400_names_the_field(api_client):
    body = json.dumps(
        {"noticeId": "a", "eventType": 105, "payload": {"channelName": "c", "clientSeq": 1}}
    ).encode()
    assert_error(post_raw(api_client, body, sign(body)), 400, contains="payload.uid")
