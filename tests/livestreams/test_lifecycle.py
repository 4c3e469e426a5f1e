"""A stream's status through its life (spec §4): every allowed transition, every
refused one, and the removal (soft delete) through DELETE /api/v1/live-stream/{id}."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus, User
from allmine.core.timestamps import format_timestamp
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    LiveStreamType,
    Participant,
)
from livestreams.services.jobs import livestream_expire
from livestreams.services.money import livestream_fund
from tests.api import assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, ParticipantFactory, UserFactory
from tests.helpers import world_snapshot

S = LiveStreamStatus
ALL_STATUSES = list(S)
API = "/api/v1/live-stream"


# --- Helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _private_lock_dir(settings, tmp_path):
    """The staff commands' file locks (SQLite) go to a folder of this test only."""
    settings.VAR_DIR = tmp_path


@pytest.fixture
def moderator(db):
    return UserFactory(moderator=True)


def stream_in(status: str, **fields) -> LiveStream:
    """A duo stream with one invited guest, in `status`, with the dates that status implies."""
    now = timezone.now()
    dates = {
        S.SCHEDULED: {"planned_start_date": now + timedelta(hours=2)},
        S.PREPARING: {},
        S.ACTIVE: {"started_at": now, "host_joined_at": now, "host_present": True},
        S.ENDED: {
            "started_at": now - timedelta(hours=2),
            "host_joined_at": now - timedelta(hours=2),
            "ended_at": now - timedelta(hours=1),
        },
        S.EXPIRED: {"planned_start_date": now - timedelta(days=1)},
        S.CANCELLED_BY_HOST: {"planned_start_date": now + timedelta(days=1)},
        S.CANCELLED_BY_GUEST: {"planned_start_date": now + timedelta(days=1)},
    }[status]
    stream = LiveStreamFactory(
        status=status, live_stream_type=LiveStreamType.DUOSELF, **{**dates, **fields}
    )
    GuestFactory(live_stream=stream)
    return stream


def guest_of(stream) -> User:
    return Guest.objects.filter(live_stream=stream).select_related("user").first().user


def watching(stream, *, minutes_ago: int = 10) -> Participant:
    """An audience member present in `stream` since `minutes_ago`."""
    since = timezone.now() - timedelta(minutes=minutes_ago)
    return ParticipantFactory(live_stream=stream, first_joined_at=since)


def funded(stream, amount=Decimal("25.00")) -> User:
    """A user with 100 credits who funds `stream` with `amount`."""
    funder = UserFactory(credits="100.00")
    livestream_fund(user=funder, live_stream_id=stream.pk, amount=amount)
    return funder


def assert_funding_refunded(stream, funder, amount=Decimal("25.00")) -> None:
    """The contribution came back: balance restored, refund entry written, the
    contribution and its original entry marked refunded, nothing collected."""
    funder.refresh_from_db()
    assert funder.credit_balance == Decimal("100.00")
    contribution = Contribution.objects.select_related("transaction", "refund_transaction").get(
        live_stream=stream, user=funder
    )
    assert contribution.status == ContributionStatus.REFUNDED
    assert contribution.refunded_at is not None
    assert contribution.transaction.status == TransactionStatus.REFUNDED
    assert contribution.transaction.amount == -amount
    refund = contribution.refund_transaction
    assert refund.kind == TransactionKind.STREAM_FUNDING_REFUND
    assert refund.status == TransactionStatus.COMPLETED
    assert refund.amount == amount
    assert refund.related_id == contribution.transaction_id
    assert refund.live_stream_id == stream.pk
    # Exactly one refund, and the balance is the sum of the ledger.
    assert (
        CreditTransaction.objects.filter(
            user=funder, kind=TransactionKind.STREAM_FUNDING_REFUND
        ).count()
        == 1
    )
    ledger = CreditTransaction.objects.filter(
        user=funder, status__in=[TransactionStatus.COMPLETED, TransactionStatus.REFUNDED]
    )
    assert sum(e.amount for e in ledger) == funder.credit_balance
    assert LiveStream.objects.get(pk=stream.pk).collected_funding == Decimal("0.00")


def join_as_creator(client_for, stream, _people):
    return client_for(stream.creator).post(
        f"{API}/join-as-creator", {"liveStreamId": stream.pk}, format="json"
    )


def end_by(who):
    def act(client_for, stream, people):
        return client_for(people[who]).post(f"{API}/{stream.pk}/end")

    return act


