"""Presence that cannot drift (issue 11): a viewer whose app died without calling
leave, and of whom no Notification Center event arrives, stops counting once no
join, renewal or event was seen for AGORA_PRESENCE_TIMEOUT; and, with the REST
API, presence follows Agora's channel user lists (the stand-in), read within
Agora's rate limit."""

import io
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from livestreams.agora.presence import ChannelUsers
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import Guest, LiveStream, LiveStreamType, Participant
from livestreams.services.presence import (
    CURSOR_KEY,
    presence_apply_channel,
    presence_expire,
    presence_reconcile,
)
from livestreams.tasks import periodic
from tests.api import assert_envelope
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory
from tests.livestreams import test_agora_events as events
from tests.livestreams.conftest import APP_ID

API = "/api/v1/live-stream"


@pytest.fixture
def stream(db):
    now = timezone.now()
    return LiveStreamFactory(
        status=LiveStreamStatus.ACTIVE, started_at=now, host_joined_at=now, host_present=True
    )


def join(client, stream):
    return assert_envelope(
        client.post(f"{API}/join", {"liveStreamId": stream.pk}, format="json"), 200
    )


def viewer_count(client, stream) -> int:
    return assert_envelope(client.get(f"{API}/{stream.pk}/viewer-count"), 200)["viewerCount"]


def age(user, seconds: float) -> None:
    """Make a viewer's last sign of life `seconds` old (they had joined a minute
    before that)."""
    then = timezone.now() - timedelta(seconds=seconds)
    Participant.objects.filter(user=user).update(
        last_seen_at=then, last_joined_at=then - timedelta(seconds=60)
    )


# --- Expiry without any sign of life ----------------------------------------------------


@pytest.mark.django_db
def test_a_dead_apps_viewer_stops_counting_within_the_configured_time(settings, stream, client_for):
    settings.AGORA_PRESENCE_TIMEOUT = 120
    dead, alive = UserFactory(), UserFactory()
    join(client_for(dead), stream)
    join(client_for(alive), stream)
    reader = client_for(stream.creator)
    assert viewer_count(reader, stream) == 2

    # The dead app's last join was 119 s ago: still within the time, still counting.
    age(dead, 119)
    assert periodic.reconcile_presence.delay().get()["expired"] == 0
    assert viewer_count(reader, stream) == 2

    # 121 s: it no longer counts; the living app renewed its token and still does.
    age(dead, 121)
    age(alive, 121)
    assert_envelope(
        client_for(alive).post(f"{API}/renew-token", {"liveStreamId": stream.pk}, format="json"),
        200,
    )
    assert periodic.reconcile_presence.delay().get()["expired"] == 1

    assert viewer_count(reader, stream) == 1
    gone = Participant.objects.get(user=dead)
    assert gone.is_present is False
    # It left when it was last seen: its watch time stops there.
    assert gone.left_at == gone.last_seen_at
    assert gone.watch_seconds == 60
    assert Participant.objects.get(user=alive).is_present is True


@pytest.mark.django_db
def test_an_agora_event_is_a_sign_of_life(settings, stream, client_for, api_client):
    settings.AGORA_PRESENCE_TIMEOUT = 120
    settings.AGORA_NCS_SECRET = events.SECRET
    viewer = UserFactory()
    join(client_for(viewer), stream)
    age(viewer, 300)

    event = events.notice(events.AUDIENCE_JOINED, stream.channel_name, uid=viewer.agora_uid, seq=1)
    assert events.deliver(api_client, event) == "applied"

    assert presence_expire() == 0
    assert Participant.objects.get(user=viewer).is_present is True


@pytest.mark.django_db
def test_the_staff_command_expires_too(settings, stream, client_for):
    settings.AGORA_PRESENCE_TIMEOUT = 60
    viewer = UserFactory()
    join(client_for(viewer), stream)
    age(viewer, 61)
    out = io.StringIO()

    call_command("reconcile_presence", stdout=out)

    assert "1 viewer(s) expired; the Agora REST API is not configured." in out.getvalue()
    assert Participant.objects.get(user=viewer).is_present is False


# --- Agora's channel user list --------------------------------------------------------------


@pytest.fixture
def watched(agora, stream, client_for):
    """`stream` with two viewers who joined through the API a while ago."""
    viewers = [UserFactory(), UserFactory()]
    for viewer in viewers:
        join(client_for(viewer), stream)
        age(viewer, 600)
    LiveStream.objects.filter(pk=stream.pk).update(
        updated_at=timezone.now() - timedelta(minutes=10)
    )
    return viewers


