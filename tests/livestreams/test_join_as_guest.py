"""POST /api/v1/live-stream/join-as-guest (spec §3, §5)."""

import base64
import json
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from allmine.core.ids import new_object_id
from allmine.core.timestamps import format_timestamp
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import BanAction, Guest, LiveStream, LiveStreamBan, LiveStreamType
from tests import agora_tokens
from tests.agora_tokens import PUBLISHER_PRIVILEGES, RTM_LOGIN
from tests.api import TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory

URL = "/api/v1/live-stream/join-as-guest"
# Authentication, the locked stream with its creator and the caller's ban flag (one
# query), the caller's locked Guest row, the Guest update, then the stream's guests
# and mini crowdfundings for the response; plus the savepoint and its release around
# the service's transaction.
JOIN_QUERIES = 8
REJOIN_QUERIES = JOIN_QUERIES - 1  # a guest who has joined is not updated again

JOINABLE = [LiveStreamStatus.SCHEDULED, LiveStreamStatus.PREPARING, LiveStreamStatus.ACTIVE]
CLOSED = [
    LiveStreamStatus.ENDED,
    LiveStreamStatus.EXPIRED,
    LiveStreamStatus.CANCELLED_BY_HOST,
    LiveStreamStatus.CANCELLED_BY_GUEST,
]


# --- Helpers ---------------------------------------------------------------------


def epoch(timestamp: str) -> int:
    assert TIMESTAMP_RE.match(timestamp), timestamp
    return int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp())


def snapshot(stream) -> dict:
    """Everything a join could write, to show that a failed one wrote nothing."""
    return {
        "stream": LiveStream.objects.filter(pk=stream.pk).values().get(),
        "guests": list(Guest.objects.filter(live_stream=stream).order_by("pk").values()),
        "stream_count": LiveStream.objects.count(),
        "guest_count": Guest.objects.count(),
        "ban_count": LiveStreamBan.objects.count(),
    }


def join(client, stream_id):
    return client.post(URL, {"liveStreamId": stream_id}, format="json")


def status_kwargs(status) -> dict:
    """A stream in `status` with dates that make sense for it."""
    now = timezone.now()
    if status == LiveStreamStatus.SCHEDULED:
        return {
            "status": status,
            "planned_start_date": now + timedelta(hours=2),
            "planned_end_date": now + timedelta(hours=3),
        }
    if status == LiveStreamStatus.ACTIVE:
        return {"status": status, "started_at": now - timedelta(minutes=5)}
    if status == LiveStreamStatus.ENDED:
        return {
            "status": status,
            "started_at": now - timedelta(hours=1),
            "ended_at": now - timedelta(minutes=1),
        }
    return {"status": status}


def duo_stream(*, guests: int = 1, status=LiveStreamStatus.PREPARING, **kwargs):
    """A duo stream and its invited guests (users), in invitation order."""
    stream = LiveStreamFactory(
        live_stream_type=LiveStreamType.DUOCROWD, **status_kwargs(status), **kwargs
    )
    rows = GuestFactory.create_batch(guests, live_stream=stream)
    return stream, [row.user for row in rows]


def assert_publisher_credentials(data, *, user, channel, before, after):
    """`agora` and `rtm` are valid tokens for this user and channel, a publisher's
    RTC token and an RTM login, every privilege ending at `expiresAt`."""
    agora, rtm = data["agora"], data["rtm"]
    assert agora["appId"] == settings.AGORA_APP_ID
    assert agora["channelName"] == channel
    assert agora["uid"] == user.agora_uid
    assert type(agora["uid"]) is int
    assert agora["role"] == "host"
    expires = epoch(agora["expiresAt"])
    ttl = settings.AGORA_TOKEN_TTL
    assert int(before.timestamp()) + ttl <= expires <= int(after.timestamp()) + ttl
    privileges = agora_tokens.verify(
        agora["token"],
        app_id=settings.AGORA_APP_ID,
        certificate=settings.AGORA_APP_CERTIFICATE,
        channel=channel,
        uid_or_account=user.agora_uid,
    )
    assert privileges == dict.fromkeys(PUBLISHER_PRIVILEGES, expires)

    assert rtm["appId"] == settings.AGORA_APP_ID
    assert rtm["channelName"] == channel
    assert rtm["userId"] == user.pk
    assert rtm["expiresAt"] == agora["expiresAt"]
    rtm_privileges = agora_tokens.verify(
        rtm["token"],
        app_id=settings.AGORA_APP_ID,
        certificate=settings.AGORA_APP_CERTIFICATE,
        channel=user.pk,
        uid_or_account="",
    )
    assert rtm_privileges == {RTM_LOGIN: expires}


