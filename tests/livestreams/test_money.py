"""Money must be exact (spec §4, issue 3): funding, refunds, replay rentals and
paid joins end to end through the API. After every scenario the ledger
invariant is checked for every user (`assert_balances_add_up`)."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus, User
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    BanAction,
    Contribution,
    ContributionStatus,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
    ReplayAccess,
)
from tests.api import OBJECT_ID_RE, TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory
from tests.helpers import assert_balances_add_up, balance_of, grant

JOIN_URL = "/api/v1/live-stream/join"
RECORDING_URL = "https://cdn.example.com/recordings/replay.mp4"
D = Decimal


def fund_url(stream) -> str:
    return f"/api/v1/live-stream/{stream.pk}/fund"


def rent_url(stream) -> str:
    return f"/api/v1/live-stream/{stream.pk}/replay-rentals"


def fund(client, stream, amount):
    return client.post(fund_url(stream), {"amount": amount}, format="json")


def rent(client, stream):
    return client.post(rent_url(stream), format="json")


def join(client, stream):
    return client.post(JOIN_URL, {"liveStreamId": stream.pk}, format="json")


def scheduled_stream(*, funding_goal="100", **kwargs) -> LiveStream:
    start = timezone.now() + timedelta(hours=2)
    return LiveStreamFactory(
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=start,
        planned_end_date=start + timedelta(hours=1),
        funding_goal=D(funding_goal) if funding_goal is not None else None,
        **kwargs,
    )


def with_guests(stream, guests: int):
    return [GuestFactory(live_stream=stream).user for _ in range(guests)]


def replay_stream(*, price="9.99", guests: int = 0, **kwargs) -> LiveStream:
    """An ended, recorded stream whose replay is on the creator's profile."""
    now = timezone.now()
    fields = {
        "status": LiveStreamStatus.ENDED,
        "live_stream_type": LiveStreamType.DUOSELF if guests else LiveStreamType.SOLO,
        "started_at": now - timedelta(hours=2),
        "ended_at": now - timedelta(hours=1),
        "recording": True,
        "recording_url": RECORDING_URL,
        "is_active_replay_on_creator_profile": True,
        "replay_credit_price": D(price) if price is not None else None,
    }
    fields.update(kwargs)
    stream = LiveStreamFactory(**fields)
    with_guests(stream, guests)
    return stream


def paid_stream(*, price="10", guests: int = 0) -> LiveStream:
    stream = LiveStreamFactory(
        status=LiveStreamStatus.ACTIVE,
        live_stream_type=LiveStreamType.DUOSELF if guests else LiveStreamType.SOLO,
        started_at=timezone.now() - timedelta(minutes=5),
        price=D(price) if price is not None else None,
    )
    with_guests(stream, guests)
    return stream


def guest_ids(stream) -> list[str]:
    return list(stream.guest_set.order_by("position").values_list("user_id", flat=True))


def ledger() -> list[tuple]:
    """Every ledger entry, to show that a refused request wrote none."""
    return list(CreditTransaction.objects.order_by("pk").values_list("pk", "status", "amount"))


def entries(user, kind) -> list[CreditTransaction]:
    return list(CreditTransaction.objects.filter(user=user, kind=kind).order_by("created_at"))


def balance_by_id(user_id) -> Decimal:
    return User.objects.values_list("credit_balance", flat=True).get(pk=user_id)


def balances(*users) -> list[Decimal]:
    return [balance_of(u) for u in users]


# --- Funding ----------------------------------------------------------------------


