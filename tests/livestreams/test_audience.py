"""The audience side of a live stream (spec §2, §4, §5; issue 3):
POST /live-stream/join, /live-stream/renew-token, /live-stream/leave and
GET /live-stream/{id}/viewer-count."""

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus
from allmine.core.ids import new_object_id
from livestreams.lifecycle import LiveStreamStatus, Role
from livestreams.models import (
    BanAction,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
)
from livestreams.services.audience import livestream_join_as_audience
from tests import agora_tokens
from tests.agora_tokens import PUBLISHER_PRIVILEGES, RTM_LOGIN, SUBSCRIBER_PRIVILEGES
from tests.api import TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import BanFactory, GuestFactory, LiveStreamFactory, UserFactory
from tests.helpers import (
    assert_balances_add_up,
    balance_of,
    grant,
    without_presence,
    world_snapshot,
)

JOIN_URL = "/api/v1/live-stream/join"
RENEW_URL = "/api/v1/live-stream/renew-token"
LEAVE_URL = "/api/v1/live-stream/leave"

NOT_ACTIVE = [
    LiveStreamStatus.SCHEDULED,
    LiveStreamStatus.PREPARING,
    LiveStreamStatus.ENDED,
    LiveStreamStatus.EXPIRED,
    LiveStreamStatus.CANCELLED_BY_HOST,
    LiveStreamStatus.CANCELLED_BY_GUEST,
]
DEVICE = {
    "deviceType": "ios",
    "deviceModel": "iPhone 15 Pro",
    "osVersion": "17.4.1",
    "appVersion": "2.3.0",
    "country": "TR",
}
DEVICE_COLUMNS = {
    "deviceType": "device_type",
    "deviceModel": "device_model",
    "osVersion": "os_version",
    "appVersion": "app_version",
    "country": "country",
}

# Authentication; the stream with its creator and the caller's guest, ban and
# participant flags (one query); the stream's guests and mini crowdfundings for the
# response (2): what every audience join reads.
JOIN_READS = 4
# A first free join adds the Participant insert, which also moves the kept count
# and raises the peak (its triggers), committed on its own in a request. These
# tests run in a transaction: there the insert gets a savepoint (2 more).
FREE_JOIN_QUERIES = JOIN_READS + 1 + 2
# A paid solo stream: its transaction (a savepoint here, 2), locking the viewer and
# the creator (1), re-reading the Participant row under that lock (1), the charge
# (lock, update the balance, insert the entry: 3), the creator's revenue (3) and
# the insert (1).
PAID_SOLO_JOIN_QUERIES = JOIN_READS + 11
# Joining again: in a transaction (a savepoint here, 2), the Participant row read
# (locked) and updated.
REJOIN_QUERIES = JOIN_READS + 4


# --- Helpers -------------------------------------------------------------------------


def epoch(timestamp: str) -> int:
    assert TIMESTAMP_RE.match(timestamp), timestamp
    return int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp())


def active_stream(**kwargs) -> LiveStream:
    """A stream whose creator is live in it."""
    now = timezone.now()
    kwargs.setdefault("started_at", now - timedelta(minutes=10))
    kwargs.setdefault("host_joined_at", now - timedelta(minutes=10))
    kwargs.setdefault("host_present", True)
    return LiveStreamFactory(status=LiveStreamStatus.ACTIVE, **kwargs)


def duo_stream(*, guests: int = 1, **kwargs) -> tuple[LiveStream, list]:
    kwargs.setdefault("live_stream_type", LiveStreamType.DUOCROWD)
    stream = active_stream(**kwargs)
    rows = GuestFactory.create_batch(guests, live_stream=stream)
    return stream, [row.user for row in rows]


def stream_in(status) -> LiveStream:
    """A stream in `status` with dates that make sense for it."""
    if status == LiveStreamStatus.ACTIVE:
        return active_stream()
    now = timezone.now()
    extra = {}
    if status == LiveStreamStatus.SCHEDULED:
        extra = {"planned_start_date": now + timedelta(hours=2)}
    elif status == LiveStreamStatus.ENDED:
        extra = {"started_at": now - timedelta(hours=1), "ended_at": now - timedelta(minutes=1)}
    return LiveStreamFactory(status=status, **extra)


def block(stream, user, *, action=BanAction.BLOCK, lifted=False) -> LiveStreamBan:
    return BanFactory(live_stream=stream, user=user, action_type=action, lifted=lifted)


def join(client, stream_id, **extra):
    return client.post(JOIN_URL, {"liveStreamId": stream_id}, format="json", **extra)


def renew(client, stream_id):
    return client.post(RENEW_URL, {"liveStreamId": stream_id}, format="json")


def leave(client, stream_id):
    return client.post(LEAVE_URL, {"liveStreamId": stream_id}, format="json")


def viewer_count(client, stream_id):
    return client.get(f"/api/v1/live-stream/{stream_id}/viewer-count")