# --- Success ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", JOINABLE)
def test_an_invited_guest_joins_without_changing_the_stream(client_for, status):
    stream, (guest, other_guest) = duo_stream(guests=2, status=status)
    stream_row = LiveStream.objects.filter(pk=stream.pk).values().get()

    before = timezone.now()
    response = join(client_for(guest), stream.pk)
    after = timezone.now()

    data = assert_envelope(response, 200)
    assert set(data) == {"liveStream", "agora", "rtm"}
    live = data["liveStream"]
    assert live["id"] == stream.pk
    assert live["role"] == "guest"
    assert live["replayAccess"]["status"] == "guest"
    assert live["status"] == status  # a guest joining does not start the stream
    assert live["guests"] == [guest.pk, other_guest.pk]
    assert_publisher_credentials(
        data, user=guest, channel=stream.channel_name, before=before, after=after
    )

    row = Guest.objects.get(live_stream=stream, user=guest)
    assert row.uid == guest.agora_uid
    assert row.has_joined is True
    assert before <= row.joined_at <= after
    host, first, second = live["broadcasters"]
    assert first == {
        "user": guest.pk,
        "role": "guest",
        "uid": guest.agora_uid,
        "hasJoined": True,
        "joinedAt": format_timestamp(row.joined_at),
    }
    assert second == {
        "user": other_guest.pk,
        "role": "guest",
        "uid": None,
        "hasJoined": False,
        "joinedAt": None,
    }
    assert host["user"] == stream.creator_id
    assert host["role"] == "host"

    assert LiveStream.objects.filter(pk=stream.pk).values().get() == stream_row
    untouched = Guest.objects.get(live_stream=stream, user=other_guest)
    assert (untouched.uid, untouched.has_joined, untouched.joined_at) == (None, False, None)


@pytest.mark.django_db
def test_joining_again_returns_fresh_tokens_and_keeps_the_first_join(client_for):
    stream, (guest,) = duo_stream()
    client = client_for(guest)
    first = assert_envelope(join(client, stream.pk), 200)
    state = snapshot(stream)

    before = timezone.now()
    second = assert_envelope(join(client, stream.pk), 200)
    after = timezone.now()

    assert snapshot(stream) == state
    assert second["agora"]["uid"] == first["agora"]["uid"] == guest.agora_uid
    assert second["agora"]["token"] != first["agora"]["token"]
    assert second["liveStream"]["broadcasters"] == first["liveStream"]["broadcasters"]
    assert_publisher_credentials(
        second, user=guest, channel=stream.channel_name, before=before, after=after
    )


@pytest.mark.django_db
def test_the_guest_token_is_not_the_creators(client_for):
    stream, (guest,) = duo_stream(status=LiveStreamStatus.ACTIVE)
    token = assert_envelope(join(client_for(guest), stream.pk), 200)["agora"]["token"]
    with pytest.raises(agora_tokens.InvalidAgoraToken):
        agora_tokens.verify(
            token,
            app_id=settings.AGORA_APP_ID,
            certificate=settings.AGORA_APP_CERTIFICATE,
            channel=stream.channel_name,
            uid_or_account=stream.creator.agora_uid,
        )


@pytest.mark.django_db
@pytest.mark.parametrize("ban", ["lifted_block", "chat_only", "block_elsewhere"])
def test_bans_that_do_not_stop_a_guest(client_for, ban):
    stream, (guest,) = duo_stream()
    banned_in = LiveStreamFactory() if ban == "block_elsewhere" else stream
    LiveStreamBan.objects.create(
        live_stream=banned_in,
        user=guest,
        action_type=BanAction.CHAT_ONLY if ban == "chat_only" else BanAction.BLOCK,
        lifted_at=timezone.now() if ban == "lifted_block" else None,
        created_by=stream.creator,
    )
    assert_envelope(join(client_for(guest), stream.pk), 200)
    assert Guest.objects.get(live_stream=stream, user=guest).has_joined is True


# --- Errors: nothing written -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", CLOSED)
def test_a_closed_stream_is_a_409(client_for, status):
    stream, (guest,) = duo_stream(status=status)
    state = snapshot(stream)
    assert_error(join(client_for(guest), stream.pk), 409)
    assert snapshot(stream) == state


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["stranger", "creator", "guest_of_another_stream", "superuser"])
def test_anyone_not_invited_gets_a_403(client_for, who):
    stream, _guests = duo_stream()
    caller = {
        "stranger": lambda: UserFactory(),
        "creator": lambda: stream.creator,
        "guest_of_another_stream": lambda: GuestFactory().user,
        "superuser": lambda: UserFactory(is_staff=True, is_superuser=True),
    }[who]()
    state = snapshot(stream)
    assert_error(join(client_for(caller), stream.pk), 403)
    assert snapshot(stream) == state