@pytest.mark.django_db
def test_fund_debits_the_caller_and_raises_the_collected_funding(client_for):
    stream = scheduled_stream(funding_goal="50")
    backer = UserFactory(credits="40")
    client = client_for(backer)

    before = timezone.now()
    data = assert_envelope(fund(client, stream, 12.5), 201)
    assert set(data) == {"contribution", "liveStream"}
    contribution = Contribution.objects.get()
    assert data["contribution"] == {
        "id": contribution.pk,
        "liveStreamId": stream.pk,
        "amount": 12.5,
        "status": "completed",
        "createdAt": data["contribution"]["createdAt"],
        "refundedAt": None,
    }
    assert OBJECT_ID_RE.match(contribution.pk)
    assert TIMESTAMP_RE.match(data["contribution"]["createdAt"])
    live = data["liveStream"]
    assert live["id"] == stream.pk
    assert live["status"] == "scheduled"
    assert live["fundingGoal"] == 50
    assert live["collectedFunding"] == 12.5
    assert live["fundingPercentage"] == 25
    assert live["role"] is None

    entry = contribution.transaction
    assert entry.user_id == backer.pk
    assert entry.kind == TransactionKind.STREAM_FUNDING_CONTRIBUTION
    assert entry.status == TransactionStatus.COMPLETED
    assert entry.amount == D("-12.50")
    assert entry.balance_after == D("27.50")
    assert entry.live_stream_id == stream.pk
    assert entry.created_at >= before
    assert contribution.user_id == backer.pk
    assert contribution.amount == D("12.50")
    assert balance_of(backer) == D("27.50")

    # A second contribution adds up; the percentage may pass 100.
    second = assert_envelope(fund(client, stream, 27.5), 201)
    assert second["liveStream"]["collectedFunding"] == 40
    assert second["liveStream"]["fundingPercentage"] == 80
    other = UserFactory(credits="33.33")
    third = assert_envelope(fund(client_for(other), stream, 33.33), 201)
    assert third["liveStream"]["collectedFunding"] == 73.33
    assert third["liveStream"]["fundingPercentage"] == 146.66
    stream.refresh_from_db()
    assert stream.collected_funding == D("73.33")
    assert Contribution.objects.count() == 3
    assert balances(backer, other) == [D("0.00"), D("0.00")]
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_chat_only_ban_does_not_stop_funding(client_for):
    stream = scheduled_stream()
    backer = UserFactory(credits="5")
    LiveStreamBan.objects.create(
        live_stream=stream, user=backer, action_type=BanAction.CHAT_ONLY, created_by=stream.creator
    )
    assert_envelope(fund(client_for(backer), stream, 5), 201)
    assert balance_of(backer) == 0
    assert_balances_add_up()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status",
    [
        LiveStreamStatus.PREPARING,
        LiveStreamStatus.ACTIVE,
        LiveStreamStatus.ENDED,
        LiveStreamStatus.EXPIRED,
        LiveStreamStatus.CANCELLED_BY_HOST,
        LiveStreamStatus.CANCELLED_BY_GUEST,
    ],
)
def test_only_a_scheduled_stream_can_be_funded(client_for, status):
    stream = scheduled_stream()
    LiveStream.objects.filter(pk=stream.pk).update(status=status)
    backer = UserFactory(credits="50")
    before = ledger()
    assert_error(fund(client_for(backer), stream, 10), 409, contains="funding goal")
    assert ledger() == before
    assert Contribution.objects.count() == 0
    assert balance_of(backer) == D("50.00")
    assert LiveStream.objects.get(pk=stream.pk).collected_funding == 0
    assert_balances_add_up()


@pytest.mark.django_db
@pytest.mark.parametrize("goal", [None, "0"])
def test_a_stream_without_a_funding_goal_cannot_be_funded(client_for, goal):
    stream = scheduled_stream(funding_goal=goal)
    backer = UserFactory(credits="50")
    before = ledger()
    assert_error(fund(client_for(backer), stream, 10), 409)
    assert ledger() == before
    assert Contribution.objects.count() == 0
    assert_balances_add_up()


@pytest.mark.django_db
def test_the_creator_cannot_fund_their_own_stream(client_for):
    stream = scheduled_stream()
    grant(stream.creator, "50")
    before = ledger()
    assert_error(fund(client_for(stream.creator), stream, 10), 403)
    assert ledger() == before
    assert Contribution.objects.count() == 0
    assert balance_of(stream.creator) == D("50.00")
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_blocked_user_cannot_fund(client_for):
    stream = scheduled_stream()
    backer = UserFactory(credits="50")
    LiveStreamBan.objects.create(
        live_stream=stream, user=backer, action_type=BanAction.BLOCK, created_by=stream.creator
    )
    before = ledger()
    assert_error(fund(client_for(backer), stream, 10), 403, contains="banned")
    assert ledger() == before
    assert Contribution.objects.count() == 0
    assert balance_of(backer) == D("50.00")
    assert_balances_add_up()


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [0, -1, "-0.01", 1.234, "1.234", "abc", "", None, True, []])
def test_a_bad_amount_is_a_400_and_writes_nothing(client_for, amount):
    stream = scheduled_stream()
    backer = UserFactory(credits="50")
    before = ledger()
    assert_error(fund(client_for(backer), stream, amount), 400, contains="amount:")
    assert ledger() == before
    assert Contribution.objects.count() == 0
    assert balance_of(backer) == D("50.00")
    assert LiveStream.objects.get(pk=stream.pk).collected_funding == 0
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_missing_amount_is_a_400(client_for):
    stream = scheduled_stream()
    backer = UserFactory()
    response = client_for(backer).post(fund_url(stream), {}, format="json")
    assert_error(response, 400, contains="amount:")
    assert Contribution.objects.count() == 0
    assert_balances_add_up()