def cancel_by(who):
    def act(client_for, stream, people):
        return client_for(people[who]).post(f"{API}/{stream.pk}/cancel")

    return act


# The actions that move a stream through §4, and the statuses each one accepts.
ACTIONS = {
    # Joining again while active is allowed (fresh tokens, nothing changes).
    "join-as-creator": (join_as_creator, {S.SCHEDULED, S.PREPARING, S.ACTIVE}),
    "end by creator": (end_by("creator"), {S.ACTIVE}),
    "end by moderator": (end_by("moderator"), {S.ACTIVE}),
    "cancel by creator": (cancel_by("creator"), {S.SCHEDULED, S.PREPARING}),
    "cancel by guest": (cancel_by("guest"), {S.SCHEDULED, S.PREPARING}),
    "cancel by moderator": (cancel_by("moderator"), {S.SCHEDULED, S.PREPARING}),
}
REFUSED = [
    (action, status)
    for action, (_act, allowed) in ACTIONS.items()
    for status in ALL_STATUSES
    if status not in allowed
]


# --- Allowed transitions ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.SCHEDULED, S.PREPARING])
def test_the_creator_joining_makes_the_stream_active(client_for, status):
    stream = stream_in(status)
    before = timezone.now()
    data = assert_envelope(join_as_creator(client_for, stream, {}), 200)
    after = timezone.now()

    stream.refresh_from_db()
    assert stream.status == S.ACTIVE
    assert before <= stream.started_at <= after
    assert stream.ended_at is None
    assert data["liveStream"]["status"] == "active"
    assert data["liveStream"]["startedAt"] == format_timestamp(stream.started_at)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["creator", "moderator"])
def test_the_creator_or_a_moderator_ends_an_active_stream(client_for, moderator, who):
    stream = stream_in(S.ACTIVE)
    guest = guest_of(stream)
    Guest.objects.filter(live_stream=stream).update(
        has_joined=True, uid=guest.agora_uid, joined_at=timezone.now()
    )
    viewer = watching(stream, minutes_ago=10)
    gone = watching(stream, minutes_ago=30)
    Participant.objects.filter(pk=gone.pk).update(is_present=False, watch_seconds=42)
    people = {"creator": stream.creator, "moderator": moderator}

    before = timezone.now()
    data = assert_envelope(end_by(who)(client_for, stream, people), 200)
    after = timezone.now()

    stream.refresh_from_db()
    assert stream.status == S.ENDED
    assert before <= stream.ended_at <= after
    assert stream.host_present is False
    assert data["status"] == "ended"
    assert data["endedAt"] == format_timestamp(stream.ended_at)
    assert data["role"] == ("host" if who == "creator" else None)
    # The guest left the broadcast; the audience left with its watch time kept.
    assert [b["hasJoined"] for b in data["broadcasters"]] == [False, False]
    viewer.refresh_from_db()
    assert viewer.is_present is False
    assert viewer.left_at == stream.ended_at
    assert 600 <= viewer.watch_seconds <= 600 + (after - before).total_seconds() + 1
    # Someone who had already left is not counted again.
    gone.refresh_from_db()
    assert (gone.watch_seconds, gone.left_at) == (42, None)
    count = client_for(viewer.user).get(f"{API}/{stream.pk}/viewer-count")
    assert assert_envelope(count, 200) == {"streamId": stream.pk, "viewerCount": 0}


