"""The factories make what they say, and never money the ledger does not show."""

from decimal import Decimal

import pytest

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus, User
from livestreams.lifecycle import (
    LiveStreamStatus,
    Role,
    is_fundable,
    is_rentable,
    may_be_in_channel,
)
from livestreams.models import (
    BanAction,
    ContributionStatus,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
)
from tests.factories import (
    ActiveDuoStreamFactory,
    BanFactory,
    ContributionFactory,
    GuestFactory,
    LiveStreamFactory,
    ParticipantFactory,
    ReplayRentalFactory,
    UserFactory,
)
from tests.helpers import assert_balances_add_up, balance_of

pytestmark = pytest.mark.django_db
S = LiveStreamStatus


def test_a_user_with_credits_got_them_through_the_ledger():
    user = UserFactory(credits="120.50")

    assert user.credit_balance == balance_of(user) == Decimal("120.50")
    entry = CreditTransaction.objects.get(user=user)
    assert (entry.kind, entry.amount, entry.status) == (
        TransactionKind.ADMIN_ADJUSTMENT,
        Decimal("120.50"),
        TransactionStatus.COMPLETED,
    )
    assert UserFactory(credits=0).credit_balance == 0
    assert CreditTransaction.objects.count() == 1
    assert_balances_add_up()


def test_a_moderator_and_a_superuser():
    moderator = User.objects.get(pk=UserFactory(moderator=True).pk)
    root = UserFactory(superuser=True)

    assert moderator.has_perm("livestreams.moderate_livestream")
    assert not moderator.is_staff
    assert (root.is_staff, root.is_superuser) == (True, True)
    assert not User.objects.get(pk=UserFactory().pk).has_perm("livestreams.moderate_livestream")


def test_streams_in_each_state():
    active = LiveStreamFactory(active=True)
    fundable = LiveStreamFactory(fundable=True)
    replay = LiveStreamFactory(replay=True)
    cancelled = LiveStreamFactory(cancelled=True)

    assert (active.status, active.host_present) == (S.ACTIVE, True)
    assert active.started_at == active.host_joined_at
    assert fundable.status == S.SCHEDULED and is_fundable(fundable)
    assert fundable.planned_end_date > fundable.planned_start_date
    assert replay.status == S.ENDED and is_rentable(replay)
    assert replay.started_at < replay.ended_at
    assert cancelled.status == S.CANCELLED_BY_HOST
    assert LiveStream.objects.count() == 4  # each checked by the database's constraints


def test_an_active_duo_stream_with_its_guests_in_the_channel():
    stream = ActiveDuoStreamFactory(guests=2)

    guests = list(stream.guest_set.order_by("position"))
    assert stream.status == S.ACTIVE and stream.host_present
    assert [g.position for g in guests] == [0, 1]
    assert all(g.has_joined and g.joined_at and g.uid == g.user.agora_uid for g in guests)
    assert may_be_in_channel(Role.GUEST, stream.status)
    alice = UserFactory(username="alice")
    assert [g.user for g in ActiveDuoStreamFactory(guests=[alice]).guest_set.all()] == [alice]
    assert not GuestFactory().has_joined


def test_participants_present_or_not():
    watching = ParticipantFactory()
    gone = ParticipantFactory(left=True)

    assert watching.is_present and watching.left_at is None
    assert watching.live_stream.status == S.ACTIVE
    assert not gone.is_present and gone.left_at >= gone.last_joined_at


def test_bans_in_force_or_lifted():
    block = BanFactory()
    lifted_chat = BanFactory(chat_only=True, lifted=True)

    assert (block.action_type, block.created_by) == (BanAction.BLOCK, block.live_stream.creator)
    assert lifted_chat.action_type == BanAction.CHAT_ONLY
    assert lifted_chat.lifted_by == lifted_chat.created_by
    assert list(LiveStreamBan.objects.in_force()) == [block]


def test_contributions_are_paid_and_refunded_through_the_ledger():
    stream = LiveStreamFactory(fundable=True)
    paid = ContributionFactory(live_stream=stream, amount="25.00")
    refunded = ContributionFactory(live_stream=stream, amount="7.50", refunded=True)
    rich = UserFactory(credits="50")
    ContributionFactory(live_stream=stream, user=rich, amount="20", with_credits=False)

    stream.refresh_from_db()
    assert stream.collected_funding == Decimal("45.00")
    assert paid.status == ContributionStatus.COMPLETED and paid.transaction.amount == -25
    assert paid.user.credit_balance == 0
    assert refunded.status == ContributionStatus.REFUNDED
    assert refunded.transaction.status == TransactionStatus.REFUNDED
    assert refunded.refund_transaction.amount == Decimal("7.50")
    assert balance_of(refunded.user) == Decimal("7.50")
    assert balance_of(rich) == Decimal("30.00")
    assert_balances_add_up()


def test_a_replay_rental_is_charged_with_pending_revenue():
    stream = LiveStreamFactory(replay=True, live_stream_type=LiveStreamType.DUOSELF)
    GuestFactory(live_stream=stream)
    rental = ReplayRentalFactory(live_stream=stream)

    assert rental.price == stream.replay_credit_price
    assert rental.user.credit_balance == 0
    assert rental.expires_at > rental.rented_at
    charge = CreditTransaction.objects.get(kind=TransactionKind.REPLAY_RENTAL)
    assert charge.amount == -stream.replay_credit_price
    revenue = CreditTransaction.objects.filter(kind=TransactionKind.REPLAY_REVENUE)
    assert {e.status for e in revenue} == {TransactionStatus.PENDING}
    assert {e.available_at for e in revenue} == {rental.expires_at}
    bare = ReplayRentalFactory(live_stream=stream, paid=False)
    assert not CreditTransaction.objects.filter(user=bare.user).exists()
    assert_balances_add_up()