@pytest.mark.django_db
def test_funding_beyond_the_balance_is_a_409_and_writes_nothing(client_for):
    stream = scheduled_stream()
    backer = UserFactory(credits="9.99")
    before = ledger()
    assert_error(fund(client_for(backer), stream, 10), 409, contains="Insufficient credits")
    assert ledger() == before
    assert Contribution.objects.count() == 0
    assert balance_of(backer) == D("9.99")
    assert LiveStream.objects.get(pk=stream.pk).collected_funding == 0
    # The exact balance is enough.
    assert_envelope(fund(client_for(backer), stream, 9.99), 201)
    assert balance_of(backer) == 0
    assert_balances_add_up()


@pytest.mark.django_db
def test_funding_needs_a_visible_stream_and_a_caller(api_client, client_for):
    stream = scheduled_stream()
    backer = UserFactory(credits="50")
    assert_error(fund(api_client, stream, 10), 401)
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(fund(client_for(backer), stream, 10), 404)
    missing = LiveStream(pk="0" * 24)
    assert_error(fund(client_for(backer), missing, 10), 404)
    assert_error(client_for(backer).post("/api/v1/live-stream/nope/fund", {"amount": 1}), 400)
    assert Contribution.objects.count() == 0
    assert balance_of(backer) == D("50.00")
    assert_balances_add_up()


# --- Refunds: cancel, expire, delete ----------------------------------------------------


def funded_stream(client_for, **kwargs):
    """A scheduled stream funded by two backers (one of them twice)."""
    stream = scheduled_stream(funding_goal="100", **kwargs)
    first, second = UserFactory(credits="30"), UserFactory(credits="20")
    assert_envelope(fund(client_for(first), stream, 10), 201)
    assert_envelope(fund(client_for(first), stream, 5.25), 201)
    assert_envelope(fund(client_for(second), stream, 7.5), 201)
    stream.refresh_from_db()
    assert stream.collected_funding == D("22.75")
    assert balances(first, second) == [D("14.75"), D("12.50")]
    return stream, first, second


def assert_everything_refunded(stream, first, second):
    stream.refresh_from_db()
    assert stream.collected_funding == 0
    contributions = list(Contribution.objects.filter(live_stream=stream).select_related())
    assert len(contributions) == 3
    for contribution in contributions:
        assert contribution.status == ContributionStatus.REFUNDED
        assert contribution.refunded_at is not None
        original = CreditTransaction.objects.get(pk=contribution.transaction_id)
        assert original.status == TransactionStatus.REFUNDED
        assert original.amount == -contribution.amount
        refund = CreditTransaction.objects.get(pk=contribution.refund_transaction_id)
        assert refund.kind == TransactionKind.STREAM_FUNDING_REFUND
        assert refund.status == TransactionStatus.COMPLETED
        assert refund.amount == contribution.amount
        assert refund.user_id == contribution.user_id
        assert refund.related_id == original.pk
        assert refund.live_stream_id == stream.pk
    assert CreditTransaction.objects.filter(kind=TransactionKind.STREAM_FUNDING_REFUND).count() == 3
    assert balances(first, second) == [D("30.00"), D("20.00")]
    assert_balances_add_up()


