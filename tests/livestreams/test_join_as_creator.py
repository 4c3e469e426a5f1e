"""POST /api/v1/live-stream/join-as-creator (spec §3, §5)."""

import base64
import json
import threading
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
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

URL = "/api/v1/live-stream/join-as-creator"
# Authentication, the locked stream with its creator and the caller's ban flag (one
# query), the status update, then the stream's guests and mini crowdfundings for the
# response; plus the savepoint and its release around the service's transaction.
JOIN_QUERIES = 7
REJOIN_QUERIES = JOIN_QUERIES - 1  # an active stream is not updated again

CLOSED_STATUSES = [
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


def duo_stream(*, guests: int = 1, **kwargs):
    stream = LiveStreamFactory(live_stream_type=LiveStreamType.DUOSELF, **kwargs)
    GuestFactory.create_batch(guests, live_stream=stream)
    return stream


def scheduled_kwargs():
    start = timezone.now() + timedelta(hours=2)
    return {
        "status": LiveStreamStatus.SCHEDULED,
        "planned_start_date": start,
        "planned_end_date": start + timedelta(hours=1),
    }


# --- Success ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", [LiveStreamStatus.SCHEDULED, LiveStreamStatus.PREPARING])
def test_creator_joins_and_the_stream_becomes_active(client_for, status):
    extra = scheduled_kwargs() if status == LiveStreamStatus.SCHEDULED else {"status": status}
    stream = duo_stream(guests=2, **extra)
    creator = stream.creator
    guests_before = list(Guest.objects.filter(live_stream=stream).order_by("pk").values())

    before = timezone.now()
    response = join(client_for(creator), stream.pk)
    after = timezone.now()

    data = assert_envelope(response, 200)
    assert set(data) == {"liveStream", "agora", "rtm"}
    live = data["liveStream"]
    assert live["id"] == stream.pk
    assert live["role"] == "host"
    assert live["status"] == "active"
    assert live["channelName"] == stream.channel_name
    assert live["creator"]["_id"] == creator.pk
    assert live["replayAccess"]["status"] == "owner"
    assert_publisher_credentials(
        data, user=creator, channel=stream.channel_name, before=before, after=after
    )

    stream.refresh_from_db()
    assert stream.status == LiveStreamStatus.ACTIVE
    assert before <= stream.started_at <= after
    assert live["startedAt"] == format_timestamp(stream.started_at)
    host, *guest_entries = live["broadcasters"]
    assert host == {
        "user": creator.pk,
        "role": "host",
        "uid": creator.agora_uid,
        "hasJoined": True,
        "joinedAt": format_timestamp(stream.host_joined_at),
    }
    assert before <= stream.host_joined_at <= after
    # The guests have not joined: the creator's join leaves them alone.
    assert [g["hasJoined"] for g in guest_entries] == [False, False]
    assert [g["uid"] for g in guest_entries] == [None, None]
    assert guests_before == list(Guest.objects.filter(live_stream=stream).order_by("pk").values())


@pytest.mark.django_db
def test_joining_again_while_active_only_issues_fresh_tokens(client_for):
    stream = duo_stream(status=LiveStreamStatus.PREPARING)
    client = client_for(stream.creator)
    first = assert_envelope(join(client, stream.pk), 200)
    state = snapshot(stream)
    assert state["stream"]["status"] == LiveStreamStatus.ACTIVE

    before = timezone.now()
    second = assert_envelope(join(client, stream.pk), 200)
    after = timezone.now()

    assert snapshot(stream) == state  # status, started_at, updated_at, guests: untouched
    assert second["agora"]["uid"] == first["agora"]["uid"] == stream.creator.agora_uid
    assert second["agora"]["token"] != first["agora"]["token"]
    assert second["rtm"]["token"] != first["rtm"]["token"]
    assert_publisher_credentials(
        second, user=stream.creator, channel=stream.channel_name, before=before, after=after
    )
    for key in ("status", "startedAt", "updatedAt", "broadcasters"):
        assert second["liveStream"][key] == first["liveStream"][key], key


@pytest.mark.django_db
def test_the_token_lifetime_follows_the_setting(client_for, settings):
    settings.AGORA_TOKEN_TTL = 600
    stream = LiveStreamFactory()
    before = timezone.now()
    data = assert_envelope(join(client_for(stream.creator), stream.pk), 200)
    after = timezone.now()
    assert_publisher_credentials(
        data, user=stream.creator, channel=stream.channel_name, before=before, after=after
    )
    assert int(before.timestamp()) + 600 <= epoch(data["agora"]["expiresAt"])


@pytest.mark.django_db
@pytest.mark.parametrize("ban", ["lifted_block", "chat_only"])
def test_a_lifted_or_chat_only_ban_does_not_stop_the_creator(client_for, ban):
    stream = LiveStreamFactory()
    LiveStreamBan.objects.create(
        live_stream=stream,
        user=stream.creator,
        action_type=BanAction.BLOCK if ban == "lifted_block" else BanAction.CHAT_ONLY,
        lifted_at=timezone.now() if ban == "lifted_block" else None,
    )
    data = assert_envelope(join(client_for(stream.creator), stream.pk), 200)
    assert data["liveStream"]["status"] == "active"


# --- Errors: nothing written -------------------------------------------------------


# Each makes a bad `liveStreamId` from the real one, so a lenient parser would find it.
BAD_IDS = [
    pytest.param(lambda pk: "abc", id="short"),
    pytest.param(str.upper, id="uppercase"),
    pytest.param(lambda pk: pk + "0", id="25-chars"),
    pytest.param(lambda pk: "g" * 24, id="not-hex"),
    pytest.param(lambda pk: "", id="empty"),
    pytest.param(lambda pk: 123, id="number"),
    pytest.param(lambda pk: int(pk, 16), id="id-as-number"),
    pytest.param(lambda pk: None, id="null"),
    pytest.param(lambda pk: [pk], id="list"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", [pytest.param(None, id="missing"), *BAD_IDS])
def test_a_missing_or_malformed_id_is_a_400(client_for, bad_id):
    stream = duo_stream()
    payload = {} if bad_id is None else {"liveStreamId": bad_id(stream.pk)}
    state = snapshot(stream)

    response = client_for(stream.creator).post(URL, payload, format="json")

    errors = assert_error(response, 400)
    assert any(e.startswith("liveStreamId: ") for e in errors[1:]), errors
    assert snapshot(stream) == state


@pytest.mark.django_db
def test_an_unknown_id_is_a_404(client_for):
    stream = duo_stream()
    state = snapshot(stream)
    assert_error(join(client_for(stream.creator), new_object_id()), 404)
    assert snapshot(stream) == state


def _expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2))
    return str(token)


def _forged_subject_token(user, victim) -> str:
    """`user`'s token with the subject changed to `victim`, signature left as it was."""
    header, payload, signature = str(AccessToken.for_user(user)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = victim.pk
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["none", "expired", "forged", "garbage", "not-bearer"])
def test_without_a_valid_token_it_is_a_401(case):
    stream = duo_stream()
    creator = stream.creator
    state = snapshot(stream)
    headers = {
        "none": {},
        "expired": {"HTTP_AUTHORIZATION": f"Bearer {_expired_token(creator)}"},
        "forged": {"HTTP_AUTHORIZATION": f"Bearer {_forged_subject_token(UserFactory(), creator)}"},
        "garbage": {"HTTP_AUTHORIZATION": "Bearer not.a.jwt"},
        "not-bearer": {"HTTP_AUTHORIZATION": f"Token {AccessToken.for_user(creator)}"},
    }[case]
    client = APIClient()
    client.credentials(**headers)

    assert_error(join(client, stream.pk), 401)
    assert snapshot(stream) == state


@pytest.mark.django_db
def test_a_deactivated_creator_is_a_401(client_for):
    stream = duo_stream()
    client = client_for(stream.creator)  # the token was issued while still active
    stream.creator.is_active = False
    stream.creator.save(update_fields=["is_active"])
    state = snapshot(stream)

    assert_error(join(client, stream.pk), 401)
    assert snapshot(stream) == state


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["stranger", "invited_guest", "superuser"])
def test_anyone_but_the_creator_gets_a_403(client_for, who):
    stream = duo_stream()
    caller = {
        "stranger": lambda: UserFactory(),
        "invited_guest": lambda: stream.guest_set.get().user,
        "superuser": lambda: UserFactory(is_staff=True, is_superuser=True),
    }[who]()
    state = snapshot(stream)

    assert_error(join(client_for(caller), stream.pk), 403)
    assert snapshot(stream) == state