@pytest.mark.django_db
def test_a_solo_stream_has_no_guest_to_join_as(client_for):
    stream = LiveStreamFactory(live_stream_type=LiveStreamType.SOLO)
    state = snapshot(stream)
    assert_error(join(client_for(UserFactory()), stream.pk), 403)
    assert snapshot(stream) == state


@pytest.mark.django_db
def test_a_guest_blocked_from_the_stream_gets_a_403(client_for):
    stream, (guest,) = duo_stream()
    LiveStreamBan.objects.create(
        live_stream=stream, user=guest, action_type=BanAction.BLOCK, created_by=stream.creator
    )
    state = snapshot(stream)
    assert_error(join(client_for(guest), stream.pk), 403)
    assert snapshot(stream) == state


@pytest.mark.django_db
def test_an_unknown_id_is_a_404(client_for):
    stream, (guest,) = duo_stream()
    state = snapshot(stream)
    assert_error(join(client_for(guest), new_object_id()), 404)
    assert snapshot(stream) == state


@pytest.mark.django_db
@pytest.mark.parametrize("status", [LiveStreamStatus.PREPARING, LiveStreamStatus.ACTIVE])
def test_a_removed_stream_is_a_404(client_for, status):
    stream, (guest,) = duo_stream(
        status=status, deleted_at=timezone.now(), deleted_by=UserFactory(is_staff=True)
    )
    state = snapshot(stream)
    assert_error(join(client_for(guest), stream.pk), 404)
    assert_error(join(client_for(stream.creator), stream.pk), 404)
    assert snapshot(stream) == state


# Each makes a bad `liveStreamId` from the real one, so a lenient parser would find it.
BAD_IDS = [
    pytest.param(lambda pk: "abc", id="short"),
    pytest.param(str.upper, id="uppercase"),
    pytest.param(lambda pk: pk + "0", id="25-chars"),
    pytest.param(lambda pk: pk[:-1], id="23-chars"),
    pytest.param(lambda pk: f" {pk} ", id="padded"),
    pytest.param(lambda pk: "", id="empty"),
    pytest.param(lambda pk: 123, id="number"),
    pytest.param(lambda pk: None, id="null"),
    pytest.param(lambda pk: [pk], id="list"),
    pytest.param(lambda pk: {"id": pk}, id="object"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", [pytest.param(None, id="missing"), *BAD_IDS])
def test_a_missing_or_malformed_id_is_a_400(client_for, bad_id):
    stream, (guest,) = duo_stream()
    payload = {} if bad_id is None else {"liveStreamId": bad_id(stream.pk)}
    state = snapshot(stream)

    response = client_for(guest).post(URL, payload, format="json")

    errors = assert_error(response, 400)
    assert any(e.startswith("liveStreamId: ") for e in errors[1:]), errors
    assert snapshot(stream) == state


def _expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2))
    return str(token)


def _tampered_token(user) -> str:
    """A valid token with one character of its signature changed."""
    header, payload, signature = str(AccessToken.for_user(user)).split(".")
    flipped = "A" if signature[10] != "A" else "B"
    return f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}"


def _forged_subject_token(user, victim) -> str:
    """`user`'s token with the subject changed to `victim`, signature left as it was."""
    header, payload, signature = str(AccessToken.for_user(user)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = victim.pk
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["none", "expired", "tampered", "forged", "garbage"])
def test_without_a_valid_token_it_is_a_401(case):
    stream, (guest,) = duo_stream()
    state = snapshot(stream)
    token = {
        "none": None,
        "expired": lambda: _expired_token(guest),
        "tampered": lambda: _tampered_token(guest),
        "forged": lambda: _forged_subject_token(UserFactory(), guest),
        "garbage": lambda: "not.a.jwt",
    }[case]
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token()}")

    assert_error(join(client, stream.pk), 401)
    assert snapshot(stream) == state


@pytest.mark.django_db
def test_a_deactivated_guest_is_a_401(client_for):
    stream, (guest,) = duo_stream()
    client = client_for(guest)  # the token was issued while still active
    guest.is_active = False
    guest.save(update_fields=["is_active"])
    state = snapshot(stream)

    assert_error(join(client, stream.pk), 401)
    assert snapshot(stream) == state


# --- Query counts ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("guests", [1, 8])
def test_query_count_does_not_grow_with_the_guests(client_for, django_assert_num_queries, guests):
    assert guests <= settings.LIVESTREAM_MAX_GUESTS
    stream, invited = duo_stream(guests=guests, status=LiveStreamStatus.ACTIVE)
    client = client_for(invited[-1])

    with django_assert_num_queries(JOIN_QUERIES):
        response = join(client, stream.pk)
    data = assert_envelope(response, 200)
    assert len(data["liveStream"]["broadcasters"]) == guests + 1

    with django_assert_num_queries(REJOIN_QUERIES):
        response = join(client, stream.pk)
    assert_envelope(response, 200)