@pytest.mark.django_db
def test_cancelling_refunds_every_contribution(client_for):
    stream, first, second = funded_stream(client_for)
    response = client_for(stream.creator).post(f"/api/v1/live-stream/{stream.pk}/cancel")
    data = assert_envelope(response, 200)
    assert data["status"] == "cancelled_by_host"
    assert data["collectedFunding"] == 0
    assert data["fundingPercentage"] == 0
    assert_everything_refunded(stream, first, second)

    # Nothing can be refunded twice, nor funded again.
    assert_error(client_for(stream.creator).post(f"/api/v1/live-stream/{stream.pk}/cancel"), 409)
    assert_error(fund(client_for(first), stream, 1), 409)
    assert_everything_refunded(stream, first, second)
    funded = assert_envelope(client_for(first).get("/api/v1/live-stream/funded"), 200)
    assert funded == []


@pytest.mark.django_db
def test_a_guest_cancelling_refunds_every_contribution(client_for):
    stream, first, second = funded_stream(client_for, live_stream_type=LiveStreamType.DUOSELF)
    (guest,) = with_guests(stream, 1)
    data = assert_envelope(client_for(guest).post(f"/api/v1/live-stream/{stream.pk}/cancel"), 200)
    assert data["status"] == "cancelled_by_guest"
    assert_everything_refunded(stream, first, second)


@pytest.mark.django_db
def test_expiring_refunds_every_contribution_once(client_for):
    stream, first, second = funded_stream(client_for)
    start = timezone.now() - timedelta(hours=3)
    LiveStream.objects.filter(pk=stream.pk).update(
        planned_start_date=start, planned_end_date=start + timedelta(hours=1)
    )
    call_command("expire_streams", stdout=StringIO())
    stream.refresh_from_db()
    assert stream.status == LiveStreamStatus.EXPIRED
    assert_everything_refunded(stream, first, second)
    call_command("expire_streams", stdout=StringIO())
    assert_everything_refunded(stream, first, second)


@pytest.mark.django_db
def test_deleting_a_funded_stream_refunds_every_contribution(client_for):
    stream, first, second = funded_stream(client_for)
    assert_envelope(client_for(stream.creator).delete(f"/api/v1/live-stream/{stream.pk}"), 200)
    assert_everything_refunded(stream, first, second)


@pytest.mark.django_db
def test_refunds_only_touch_their_own_stream(client_for):
    stream, first, second = funded_stream(client_for)
    other = scheduled_stream()
    grant(first, "4")
    assert_envelope(fund(client_for(first), other, 4), 201)
    assert_envelope(client_for(stream.creator).post(f"/api/v1/live-stream/{stream.pk}/cancel"), 200)
    assert balances(first, second) == [D("30.00"), D("20.00")]
    other.refresh_from_db()
    assert other.collected_funding == D("4.00")
    assert Contribution.objects.get(live_stream=other).status == ContributionStatus.COMPLETED
    assert_balances_add_up()


# --- Replay rentals -----------------------------------------------------------------


def assert_pending_revenue(charge, expected: dict[str, Decimal], *, until):
    """The charge's revenue entries: pending until the rental ends, one per
    recipient with the expected amount, and nothing in their balance yet."""
    revenue = CreditTransaction.objects.filter(related=charge, kind=TransactionKind.REPLAY_REVENUE)
    got = {e.user_id: e.amount for e in revenue}
    assert got == expected
    for entry in revenue:
        assert entry.status == TransactionStatus.PENDING
        assert entry.available_at == until
        assert entry.balance_after is None
        assert entry.live_stream_id == charge.live_stream_id
    assert sum(expected.values(), D("0")) <= -charge.amount