@pytest.mark.django_db
def test_viewers_agora_lists_are_seen_now_and_those_it_does_not_leave(agora, stream, watched):
    listed, missing = watched
    agora.set_channel(
        stream.channel_name, broadcasters=[stream.creator.agora_uid], audience=[listed.agora_uid]
    )
    before = timezone.now()

    summary = presence_reconcile(pause=False)

    assert (summary.channels, summary.seen, summary.left, summary.failed) == (1, 1, 1, 0)
    (request,) = agora.requests
    assert request.path == f"/dev/v1/channel/user/{APP_ID}/{stream.channel_name}"
    still = Participant.objects.get(user=listed)
    assert still.is_present is True and still.last_seen_at >= before
    gone = Participant.objects.get(user=missing)
    assert gone.is_present is False and gone.left_at == gone.last_seen_at
    assert LiveStream.objects.get(pk=stream.pk).host_present is True


@pytest.mark.django_db
def test_a_viewer_who_joined_moments_ago_is_given_time_to_reach_agora(
    agora, settings, stream, client_for
):
    settings.AGORA_PRESENCE_GRACE = 60
    viewer = UserFactory()
    join(client_for(viewer), stream)  # seen now; not in Agora's list yet
    agora.set_channel(stream.channel_name, broadcasters=[stream.creator.agora_uid])

    presence_reconcile(pause=False)

    assert Participant.objects.get(user=viewer).is_present is True


@pytest.mark.django_db
def test_a_channel_agora_no_longer_has_takes_everyone_out(agora, stream, watched):
    guest = GuestFactory(
        live_stream=stream, has_joined=True, joined_at=timezone.now() - timedelta(minutes=10)
    )
    LiveStream.objects.filter(pk=stream.pk).update(live_stream_type=LiveStreamType.DUOSELF)
    # No channel at the stand-in: Agora answers channel_exist false.

    summary = presence_reconcile(pause=False)

    assert summary.left == 4  # two viewers, the host, the guest
    assert not Participant.objects.filter(is_present=True).exists()
    assert LiveStream.objects.get(pk=stream.pk).host_present is False
    assert Guest.objects.get(pk=guest.pk).has_joined is False


@pytest.mark.django_db
def test_an_incomplete_audience_list_takes_no_viewer_out(agora, stream, watched):
    listed, _missing = watched
    agora.set_channel(
        stream.channel_name,
        broadcasters=[stream.creator.agora_uid],
        audience=[listed.agora_uid],
        audience_total=20_000,  # Agora lists the first 10,000 only
    )

    presence_reconcile(pause=False)

    assert Participant.objects.filter(is_present=True).count() == 2


@pytest.mark.django_db
def test_a_failing_channel_list_changes_nothing(agora, stream, watched):
    agora.answer("channel.users", "error", status=500)

    summary = presence_reconcile(pause=False)

    assert (summary.channels, summary.failed) == (0, 1)
    assert Participant.objects.filter(is_present=True).count() == 2


@pytest.mark.django_db
def test_only_streams_with_someone_present_are_read_in_turns_within_the_rate_limit(
    agora, settings, client_for
):
    settings.AGORA_PRESENCE_QPS = 10
    now = timezone.now()
    live = [
        LiveStreamFactory(status=LiveStreamStatus.ACTIVE, started_at=now, host_present=True)
        for _ in range(3)
    ]
    LiveStreamFactory(status=LiveStreamStatus.ACTIVE, started_at=now)  # nobody present
    LiveStreamFactory(status=LiveStreamStatus.ENDED)
    cache.delete(CURSOR_KEY)  # where earlier runs (other tests) left off

    started = time.monotonic()
    presence_reconcile(limit=2)
    took = time.monotonic() - started
    presence_reconcile(limit=2)

    channels = [r.path.rsplit("/", 1)[-1] for r in agora.requests]
    names = sorted(s.channel_name for s in live)
    by_pk = [s.channel_name for s in sorted(live, key=lambda s: s.pk)]
    assert sorted(set(channels)) == names
    assert channels == [by_pk[0], by_pk[1], by_pk[2], by_pk[0]]  # in turns
    assert took >= 0.1  # two requests, a tenth of a second apart


@pytest.mark.django_db
def test_applying_a_channel_list_costs_the_same_whatever_the_audience(
    stream, django_assert_num_queries
):
    def queries_for(viewers: int) -> None:
        users = [UserFactory() for _ in range(viewers)]
        for user in users:
            Participant.objects.create(live_stream=stream, user=user)
        Participant.objects.filter(live_stream=stream).update(
            last_seen_at=timezone.now() - timedelta(hours=1)
        )
        listed = ChannelUsers(exists=True, audience=frozenset(u.agora_uid for u in users[1:]))
        # In a savepoint (2): the stream, the seen update, the absent viewers (read,
        # saved in bulk), the guests.
        with django_assert_num_queries(7):
            presence_apply_channel(live_stream_id=stream.pk, users=listed, now=timezone.now())
        Participant.objects.all().delete()

    queries_for(2)
    queries_for(30)