def assert_credentials(data, *, user, channel, privileges, role, before, after):
    """`agora` and `rtm` are valid tokens for this user and channel, with exactly
    `privileges` on the RTC token, all ending at `expiresAt`."""
    assert set(data) >= {"agora", "rtm"}
    agora, rtm = data["agora"], data["rtm"]
    assert agora["appId"] == settings.AGORA_APP_ID
    assert agora["channelName"] == channel
    assert agora["uid"] == user.agora_uid
    assert type(agora["uid"]) is int
    assert agora["role"] == role
    expires = epoch(agora["expiresAt"])
    ttl = settings.AGORA_TOKEN_TTL
    assert int(before.timestamp()) + ttl <= expires <= int(after.timestamp()) + ttl
    rtc = agora_tokens.verify(
        agora["token"],
        app_id=settings.AGORA_APP_ID,
        certificate=settings.AGORA_APP_CERTIFICATE,
        channel=channel,
        uid_or_account=user.agora_uid,
    )
    assert rtc == dict.fromkeys(privileges, expires)

    assert rtm["appId"] == settings.AGORA_APP_ID
    assert rtm["channelName"] == channel
    assert rtm["userId"] == user.pk
    assert rtm["expiresAt"] == agora["expiresAt"]
    assert agora_tokens.verify(
        rtm["token"],
        app_id=settings.AGORA_APP_ID,
        certificate=settings.AGORA_APP_CERTIFICATE,
        channel=user.pk,
        uid_or_account="",
    ) == {RTM_LOGIN: expires}


def assert_subscriber(data, *, user, channel, before, after):
    assert_credentials(
        data,
        user=user,
        channel=channel,
        privileges=SUBSCRIBER_PRIVILEGES,
        role="audience",
        before=before,
        after=after,
    )


def assert_publisher(data, *, user, channel, before, after):
    assert_credentials(
        data,
        user=user,
        channel=channel,
        privileges=PUBLISHER_PRIVILEGES,
        role="host",
        before=before,
        after=after,
    )