def settle_all_due():
    CreditTransaction.objects.filter(status=TransactionStatus.PENDING).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )
    call_command("settle_replay_revenue", stdout=StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("price", "guests", "creator_share", "guest_share"),
    [
        ("9.99", 0, "7.99", None),  # 7.992 rounds down
        ("10", 0, "8.00", None),
        ("9.99", 1, "3.99", "3.99"),  # 3.996 rounds down
        ("9.99", 2, "3.99", "1.99"),  # 1.998 rounds down
        ("1", 2, "0.40", "0.20"),
        ("0.05", 2, "0.02", "0.01"),
    ],
)
def test_renting_charges_once_and_pays_the_split_after_the_window(
    client_for, price, guests, creator_share, guest_share
):
    stream = replay_stream(price=price, guests=guests)
    renter = UserFactory(credits="20")
    before = timezone.now()
    data = assert_envelope(rent(client_for(renter), stream), 200)
    after = timezone.now()

    rental = ReplayAccess.objects.get()
    assert (rental.user_id, rental.live_stream_id, rental.price) == (renter.pk, stream.pk, D(price))
    assert before <= rental.rented_at <= after
    assert rental.expires_at == rental.rented_at + timedelta(hours=24)
    assert data["status"] == "rented"
    assert data["canRent"] is False
    assert data["canViewRecording"] is True
    assert D(str(data["price"])) == D(price)
    assert 86390 <= data["remainingSeconds"] <= 86400

    (charge,) = entries(renter, TransactionKind.REPLAY_RENTAL)
    assert charge.amount == -D(price)
    assert charge.status == TransactionStatus.COMPLETED
    assert charge.live_stream_id == stream.pk
    assert balance_of(renter) == D("20") - D(price)
    expected = {stream.creator_id: D(creator_share)}
    expected.update(dict.fromkeys(guest_ids(stream), D(guest_share or "0")))
    assert_pending_revenue(charge, expected, until=rental.expires_at)
    recipients = [stream.creator_id, *guest_ids(stream)]
    assert [balance_by_id(pk) for pk in recipients] == [0] * len(recipients)
    assert_balances_add_up()

    settle_all_due()
    assert balance_of(stream.creator) == D(creator_share)
    for guest in guest_ids(stream):
        assert balance_by_id(guest) == D(guest_share)
    settled = CreditTransaction.objects.filter(related=charge)
    assert {e.status for e in settled} == {TransactionStatus.COMPLETED}
    settle_all_due()  # paid once
    assert balance_of(stream.creator) == D(creator_share)
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_share_that_rounds_to_nothing_is_not_written(client_for):
    stream = replay_stream(price="0.01", guests=2)
    renter = UserFactory(credits="1")
    assert_envelope(rent(client_for(renter), stream), 200)
    (charge,) = entries(renter, TransactionKind.REPLAY_RENTAL)
    assert CreditTransaction.objects.filter(related=charge).count() == 0
    assert balance_of(renter) == D("0.99")
    assert_balances_add_up()


@pytest.mark.django_db
def test_renting_again_while_active_charges_nothing(client_for):
    stream = replay_stream(price="5")
    renter = UserFactory(credits="20")
    client = client_for(renter)
    first = assert_envelope(rent(client, stream), 200)
    before = ledger()
    again = assert_envelope(rent(client, stream), 200)
    assert again["status"] == "rented"
    assert again["rentedAt"] == first["rentedAt"]
    assert again["expiresAt"] == first["expiresAt"]
    assert ledger() == before
    assert balance_of(renter) == D("15.00")
    assert ReplayAccess.objects.count() == 1
    assert_balances_add_up()


@pytest.mark.django_db
def test_an_expired_rental_is_reactivated_with_a_new_charge(client_for):
    stream = replay_stream(price="4.50")
    renter = UserFactory(credits="10")
    client = client_for(renter)
    assert_envelope(rent(client, stream), 200)
    long_ago = timezone.now() - timedelta(days=2)
    ReplayAccess.objects.update(rented_at=long_ago, expires_at=long_ago + timedelta(hours=24))
    status = assert_envelope(client.get(f"/api/v1/live-stream/{stream.pk}/replay-status"), 200)
    assert status["status"] == "expired"
    assert status["canRent"] is True

    data = assert_envelope(rent(client, stream), 200)
    assert data["status"] == "rented"
    rental = ReplayAccess.objects.get()
    assert rental.rented_at > long_ago + timedelta(days=1)
    assert rental.expires_at == rental.rented_at + timedelta(hours=24)
    charges = entries(renter, TransactionKind.REPLAY_RENTAL)
    assert [c.amount for c in charges] == [D("-4.50"), D("-4.50")]
    assert balance_of(renter) == D("1.00")
    assert_pending_revenue(charges[1], {stream.creator_id: D("3.60")}, until=rental.expires_at)
    assert CreditTransaction.objects.filter(kind=TransactionKind.REPLAY_REVENUE).count() == 2

    # Expired again, and now too poor to renew: refused, the old rental stays expired.
    ReplayAccess.objects.update(rented_at=long_ago, expires_at=long_ago + timedelta(hours=24))
    before = ledger()
    assert_error(rent(client, stream), 409, contains="Insufficient credits")
    assert ledger() == before
    assert ReplayAccess.objects.get().expires_at == long_ago + timedelta(hours=24)
    assert_balances_add_up()