@pytest.mark.django_db
def test_a_scheduled_stream_nobody_started_expires_after_start_plus_grace(settings):
    grace = settings.LIVESTREAM_START_GRACE_MINUTES
    now = timezone.now()
    late = stream_in(
        S.SCHEDULED,
        planned_start_date=now - timedelta(minutes=grace + 1),
        funding_goal=Decimal("100.00"),
    )
    funder = funded(late)
    within_grace = stream_in(S.SCHEDULED, planned_start_date=now - timedelta(minutes=grace - 1))
    upcoming = stream_in(S.SCHEDULED)

    out = io.StringIO()
    call_command("expire_streams", stdout=out)

    assert "Expired 1 stream(s)" in out.getvalue()
    late.refresh_from_db()
    assert late.status == S.EXPIRED
    assert late.ended_at is None and late.started_at is None
    assert_funding_refunded(late, funder)
    for stream in (within_grace, upcoming):
        stream.refresh_from_db()
        assert stream.status == S.SCHEDULED


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.SCHEDULED, S.PREPARING])
@pytest.mark.parametrize(
    ("who", "result"),
    [
        ("creator", S.CANCELLED_BY_HOST),
        ("moderator", S.CANCELLED_BY_HOST),  # a moderator acts for the host
        ("guest", S.CANCELLED_BY_GUEST),
    ],
)
def test_cancelling_before_the_start(client_for, moderator, status, who, result):
    stream = stream_in(status)
    people = {"creator": stream.creator, "moderator": moderator, "guest": guest_of(stream)}

    data = assert_envelope(cancel_by(who)(client_for, stream, people), 200)

    stream.refresh_from_db()
    assert stream.status == result
    assert data["status"] == result
    assert stream.started_at is None and stream.ended_at is None
    assert stream.deleted_at is None  # cancelled, not removed


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["creator", "guest"])
def test_cancelling_a_funded_stream_refunds_every_contribution(client_for, who):
    stream = stream_in(S.SCHEDULED, funding_goal=Decimal("100.00"))
    first = funded(stream, Decimal("25.00"))
    second = funded(stream, Decimal("30.50"))
    assert LiveStream.objects.get(pk=stream.pk).collected_funding == Decimal("55.50")
    people = {"creator": stream.creator, "guest": guest_of(stream)}

    data = assert_envelope(cancel_by(who)(client_for, stream, people), 200)

    assert data["collectedFunding"] == 0
    assert data["fundingPercentage"] == 0
    assert_funding_refunded(stream, first, Decimal("25.00"))
    assert_funding_refunded(stream, second, Decimal("30.50"))


# --- Refused transitions ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "status"), REFUSED, ids=[f"{a}-{s}" for a, s in REFUSED])
def test_a_transition_the_status_does_not_allow_is_refused(client_for, moderator, action, status):
    stream = stream_in(status, funding_goal=Decimal("100.00"))
    watching(stream)
    people = {"creator": stream.creator, "moderator": moderator, "guest": guest_of(stream)}
    before = world_snapshot()

    act, _allowed = ACTIONS[action]
    assert_error(act(client_for, stream, people), 409, contains=status.value)

    assert world_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s != S.SCHEDULED])
def test_expiry_leaves_every_other_status_alone(status):
    long_ago = timezone.now() - timedelta(days=2)
    stream = stream_in(status, planned_start_date=long_ago)
    before = world_snapshot()

    out = io.StringIO()
    call_command("expire_streams", stdout=out)

    assert "Expired 0 stream(s)" in out.getvalue()
    assert world_snapshot() == before
    assert livestream_expire(live_stream_id=stream.pk) is False
    assert world_snapshot() == before


@pytest.mark.django_db
def test_an_ended_stream_never_starts_again(client_for):
    stream = stream_in(S.PREPARING)
    client = client_for(stream.creator)
    assert_envelope(join_as_creator(client_for, stream, {}), 200)
    assert_envelope(client.post(f"{API}/{stream.pk}/end"), 200)
    ended = world_snapshot()

    assert_error(join_as_creator(client_for, stream, {}), 409, contains="ended")
    assert_error(client.post(f"{API}/{stream.pk}/end"), 409, contains="ended")
    assert_error(client.post(f"{API}/{stream.pk}/cancel"), 409, contains="ended")
    assert world_snapshot() == ended


# --- DELETE: the soft delete ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s != S.ACTIVE])
def test_the_creator_deletes_a_stream_that_is_not_active(client_for, status):
    stream = stream_in(status)
    before = timezone.now()
    response = client_for(stream.creator).delete(f"{API}/{stream.pk}")
    after = timezone.now()

    assert assert_envelope(response, 200) == {"id": stream.pk, "deleted": True}
    stream.refresh_from_db()  # the row stays for the back office
    assert before <= stream.deleted_at <= after
    assert stream.deleted_by_id == stream.creator_id
    assert stream.deletion_reason == "Deleted by its creator."
    assert stream.status == status  # removal is not a status