@pytest.mark.django_db
def test_a_creator_blocked_from_the_stream_gets_a_403(client_for):
    stream = duo_stream()
    LiveStreamBan.objects.create(
        live_stream=stream, user=stream.creator, action_type=BanAction.BLOCK
    )
    state = snapshot(stream)

    assert_error(join(client_for(stream.creator), stream.pk), 403)
    assert snapshot(stream) == state


@pytest.mark.django_db
@pytest.mark.parametrize("status", CLOSED_STATUSES)
def test_a_closed_stream_is_a_409(client_for, status):
    started = timezone.now() - timedelta(hours=1)
    stream = duo_stream(status=status, started_at=started)
    state = snapshot(stream)

    assert_error(join(client_for(stream.creator), stream.pk), 409)
    assert snapshot(stream) == state


@pytest.mark.django_db
@pytest.mark.parametrize("status", [LiveStreamStatus.PREPARING, LiveStreamStatus.ACTIVE])
def test_a_removed_stream_is_a_409_for_its_creator_and_a_404_for_anyone_else(client_for, status):
    moderator = UserFactory(is_staff=True)
    stream = duo_stream(status=status, deleted_at=timezone.now(), deleted_by=moderator)
    state = snapshot(stream)

    assert_error(join(client_for(stream.creator), stream.pk), 409)
    assert_error(join(client_for(UserFactory()), stream.pk), 404)
    assert_error(join(client_for(stream.guest_set.get().user), stream.pk), 404)
    assert snapshot(stream) == state