@pytest.mark.django_db
def test_renting_beyond_the_balance_is_a_409_with_no_rental_and_no_entry(client_for):
    stream = replay_stream(price="9.99")
    renter = UserFactory(credits="9.98")
    before = ledger()
    assert_error(rent(client_for(renter), stream), 409, contains="Insufficient credits")
    assert ledger() == before
    assert ReplayAccess.objects.count() == 0
    assert balance_of(renter) == D("9.98")
    status = assert_envelope(
        client_for(renter).get(f"/api/v1/live-stream/{stream.pk}/replay-status"), 200
    )
    assert status["status"] == "none"
    assert_balances_add_up()


@pytest.mark.django_db
def test_the_owner_and_the_guests_do_not_rent(client_for):
    stream = replay_stream(price="5", guests=1)
    (guest,) = guest_ids(stream)
    guest_user = User.objects.get(pk=guest)
    for user in (stream.creator, guest_user):
        grant(user, "10")
    before = ledger()
    for user in (stream.creator, guest_user):
        assert_error(rent(client_for(user), stream), 409, contains="watch its replay free")
    assert ledger() == before
    assert ReplayAccess.objects.count() == 0
    assert_balances_add_up()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"status": LiveStreamStatus.ACTIVE},
        {"status": LiveStreamStatus.PREPARING},
        {"status": LiveStreamStatus.SCHEDULED},
        {"status": LiveStreamStatus.EXPIRED},
        {"status": LiveStreamStatus.CANCELLED_BY_HOST},
        {"recording": False},
        {"recording_url": None},
        {"is_active_replay_on_creator_profile": False},
        {"is_active_replay_on_creator_profile": None},
        {"replay_credit_price": D("0")},
        {"replay_credit_price": None},
    ],
    ids=lambda change: "-".join(f"{k}={v}" for k, v in change.items()),
)
def test_a_replay_that_is_not_rentable_is_a_409(client_for, change):
    stream = replay_stream(price="5")
    LiveStream.objects.filter(pk=stream.pk).update(**change)
    renter = UserFactory(credits="10")
    before = ledger()
    assert_error(rent(client_for(renter), stream), 409, contains="cannot be rented")
    assert ledger() == before
    assert ReplayAccess.objects.count() == 0
    assert balance_of(renter) == D("10.00")
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_removed_stream_cannot_be_rented(api_client, client_for):
    stream = replay_stream(price="5")
    renter = UserFactory(credits="10")
    assert_error(rent(api_client, stream), 401)
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    before = ledger()
    assert_error(rent(client_for(renter), stream), 404)
    assert ledger() == before
    assert ReplayAccess.objects.count() == 0
    assert_balances_add_up()


# --- Paid joins ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("price", "guests", "creator_share", "guest_share"),
    [
        ("10", 0, "8.00", None),
        ("9.99", 0, "7.99", None),
        ("9.99", 1, "3.99", "3.99"),
        ("9.99", 2, "3.99", "1.99"),
    ],
)
def test_a_paid_join_charges_once_and_pays_the_split_at_once(
    client_for, price, guests, creator_share, guest_share
):
    stream = paid_stream(price=price, guests=guests)
    viewer = UserFactory(credits="15")
    client = client_for(viewer)
    data = assert_envelope(join(client, stream), 200)
    assert data["liveStream"]["role"] == "audience"
    assert data["liveStream"]["accessType"] == "paid"

    (charge,) = entries(viewer, TransactionKind.STREAM_CHARGE)
    assert charge.amount == -D(price)
    assert charge.status == TransactionStatus.COMPLETED
    assert charge.live_stream_id == stream.pk
    assert charge.balance_after == D("15") - D(price)
    assert Participant.objects.get(live_stream=stream, user=viewer).charge_id == charge.pk
    revenue = CreditTransaction.objects.filter(related=charge)
    expected = {stream.creator_id: D(creator_share)}
    expected.update(dict.fromkeys(guest_ids(stream), D(guest_share or "0")))
    assert {e.user_id: e.amount for e in revenue} == expected
    for entry in revenue:
        assert entry.kind == TransactionKind.STREAM_REVENUE
        assert entry.status == TransactionStatus.COMPLETED  # paid at once
        assert entry.balance_after == entry.amount
    assert balance_of(stream.creator) == D(creator_share)
    assert sum(expected.values(), D("0")) <= D(price)

    # Joining again, even after leaving, never charges again.
    before = ledger()
    client.post("/api/v1/live-stream/leave", {"liveStreamId": stream.pk}, format="json")
    assert_envelope(join(client, stream), 200)
    assert_envelope(join(client, stream), 200)
    assert ledger() == before
    assert balance_of(viewer) == D("15") - D(price)
    assert Participant.objects.get(live_stream=stream, user=viewer).join_count == 3
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_paid_join_beyond_the_balance_is_a_409_and_writes_nothing(client_for):
    stream = paid_stream(price="10")
    viewer = UserFactory(credits="9.99")
    before = ledger()
    assert_error(join(client_for(viewer), stream), 409, contains="Insufficient credits")
    assert ledger() == before
    assert Participant.objects.count() == 0
    assert balances(viewer, stream.creator) == [D("9.99"), D("0.00")]
    assert_balances_add_up()