@pytest.mark.django_db
def test_a_removed_stream_is_not_found_anywhere_in_the_api(client_for, moderator):
    stream = stream_in(S.SCHEDULED, funding_goal=Decimal("100.00"))
    stream_id = stream.pk
    guest = guest_of(stream)
    creator = stream.creator
    stranger = UserFactory(credits="10.00")
    assert_envelope(client_for(creator).delete(f"{API}/{stream_id}"), 200)
    removed = world_snapshot()

    for user in (creator, guest, stranger, moderator):
        client = client_for(user)
        assert_error(client.get(f"{API}/{stream_id}"), 404)
        listed = assert_envelope(client.get(API), 200)
        assert stream_id not in [s["id"] for s in listed]
        listed = assert_envelope(client.get(API, {"creator": creator.pk}), 200)
        assert listed == []
        assert_error(client.get(f"{API}/{stream_id}/viewer-count"), 404)
        assert_error(client.get(f"{API}/{stream_id}/replay-status"), 404)
        assert_error(client.post(f"{API}/{stream_id}/end"), 404)
        assert_error(client.post(f"{API}/{stream_id}/cancel"), 404)
        assert_error(client.delete(f"{API}/{stream_id}"), 404)
        body = {"liveStreamId": stream_id}
        assert_error(client.post(f"{API}/join", body, format="json"), 404)
        assert_error(client.post(f"{API}/renew-token", body, format="json"), 404)
        assert_error(client.post(f"{API}/leave", body, format="json"), 404)
    assert_error(
        client_for(stranger).post(f"{API}/{stream_id}/fund", {"amount": 5}, format="json"), 404
    )
    assert_error(
        client_for(guest).post(f"{API}/join-as-guest", {"liveStreamId": stream_id}, format="json"),
        404,
    )
    # §3: the creator's own join-as-creator on a stream they deleted is a 409 saying so.
    assert_error(
        join_as_creator(client_for, stream, {}), 409, contains="You deleted this live stream."
    )
    assert world_snapshot() == removed


@pytest.mark.django_db
def test_the_creator_cannot_delete_an_active_stream(client_for):
    stream = stream_in(S.ACTIVE)
    watching(stream)
    before = world_snapshot()

    response = client_for(stream.creator).delete(f"{API}/{stream.pk}")

    assert_error(response, 409, contains="end it first")
    assert world_snapshot() == before


@pytest.mark.django_db
def test_a_moderator_removing_an_active_stream_ends_it_first(client_for, moderator):
    stream = stream_in(S.ACTIVE)
    Guest.objects.filter(live_stream=stream).update(has_joined=True)
    viewer = watching(stream, minutes_ago=5)

    before = timezone.now()
    response = client_for(moderator).delete(f"{API}/{stream.pk}")
    after = timezone.now()

    assert assert_envelope(response, 200) == {"id": stream.pk, "deleted": True}
    stream.refresh_from_db()
    assert stream.status == S.ENDED
    assert before <= stream.ended_at <= after
    assert stream.host_present is False
    assert stream.deleted_at == stream.ended_at
    assert stream.deleted_by_id == moderator.pk
    assert stream.deletion_reason == "Removed by a moderator."
    viewer.refresh_from_db()
    assert viewer.is_present is False
    assert viewer.watch_seconds >= 300
    assert not Guest.objects.filter(live_stream=stream, has_joined=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.SCHEDULED, S.PREPARING])
@pytest.mark.parametrize("who", ["creator", "moderator"])
def test_removing_a_stream_before_it_started_refunds_its_funding(
    client_for, moderator, status, who
):
    stream = stream_in(S.SCHEDULED, funding_goal=Decimal("100.00"))
    funder = funded(stream)  # only a scheduled stream takes funding
    LiveStream.objects.filter(pk=stream.pk).update(status=status)
    actor = stream.creator if who == "creator" else moderator

    assert_envelope(client_for(actor).delete(f"{API}/{stream.pk}"), 200)

    stream.refresh_from_db()
    assert stream.deleted_by_id == actor.pk
    assert stream.status == status
    assert_funding_refunded(stream, funder)


@pytest.mark.django_db
def test_removing_an_ended_stream_refunds_nothing_again(client_for):
    """Funding of a stream that took place is the creator's: removing it later
    pays nothing back (and cancelling twice could not refund twice)."""
    stream = stream_in(S.SCHEDULED, funding_goal=Decimal("100.00"))
    funder = funded(stream)
    LiveStream.objects.filter(pk=stream.pk).update(status=S.ENDED)
    ledger_before = CreditTransaction.objects.count()

    assert_envelope(client_for(stream.creator).delete(f"{API}/{stream.pk}"), 200)

    funder.refresh_from_db()
    assert funder.credit_balance == Decimal("75.00")
    assert CreditTransaction.objects.count() == ledger_before
    assert Contribution.objects.get(live_stream=stream).status == ContributionStatus.COMPLETED