# --- Query counts ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("guests", [1, 8])
def test_query_count_does_not_grow_with_the_guests(client_for, django_assert_num_queries, guests):
    assert guests <= settings.LIVESTREAM_MAX_GUESTS
    stream = duo_stream(guests=guests)
    client = client_for(stream.creator)

    with django_assert_num_queries(JOIN_QUERIES):
        response = join(client, stream.pk)
    data = assert_envelope(response, 200)
    assert len(data["liveStream"]["broadcasters"]) == guests + 1

    with django_assert_num_queries(REJOIN_QUERIES):
        response = join(client, stream.pk)
    assert_envelope(response, 200)


# --- Concurrency (PostgreSQL) ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_joins_start_the_stream_once(client_for):
    stream = duo_stream(status=LiveStreamStatus.PREPARING)
    clients = [client_for(stream.creator), client_for(stream.creator)]
    barrier = threading.Barrier(len(clients))
    responses, updates, failures = [None] * len(clients), [0] * len(clients), []

    def run(index):
        try:
            with CaptureQueriesContext(connection) as queries:  # this thread's connection
                barrier.wait(timeout=10)
                responses[index] = join(clients[index], stream.pk)
            updates[index] = sum(
                q["sql"].startswith('UPDATE "livestreams_livestream"') for q in queries
            )
        except Exception as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures

    bodies = [assert_envelope(response, 200) for response in responses]
    assert sorted(updates) == [0, 1]  # one request started it, the other found it active
    stream.refresh_from_db()
    assert stream.status == LiveStreamStatus.ACTIVE
    started = format_timestamp(stream.started_at)
    assert [b["liveStream"]["startedAt"] for b in bodies] == [started, started]
    assert [b["liveStream"]["status"] for b in bodies] == ["active", "active"]
    assert [b["agora"]["uid"] for b in bodies] == [stream.creator.agora_uid] * 2
    assert [b["liveStream"]["broadcasters"][0]["uid"] for b in bodies] == [
        stream.creator.agora_uid
    ] * 2
    assert LiveStream.objects.filter(creator=stream.creator).count() == 1