@pytest.mark.django_db
@pytest.mark.parametrize("price", [None, "0"])
def test_a_free_join_writes_no_entry(client_for, price):
    stream = paid_stream(price=price)
    viewer = UserFactory()
    data = assert_envelope(join(client_for(viewer), stream), 200)
    assert data["liveStream"]["accessType"] == "free"
    assert CreditTransaction.objects.count() == 0
    assert Participant.objects.get().charge_id is None
    assert_balances_add_up()


@pytest.mark.django_db
def test_a_refused_join_is_never_charged(client_for):
    """Banned, or the stream not active: the refusal comes before any charge."""
    blocked_stream = paid_stream(price="5")
    ended_stream = paid_stream(price="5")
    LiveStream.objects.filter(pk=ended_stream.pk).update(status=LiveStreamStatus.ENDED)
    viewer = UserFactory(credits="20")
    LiveStreamBan.objects.create(
        live_stream=blocked_stream,
        user=viewer,
        action_type=BanAction.BLOCK,
        created_by=blocked_stream.creator,
    )
    before = ledger()
    assert_error(join(client_for(viewer), blocked_stream), 403)
    assert_error(join(client_for(viewer), ended_stream), 409)
    assert_error(join(client_for(blocked_stream.creator), blocked_stream), 403)
    assert ledger() == before
    assert Participant.objects.count() == 0
    assert balance_of(viewer) == D("20.00")
    assert_balances_add_up()


# --- Everything together ------------------------------------------------------------


@pytest.mark.django_db
def test_a_user_spending_everywhere_ends_with_a_ledger_that_adds_up(client_for):
    viewer = UserFactory(credits="50")
    client = client_for(viewer)
    live = paid_stream(price="12.34", guests=1)
    replay = replay_stream(price="7.77", guests=2)
    funded = scheduled_stream()

    assert_envelope(join(client, live), 200)
    assert_envelope(rent(client, replay), 200)
    assert_envelope(fund(client, funded, 20), 201)
    assert_error(fund(client, funded, 10), 409)  # 9.89 left
    assert_envelope(fund(client, funded, 9.89), 201)
    assert balance_of(viewer) == 0
    assert_envelope(client_for(funded.creator).post(f"/api/v1/live-stream/{funded.pk}/cancel"), 200)
    assert balance_of(viewer) == D("29.89")
    settle_all_due()

    page = assert_envelope(client.get("/api/v1/users/me/transactions", {"limit": 100}), 200)
    kinds = sorted(e["kind"] for e in page["list"])
    assert kinds == sorted(
        [
            "admin_adjustment",
            "stream_charge",
            "replay_rental",
            "stream_funding_contribution",
            "stream_funding_contribution",
            "stream_funding_refund",
            "stream_funding_refund",
        ]
    )
    # The amounts are sizes; the direction signs them.
    counted = [
        e["amount"] if e["direction"] == "credit" else -e["amount"]
        for e in page["list"]
        if e["status"] in ("completed", "refunded")
    ]
    assert D(str(round(sum(counted), 2))) == D("29.89")
    assert balance_of(live.creator) == D("4.93")  # 12.34 * 0.4 = 4.936
    assert balance_of(replay.creator) == D("3.10")  # 7.77 * 0.4 = 3.108
    assert_balances_add_up()