class Clock:
    """`django.utils.timezone.now`, frozen and moved by hand."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


# --- POST /live-stream/join: success ---------------------------------------------------


@pytest.mark.django_db
def test_an_audience_member_joins_a_free_stream(client_for):
    stream = active_stream()
    viewer = UserFactory()
    stream_row = LiveStream.objects.filter(pk=stream.pk).values().get()

    before = timezone.now()
    response = join(client_for(viewer), stream.pk, REMOTE_ADDR="203.0.113.9")
    after = timezone.now()

    data = assert_envelope(response, 200)
    assert set(data) == {"liveStream", "agora", "rtm"}
    live = data["liveStream"]
    assert live["id"] == stream.pk
    assert live["role"] == "audience"
    assert live["status"] == "active"
    assert live["accessType"] == "free"
    assert live["replayAccess"]["status"] == "none"
    assert_subscriber(data, user=viewer, channel=stream.channel_name, before=before, after=after)

    participant = Participant.objects.get()
    assert (participant.live_stream_id, participant.user_id) == (stream.pk, viewer.pk)
    assert participant.is_present is True
    assert participant.join_count == 1
    assert participant.watch_seconds == 0
    assert participant.charge is None
    assert participant.ip_address == "203.0.113.9"
    assert before <= participant.first_joined_at == participant.last_joined_at <= after
    assert CreditTransaction.objects.count() == 0
    # Watching does not change the stream itself, but for its peak of viewers.
    assert LiveStream.objects.filter(pk=stream.pk).values().get() == {
        **stream_row,
        "peak_viewers": 1,
    }


@pytest.mark.django_db
def test_the_audience_token_is_a_subscribers_and_not_a_publishers(client_for):
    stream = active_stream()
    viewer = UserFactory()
    token = assert_envelope(join(client_for(viewer), stream.pk), 200)["agora"]["token"]
    privileges = agora_tokens.decode(token).privileges
    assert set(privileges) == {agora_tokens.JOIN_CHANNEL}
    assert not set(privileges) & {
        agora_tokens.PUBLISH_AUDIO,
        agora_tokens.PUBLISH_VIDEO,
        agora_tokens.PUBLISH_DATA,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(DEVICE, id="all-fields"),
        pytest.param({"deviceType": "android", "country": "DE"}, id="some-fields"),
        pytest.param({}, id="none"),
        pytest.param(dict.fromkeys(DEVICE, ""), id="blank"),
    ],
)
def test_the_device_fields_are_stored_on_the_participant(client_for, sent):
    stream = active_stream()
    viewer = UserFactory()
    response = client_for(viewer).post(
        JOIN_URL, {"liveStreamId": stream.pk, **sent}, format="json", REMOTE_ADDR="198.51.100.20"
    )
    assert_envelope(response, 200)

    participant = Participant.objects.get(live_stream=stream, user=viewer)
    for field, column in DEVICE_COLUMNS.items():
        assert getattr(participant, column) == sent.get(field, "")
    assert participant.ip_address == "198.51.100.20"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, limit", [("deviceType", 32), ("deviceModel", 100), ("osVersion", 50), ("country", 64)]
)
def test_an_overlong_device_field_is_a_400_and_nothing_is_written(client_for, field, limit):
    stream = active_stream()
    client = client_for(UserFactory())
    state = world_snapshot()
    response = client.post(
        JOIN_URL, {"liveStreamId": stream.pk, field: "x" * (limit + 1)}, format="json"
    )
    errors = assert_error(response, 400)
    assert any(e.startswith(f"{field}: ") for e in errors[1:]), errors
    assert world_snapshot() == state


# (TRUSTED_PROXY_COUNT, REMOTE_ADDR, X-Forwarded-For or None, the address stored)
CLIENT_ADDRESSES = [
    pytest.param(0, "203.0.113.5", None, "203.0.113.5", id="direct"),
    pytest.param(0, "203.0.113.5", "198.51.100.7", "203.0.113.5", id="direct-spoofed-xff"),
    pytest.param(0, "2001:db8::5", None, "2001:db8::5", id="direct-ipv6"),
    pytest.param(1, "10.0.0.2", "198.51.100.7", "198.51.100.7", id="proxy"),
    pytest.param(1, "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7", id="proxy-client-prefix"),
    pytest.param(1, "10.0.0.2", " 6.6.6.6 ,198.51.100.7 ", "198.51.100.7", id="proxy-spaces"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("proxies, remote, forwarded, stored", CLIENT_ADDRESSES)
def test_the_client_address_is_the_real_one(
    client_for, settings, proxies, remote, forwarded, stored
):
    settings.TRUSTED_PROXY_COUNT = proxies
    stream = active_stream()
    viewer = UserFactory()
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded

    assert_envelope(join(client_for(viewer), stream.pk, **headers), 200)

    assert Participant.objects.get(live_stream=stream, user=viewer).ip_address == stored


@pytest.mark.django_db
def test_joining_again_gives_fresh_credentials_and_keeps_one_row(client_for, clock):
    stream = active_stream()
    viewer = UserFactory()
    client = client_for(viewer)
    first = assert_envelope(
        client.post(JOIN_URL, {"liveStreamId": stream.pk, **DEVICE}, format="json"), 200
    )
    joined_at = clock.now

    clock.advance(120)
    second = assert_envelope(
        client.post(JOIN_URL, {"liveStreamId": stream.pk, "appVersion": "2.4.0"}, format="json"),
        200,
    )

    assert second["agora"]["token"] != first["agora"]["token"]
    assert epoch(second["agora"]["expiresAt"]) == epoch(first["agora"]["expiresAt"]) + 120
    assert_subscriber(
        second, user=viewer, channel=stream.channel_name, before=clock.now, after=clock.now
    )
    assert second["liveStream"]["role"] == "audience"

    participant = Participant.objects.get()
    assert participant.join_count == 2
    assert participant.is_present is True
    assert participant.first_joined_at == joined_at
    assert participant.last_joined_at == clock.now
    # Still present since the first join: those two minutes were watched.
    assert participant.watch_seconds == 120
    # A field sent again is updated; one not sent keeps what was stored.
    assert participant.app_version == "2.4.0"
    assert participant.device_model == DEVICE["deviceModel"]


@pytest.mark.django_db
def test_joining_after_leaving_makes_the_viewer_present_again(client_for):
    stream = active_stream()
    viewer = UserFactory()
    client = client_for(viewer)
    assert_envelope(join(client, stream.pk), 200)
    assert_envelope(leave(client, stream.pk), 200)
    assert Participant.objects.get().is_present is False

    assert_envelope(join(client, stream.pk), 200)
    participant = Participant.objects.get()
    assert participant.is_present is True
    assert participant.join_count == 2


# --- Paid streams --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("price", [None, "0.00"])
def test_a_free_stream_charges_nothing(client_for, price):
    stream = active_stream(price=None if price is None else Decimal(price))
    viewer = UserFactory(credits="50.00")
    data = assert_envelope(join(client_for(viewer), stream.pk), 200)
    assert data["liveStream"]["accessType"] == "free"
    assert balance_of(viewer) == Decimal("50.00")
    assert CreditTransaction.objects.exclude(kind=TransactionKind.ADMIN_ADJUSTMENT).count() == 0


# (type, guests, price, the creator's revenue, each guest's revenue); None: no entry.
# Shares are rounded down to the cent; the platform keeps the rest.
REVENUE_SPLITS = [
    pytest.param(LiveStreamType.SOLO, 0, "10.00", "8.00", [], id="solo"),
    pytest.param(LiveStreamType.SOLO, 0, "9.99", "7.99", [], id="solo-rounded-down"),
    pytest.param(LiveStreamType.SOLO, 0, "0.01", None, [], id="solo-too-small-to-share"),
    pytest.param(LiveStreamType.DUOCROWD, 1, "10.00", "4.00", ["4.00"], id="duocrowd-1-guest"),
    pytest.param(
        LiveStreamType.DUOSELF, 2, "10.00", "4.00", ["2.00", "2.00"], id="duoself-2-guests"
    ),
    pytest.param(
        LiveStreamType.DUOCROWD, 3, "10.00", "4.00", ["1.33", "1.33", "1.33"], id="3-guests"
    ),
    pytest.param(
        LiveStreamType.DUOSELF, 3, "0.05", "0.02", [None, None, None], id="guests-share-too-small"
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind, guests, price, creator_gets, guests_get", REVENUE_SPLITS)
def test_a_paid_stream_charges_once_and_splits_the_revenue(
    client_for, kind, guests, price, creator_gets, guests_get
):
    price = Decimal(price)
    stream = active_stream(live_stream_type=kind, price=price)
    invited = [g.user for g in GuestFactory.create_batch(guests, live_stream=stream)]
    viewer = UserFactory(credits="25.00")

    data = assert_envelope(join(client_for(viewer), stream.pk), 200)
    assert data["liveStream"]["accessType"] == "paid"
    assert data["liveStream"]["price"] == float(price)

    charge = CreditTransaction.objects.get(kind=TransactionKind.STREAM_CHARGE)
    assert charge.user_id == viewer.pk
    assert charge.amount == -price
    assert charge.status == TransactionStatus.COMPLETED
    assert charge.live_stream_id == stream.pk
    assert charge.balance_after == Decimal("25.00") - price
    assert Participant.objects.get(user=viewer).charge_id == charge.pk
    assert balance_of(viewer) == Decimal("25.00") - price

    revenue = {
        entry.user_id: entry
        for entry in CreditTransaction.objects.filter(kind=TransactionKind.STREAM_REVENUE)
    }
    expected = {stream.creator_id: creator_gets}
    expected.update({user.pk: share for user, share in zip(invited, guests_get, strict=True)})
    for user_id, share in expected.items():
        if share is None:
            assert user_id not in revenue
            continue
        entry = revenue.pop(user_id)
        assert entry.amount == Decimal(share)
        assert entry.status == TransactionStatus.COMPLETED
        assert entry.related_id == charge.pk
        assert entry.live_stream_id == stream.pk
    assert revenue == {}, "revenue paid to someone who is not a broadcaster"

    paid_out = sum(Decimal(s) for s in [creator_gets, *guests_get] if s is not None)
    assert paid_out <= price
    assert_balances_add_up()
    assert balance_of(stream.creator) == Decimal(creator_gets or "0.00")


@pytest.mark.django_db
def test_joining_a_paid_stream_again_never_charges_again(client_for):
    stream = active_stream(price=Decimal("5.00"))
    viewer = UserFactory(credits="12.00")
    client = client_for(viewer)
    assert_envelope(join(client, stream.pk), 200)
    ledger = list(CreditTransaction.objects.order_by("pk").values())

    for _ in range(3):
        assert_envelope(join(client, stream.pk), 200)
    assert_envelope(leave(client, stream.pk), 200)
    assert_envelope(join(client, stream.pk), 200)

    assert list(CreditTransaction.objects.order_by("pk").values()) == ledger
    assert balance_of(viewer) == Decimal("7.00")
    assert balance_of(stream.creator) == Decimal("4.00")
    assert Participant.objects.get().join_count == 5


@pytest.mark.django_db
def test_exactly_enough_credits_is_enough(client_for):
    stream = active_stream(price=Decimal("7.50"))
    viewer = UserFactory(credits="7.50")
    assert_envelope(join(client_for(viewer), stream.pk), 200)
    assert balance_of(viewer) == Decimal("0.00")
    assert_balances_add_up()


@pytest.mark.django_db
@pytest.mark.parametrize("held", ["0.00", "7.49"])
def test_too_few_credits_is_a_409_and_nothing_is_written(client_for, held):
    stream = active_stream(price=Decimal("7.50"))
    viewer = UserFactory(credits=held)
    state = world_snapshot()

    errors = assert_error(join(client_for(viewer), stream.pk), 409)

    assert "credits" in errors[1].lower(), errors
    assert "insufficient" in errors[1].lower(), errors
    assert world_snapshot() == state
    assert not Participant.objects.exists()
    assert balance_of(viewer) == Decimal(held)
    assert_balances_add_up()
    assert balance_of(stream.creator) == Decimal("0.00")


@pytest.mark.django_db
def test_a_viewer_short_of_credits_can_join_once_topped_up(client_for):
    stream = active_stream(price=Decimal("3.00"))
    viewer = UserFactory(credits="2.00")
    client = client_for(viewer)
    assert_error(join(client, stream.pk), 409)
    grant(viewer, "1.00")
    assert_envelope(join(client, stream.pk), 200)
    assert balance_of(viewer) == Decimal("0.00")
    assert Participant.objects.get().join_count == 1


# --- POST /live-stream/join: refusals ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", NOT_ACTIVE)
def test_a_stream_that_is_not_active_is_a_409(client_for, status):
    stream = stream_in(status)
    viewer = UserFactory(credits="10.00")
    state = world_snapshot()
    assert_error(join(client_for(viewer), stream.pk), 409)
    assert world_snapshot() == state


# (the ban, whether the viewer may join)
BANS = [
    pytest.param("block", False, id="block"),
    pytest.param("chat_only", True, id="chat-only"),
    pytest.param("lifted_block", True, id="lifted-block"),
    pytest.param("block_elsewhere", True, id="block-in-another-stream"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("ban, allowed", BANS)
def test_bans(client_for, ban, allowed):
    stream = active_stream(price=Decimal("1.00"))
    viewer = UserFactory(credits="5.00")
    block(
        LiveStreamFactory() if ban == "block_elsewhere" else stream,
        viewer,
        action=BanAction.CHAT_ONLY if ban == "chat_only" else BanAction.BLOCK,
        lifted=ban == "lifted_block",
    )
    state = world_snapshot()

    response = join(client_for(viewer), stream.pk)

    if allowed:
        assert assert_envelope(response, 200)["liveStream"]["role"] == "audience"
        assert Participant.objects.filter(live_stream=stream, user=viewer).exists()
    else:
        assert_error(response, 403, contains="banned")
        assert world_snapshot() == state


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["creator", "guest"])
def test_broadcasters_do_not_join_as_audience(client_for, who):
    stream, (guest,) = duo_stream()
    caller = stream.creator if who == "creator" else guest
    state = world_snapshot()
    assert_error(join(client_for(caller), stream.pk), 403)
    assert world_snapshot() == state


@pytest.mark.django_db
@pytest.mark.parametrize("status", [LiveStreamStatus.ACTIVE, LiveStreamStatus.ENDED])
def test_a_removed_stream_is_a_404(client_for, status):
    stream = stream_in(status)
    LiveStream.objects.filter(pk=stream.pk).update(
        deleted_at=timezone.now(), deleted_by=UserFactory(is_staff=True)
    )
    client = client_for(UserFactory())
    state = world_snapshot()
    assert_error(join(client, stream.pk), 404)
    assert world_snapshot() == state


@pytest.mark.django_db
def test_an_unknown_stream_is_a_404(client_for):
    active_stream()
    client = client_for(UserFactory())
    state = world_snapshot()
    assert_error(join(client, new_object_id()), 404)
    assert world_snapshot() == state


BAD_IDS = [
    pytest.param(lambda pk: "abc", id="short"),
    pytest.param(str.upper, id="uppercase"),
    pytest.param(lambda pk: pk + "0", id="25-chars"),
    pytest.param(lambda pk: f" {pk}", id="padded"),
    pytest.param(lambda pk: "", id="empty"),
    pytest.param(lambda pk: None, id="null"),
    pytest.param(lambda pk: 123, id="number"),
    pytest.param(lambda pk: [pk], id="list"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [JOIN_URL, RENEW_URL, LEAVE_URL])
@pytest.mark.parametrize("bad_id", [pytest.param(None, id="missing"), *BAD_IDS])
def test_a_missing_or_malformed_id_is_a_400(client_for, url, bad_id):
    stream = active_stream()
    payload = {} if bad_id is None else {"liveStreamId": bad_id(stream.pk)}
    client = client_for(UserFactory())
    state = world_snapshot()
    errors = assert_error(client.post(url, payload, format="json"), 400)
    assert any(e.startswith("liveStreamId: ") for e in errors[1:]), errors
    assert world_snapshot() == state


@pytest.mark.django_db
@pytest.mark.parametrize("url", [JOIN_URL, RENEW_URL, LEAVE_URL])
def test_without_a_token_it_is_a_401(url):
    stream = active_stream()
    state = world_snapshot()
    assert_error(APIClient().post(url, {"liveStreamId": stream.pk}, format="json"), 401)
    assert_error(APIClient().get(f"/api/v1/live-stream/{stream.pk}/viewer-count"), 401)
    assert world_snapshot() == state


@pytest.mark.django_db
def test_a_deactivated_user_gets_no_token(client_for):
    stream = active_stream()
    viewer = UserFactory()
    client = client_for(viewer)  # issued while still active
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])
    state = world_snapshot()
    assert_error(join(client, stream.pk), 401)
    assert world_snapshot() == state


# --- POST /live-stream/renew-token -------------------------------------------------------


def _renewer(role: str):
    """A stream and a caller holding `role` in it (having joined where that applies)."""
    stream, (guest,) = duo_stream()
    if role == "host":
        return stream, stream.creator, PUBLISHER_PRIVILEGES, "host"
    if role == "guest":
        Guest.objects.filter(live_stream=stream, user=guest).update(
            has_joined=True, uid=guest.agora_uid, joined_at=timezone.now()
        )
        return stream, guest, PUBLISHER_PRIVILEGES, "host"
    viewer = UserFactory()
    Participant.objects.create(live_stream=stream, user=viewer)
    return stream, viewer, SUBSCRIBER_PRIVILEGES, "audience"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["host", "guest", "audience"])
def test_renew_token_gives_fresh_credentials_for_the_callers_role(client_for, role):
    stream, caller, privileges, agora_role = _renewer(role)
    state = world_snapshot()

    before = timezone.now()
    data = assert_envelope(renew(client_for(caller), stream.pk), 200)
    after = timezone.now()

    assert set(data) == {"agora", "rtm"}
    assert_credentials(
        data,
        user=caller,
        channel=stream.channel_name,
        privileges=privileges,
        role=agora_role,
        before=before,
        after=after,
    )
    # Renewing changes nothing, charges nothing; a viewer's renewal is a sign of
    # life (issue 11: presence expires without one).
    now_state = world_snapshot()
    seen = [p["last_seen_at"] for p in state["livestreams.Participant"]]
    seen_now = [p["last_seen_at"] for p in now_state["livestreams.Participant"]]
    assert without_presence(now_state) == without_presence(state)
    if role == "audience":
        assert before <= seen_now[0] <= after
    else:
        assert seen_now == seen


@pytest.mark.django_db
def test_renew_token_for_a_paid_stream_never_charges(client_for):
    stream = active_stream(price=Decimal("4.00"))
    viewer = UserFactory(credits="4.00")
    client = client_for(viewer)
    assert_envelope(join(client, stream.pk), 200)
    state = world_snapshot()
    assert_envelope(renew(client, stream.pk), 200)
    # the renewal is only a sign of life (presence)
    assert without_presence(world_snapshot()) == without_presence(state)
    assert balance_of(viewer) == Decimal("0.00")


# (role, stream status, expected HTTP status)
RENEW_BY_STATUS = [
    *[pytest.param("host", s, 409, id=f"host-{s}") for s in NOT_ACTIVE],
    *[pytest.param("audience", s, 409, id=f"audience-{s}") for s in NOT_ACTIVE],
    pytest.param("guest", LiveStreamStatus.SCHEDULED, 200, id="guest-scheduled"),
    pytest.param("guest", LiveStreamStatus.PREPARING, 200, id="guest-preparing"),
    *[pytest.param("guest", s, 409, id=f"guest-{s}") for s in NOT_ACTIVE[2:]],
]


@pytest.mark.django_db
@pytest.mark.parametrize("role, status, expected", RENEW_BY_STATUS)
def test_renew_token_follows_the_stream_status(client_for, role, status, expected):
    stream, caller, _privileges, _agora_role = _renewer(role)
    LiveStream.objects.filter(pk=stream.pk).update(status=status)
    response = renew(client_for(caller), stream.pk)
    if expected == 200:
        assert set(assert_envelope(response, 200)) == {"agora", "rtm"}
    else:
        assert_error(response, expected)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["guest", "audience"])
def test_a_user_banned_since_joining_gets_no_new_token(client_for, role):
    stream, caller, _privileges, _agora_role = _renewer(role)
    client = client_for(caller)
    assert_envelope(renew(client, stream.pk), 200)

    response = client_for(stream.creator).post(
        "/api/v1/live-stream-ban",
        {"liveStreamId": stream.pk, "targetUserId": caller.pk, "actionType": "BLOCK"},
        format="json",
    )
    assert_envelope(response, 200)

    assert_error(renew(client, stream.pk), 403, contains="banned")


@pytest.mark.django_db
@pytest.mark.parametrize("action", [BanAction.CHAT_ONLY, "lifted"])
def test_a_chat_ban_or_a_lifted_ban_does_not_stop_renewal(client_for, action):
    stream, viewer, _privileges, _agora_role = _renewer("audience")
    block(
        stream,
        viewer,
        action=BanAction.CHAT_ONLY if action == BanAction.CHAT_ONLY else BanAction.BLOCK,
        lifted=action == "lifted",
    )
    assert_envelope(renew(client_for(viewer), stream.pk), 200)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["host", "guest", "audience"])
def test_a_stream_ended_since_joining_gives_no_new_token(client_for, role):
    stream, caller, _privileges, _agora_role = _renewer(role)
    client = client_for(caller)
    assert_envelope(renew(client, stream.pk), 200)

    assert_envelope(client_for(stream.creator).post(f"/api/v1/live-stream/{stream.pk}/end"), 200)

    assert_error(renew(client, stream.pk), 409)


@pytest.mark.django_db
def test_a_user_who_never_joined_gets_no_token(client_for):
    stream = active_stream()
    Participant.objects.create(live_stream=LiveStreamFactory(), user=UserFactory())
    assert_error(renew(client_for(UserFactory()), stream.pk), 403)


@pytest.mark.django_db
def test_renew_token_on_a_removed_or_unknown_stream_is_a_404(client_for):
    stream, viewer, _privileges, _agora_role = _renewer("audience")
    client = client_for(viewer)
    assert_error(renew(client, new_object_id()), 404)
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(renew(client, stream.pk), 404)


# --- POST /live-stream/leave -------------------------------------------------------------


def _detail(client, stream_id) -> dict:
    return assert_envelope(client.get(f"/api/v1/live-stream/{stream_id}"), 200)


@pytest.mark.django_db
def test_the_host_leaves_and_the_stream_stays_active(client_for):
    stream = LiveStreamFactory(status=LiveStreamStatus.PREPARING)
    client = client_for(stream.creator)
    joined = assert_envelope(
        client.post("/api/v1/live-stream/join-as-creator", {"liveStreamId": stream.pk}), 200
    )
    host = joined["liveStream"]["broadcasters"][0]
    assert host["hasJoined"] is True

    data = assert_envelope(leave(client, stream.pk), 200)

    assert data == {"liveStreamId": stream.pk, "role": "host", "watchSeconds": None}
    live = _detail(client, stream.pk)
    assert live["status"] == "active"
    assert live["broadcasters"][0] == {**host, "hasJoined": False}
    assert live["startedAt"] == joined["liveStream"]["startedAt"]

    # Joining again puts the host back in the channel with the same uid.
    again = assert_envelope(
        client.post("/api/v1/live-stream/join-as-creator", {"liveStreamId": stream.pk}), 200
    )
    assert again["liveStream"]["broadcasters"][0] == host


@pytest.mark.django_db
def test_a_guest_leaves_and_keeps_the_uid(client_for):
    stream, (guest, other) = duo_stream(guests=2)
    client = client_for(guest)
    joined = assert_envelope(
        client.post("/api/v1/live-stream/join-as-guest", {"liveStreamId": stream.pk}), 200
    )
    entry = joined["liveStream"]["broadcasters"][1]
    assert entry["hasJoined"] is True

    data = assert_envelope(leave(client, stream.pk), 200)

    assert data == {"liveStreamId": stream.pk, "role": "guest", "watchSeconds": None}
    live = _detail(client, stream.pk)
    assert live["status"] == "active"
    assert live["broadcasters"][1] == {**entry, "hasJoined": False}
    assert live["broadcasters"][1]["uid"] == guest.agora_uid
    row = Guest.objects.get(live_stream=stream, user=guest)
    assert (row.uid, row.has_joined) == (guest.agora_uid, False)
    assert Guest.objects.get(live_stream=stream, user=other).has_joined is False
    assert live["broadcasters"][0]["hasJoined"] is True  # the host is still live


@pytest.mark.django_db
def test_an_audience_member_leaves_and_the_watch_time_adds_up(client_for, clock):
    stream = active_stream()
    viewer = UserFactory()
    client = client_for(viewer)

    assert_envelope(join(client, stream.pk), 200)
    clock.advance(90)
    data = assert_envelope(leave(client, stream.pk), 200)
    assert data == {"liveStreamId": stream.pk, "role": "audience", "watchSeconds": 90}
    participant = Participant.objects.get()
    assert participant.is_present is False
    assert participant.left_at == clock.now
    assert participant.watch_seconds == 90

    clock.advance(600)  # away: not watched
    assert_envelope(join(client, stream.pk), 200)
    clock.advance(30)
    assert assert_envelope(leave(client, stream.pk), 200)["watchSeconds"] == 120

    clock.advance(45)  # leaving twice adds nothing
    assert assert_envelope(leave(client, stream.pk), 200)["watchSeconds"] == 120
    participant.refresh_from_db()
    assert (participant.watch_seconds, participant.is_present) == (120, False)
    # Still the audience of the stream after leaving.
    assert _detail(client, stream.pk)["role"] == "audience"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["stranger", "audience_of_another_stream"])
def test_leave_by_a_non_member_is_a_403(client_for, who):
    stream = active_stream()
    caller = UserFactory()
    if who == "audience_of_another_stream":
        Participant.objects.create(live_stream=active_stream(), user=caller)
    state = world_snapshot()
    assert_error(leave(client_for(caller), stream.pk), 403)
    assert world_snapshot() == state


@pytest.mark.django_db
def test_leave_on_a_removed_or_unknown_stream_is_a_404(client_for):
    stream = active_stream()
    viewer = UserFactory()
    Participant.objects.create(live_stream=stream, user=viewer)
    client = client_for(viewer)
    assert_error(leave(client, new_object_id()), 404)
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(leave(client, stream.pk), 404)


# --- GET /live-stream/{id}/viewer-count ------------------------------------------------


@pytest.mark.django_db
def test_the_viewer_count_is_the_audience_present_now(client_for):
    stream, (guest,) = duo_stream()
    viewers = UserFactory.create_batch(4)
    clients = {v.pk: client_for(v) for v in viewers}
    observer = client_for(UserFactory())
    creator = client_for(stream.creator)

    def count() -> int:
        data = assert_envelope(viewer_count(observer, stream.pk), 200)
        assert set(data) == {"streamId", "viewerCount"}
        assert data["streamId"] == stream.pk
        assert type(data["viewerCount"]) is int
        return data["viewerCount"]

    assert count() == 0
    # The broadcasters in the channel are not the audience.
    assert_envelope(
        client_for(guest).post("/api/v1/live-stream/join-as-guest", {"liveStreamId": stream.pk}),
        200,
    )
    assert count() == 0

    for viewer in viewers:
        assert_envelope(join(clients[viewer.pk], stream.pk), 200)
    assert count() == 4

    assert_envelope(join(clients[viewers[0].pk], stream.pk), 200)  # joining twice counts once
    assert count() == 4

    assert_envelope(leave(clients[viewers[1].pk], stream.pk), 200)
    assert count() == 3

    def ban(viewer, action):
        payload = {"liveStreamId": stream.pk, "targetUserId": viewer.pk, "actionType": action}
        assert_envelope(creator.post("/api/v1/live-stream-ban", payload, format="json"), 200)

    ban(viewers[2], "CHAT_ONLY")  # may keep watching
    assert count() == 3
    ban(viewers[3], "BLOCK")  # out at once
    assert count() == 2

    assert_envelope(join(clients[viewers[1].pk], stream.pk), 200)  # back
    assert count() == 3
    assert_error(join(clients[viewers[3].pk], stream.pk), 403)
    assert count() == 3

    assert_envelope(creator.post(f"/api/v1/live-stream/{stream.pk}/end"), 200)
    assert count() == 0
    assert Participant.objects.filter(live_stream=stream).count() == 4


@pytest.mark.django_db
def test_the_viewer_count_is_per_stream(client_for):
    stream, other = active_stream(), active_stream()
    for viewer in UserFactory.create_batch(2):
        assert_envelope(join(client_for(viewer), other.pk), 200)
    data = assert_envelope(viewer_count(client_for(UserFactory()), stream.pk), 200)
    assert data == {"streamId": stream.pk, "viewerCount": 0}


@pytest.mark.django_db
def test_the_viewer_count_of_a_removed_unknown_or_malformed_stream(client_for):
    stream = active_stream()
    client = client_for(UserFactory())
    assert_error(viewer_count(client, new_object_id()), 404)
    assert_error(viewer_count(client, "not-an-id"), 400)
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(viewer_count(client, stream.pk), 404)


# --- Query counts ----------------------------------------------------------------------


def _crowd(stream, size: int) -> None:
    """`size` other audience members, present, of `stream`."""
    users = UserFactory.create_batch(size)
    Participant.objects.bulk_create(Participant(live_stream=stream, user=u) for u in users)


@pytest.mark.django_db
@pytest.mark.parametrize("crowd", [1, 200])
def test_join_query_counts_do_not_grow_with_the_audience(
    client_for, django_assert_num_queries, crowd
):
    free = active_stream()
    paid = active_stream(price=Decimal("2.00"))
    _crowd(free, crowd)
    _crowd(paid, crowd)
    viewer = UserFactory(credits="10.00")
    client = client_for(viewer)

    with django_assert_num_queries(FREE_JOIN_QUERIES):
        response = join(client, free.pk, REMOTE_ADDR="203.0.113.1")
    assert assert_envelope(response, 200)["liveStream"]["role"] == "audience"

    with django_assert_num_queries(PAID_SOLO_JOIN_QUERIES):
        response = join(client, paid.pk)
    assert assert_envelope(response, 200)["liveStream"]["accessType"] == "paid"

    with django_assert_num_queries(REJOIN_QUERIES):
        response = join(client, paid.pk)
    assert_envelope(response, 200)

    assert balance_of(viewer) == Decimal("8.00")
    assert Participant.objects.filter(live_stream=paid, is_present=True).count() == crowd + 1


@pytest.mark.django_db
@pytest.mark.parametrize("guests", [1, 8])
def test_free_join_query_counts_do_not_grow_with_the_guests(
    client_for, django_assert_num_queries, guests
):
    assert guests <= settings.LIVESTREAM_MAX_GUESTS
    stream, _invited = duo_stream(guests=guests)
    client = client_for(UserFactory())

    with django_assert_num_queries(FREE_JOIN_QUERIES):
        response = join(client, stream.pk)
    data = assert_envelope(response, 200)
    assert len(data["liveStream"]["broadcasters"]) == guests + 1

    with django_assert_num_queries(REJOIN_QUERIES):
        response = join(client, stream.pk)
    assert_envelope(response, 200)


@pytest.mark.django_db
@pytest.mark.parametrize("guests", [1, 8])
def test_a_paid_duo_join_costs_one_ledger_entry_per_guest(
    client_for, django_assert_num_queries, guests
):
    """The exception to a fixed count: each guest's revenue share is a ledger entry
    of its own (lock the balance, update it, insert the entry), so a paid duo join
    grows by 3 queries a guest, bounded by LIVESTREAM_MAX_GUESTS."""
    assert guests <= settings.LIVESTREAM_MAX_GUESTS
    stream, _invited = duo_stream(guests=guests, price=Decimal("8.00"))
    _crowd(stream, 20)
    viewer = UserFactory(credits="8.00")
    client = client_for(viewer)

    # The solo count, plus the guests' ids and 3 queries per guest's revenue entry.
    with django_assert_num_queries(PAID_SOLO_JOIN_QUERIES + 1 + 3 * guests):
        response = join(client, stream.pk)
    assert_envelope(response, 200)
    assert CreditTransaction.objects.filter(kind=TransactionKind.STREAM_REVENUE).count() == (
        1 + guests
    )

    with django_assert_num_queries(REJOIN_QUERIES):
        response = join(client, stream.pk)
    assert_envelope(response, 200)


def _first_join_loses_the_race(monkeypatch, stream, user):
    """The user's first join reads "not joined yet" while their other first join
    has already written the row (as two concurrent first joins do)."""
    from livestreams.services import audience

    Participant.objects.create(live_stream=stream, user=user)
    read = audience.snapshot_for_caller
    calls = []

    def stale_once(stream_id, caller):
        snapshot, flags = read(stream_id, caller)
        calls.append(flags.joined)
        return snapshot, (replace(flags, joined=False) if len(calls) == 1 else flags)

    monkeypatch.setattr(audience, "snapshot_for_caller", stale_once)
    return calls


def _assert_retried_as_a_rejoin(calls, result, stream, user):
    assert calls == [True, True]  # read stale once, then again
    assert result.caller.role == Role.AUDIENCE
    participant = Participant.objects.get(live_stream=stream, user=user)
    assert (participant.is_present, participant.join_count) == (True, 2)


@pytest.mark.django_db(transaction=True)
def test_a_first_join_that_loses_the_race_is_retried_as_a_rejoin(monkeypatch):
    """The losing INSERT (committed on its own, as in a request) fails on the
    unique row, and the join is retried."""
    stream, user = active_stream(), UserFactory()
    calls = _first_join_loses_the_race(monkeypatch, stream, user)

    result = livestream_join_as_audience(user=user, live_stream_id=stream.pk)

    _assert_retried_as_a_rejoin(calls, result, stream, user)


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_lost_race_leaves_it_usable(monkeypatch):
    """Inside a caller's transaction a savepoint takes the failed INSERT back, so
    the retry (and the caller) can go on using the transaction."""
    stream, user = active_stream(), UserFactory()
    calls = _first_join_loses_the_race(monkeypatch, stream, user)

    with transaction.atomic():
        result = livestream_join_as_audience(user=user, live_stream_id=stream.pk)
        assert Participant.objects.filter(live_stream=stream).count() == 1

    _assert_retried_as_a_rejoin(calls, result, stream, user)
