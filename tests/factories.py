"""Factories for the rows a test needs (factory_boy).

Money is never made up: a user's credits come through `credits_grant`, and a
contribution or a replay rental is paid through `credit_post` (the ledger), so
that every balance is the sum of its ledger entries after any factory call
(`tests.helpers.assert_balances_add_up`).

At a glance:

    UserFactory(credits="100.00")              a user holding 100 credits (granted)
    UserFactory(moderator=True)                a user with livestreams.moderate_livestream
    UserFactory(superuser=True)                a staff superuser (the admin)
    LiveStreamFactory()                        a solo stream, preparing
    LiveStreamFactory(active=True)             live now, its creator in the channel
    LiveStreamFactory(scheduled=True)          planned in two hours
    LiveStreamFactory(fundable=True)           scheduled, with a funding goal of 100
    LiveStreamFactory(ended=True)              ended an hour ago
    LiveStreamFactory(replay=True)             ended, recorded, its replay rentable
    LiveStreamFactory(cancelled=True)          cancelled by its creator
    ActiveDuoStreamFactory(guests=2)           an active duo stream whose 2 guests joined
    GuestFactory(joined=True)                  an invited guest who joined the channel
    ParticipantFactory(live_stream=s)          an audience member watching s now
    ParticipantFactory(left=True)              ... who has left
    BanFactory(live_stream=s, user=u)          a BLOCK ban in force (by the creator)
    BanFactory(chat_only=True, lifted=True)    a lifted CHAT_ONLY ban
    ContributionFactory(amount="25.00")        a contribution to a fundable stream, paid
    ContributionFactory(refunded=True)         ... and refunded
    ReplayRentalFactory(user=u)                a paid 24 h rental of a rentable replay
"""

from datetime import timedelta
from decimal import Decimal

import factory
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import TransactionKind, TransactionStatus, User
from accounts.services.credits import credit_post
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    AgoraKick,
    AgoraKickReason,
    BanAction,
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
    Recording,
    ReplayAccess,
)
from livestreams.services.money import charge_with_revenue, revenue_recipients
from tests.helpers import balance_of, grant

DEFAULT_PASSWORD = "correct-horse-battery-9"
MODERATE = "livestreams.moderate_livestream"
RECORDING_URL = "https://cdn.example.com/replay.mp4"
S = LiveStreamStatus


def _now():
    return timezone.now()


def grant_credits(user: User, amount) -> None:
    """Give `user` `amount` credits through the ledger (nothing for 0)."""
    if Decimal(str(amount)):
        grant(user, amount)
    user.credit_balance = balance_of(user)


def give_permissions(user: User, *perms: str) -> None:
    """Give `user` each "app_label.codename" permission directly."""
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


# --- People ---------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    name = factory.Faker("first_name")
    surname = factory.Faker("last_name")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def permissions(user, create, extracted, **kwargs):
        """`permissions=["app_label.codename", ...]`, given to the user directly."""
        give_permissions(user, *(extracted or ()))

    @factory.post_generation
    def moderator(user, create, extracted, **kwargs):
        """`moderator=True`: may moderate live streams (the API's moderator)."""
        if extracted:
            give_permissions(user, MODERATE)

    @factory.post_generation
    def credits(user, create, extracted, **kwargs):
        """`credits="100.00"`: granted through the ledger, never written to the balance."""
        if extracted is not None:
            grant_credits(user, extracted)


# --- Streams --------------------------------------------------------------------------


class LiveStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LiveStream

    class Params:
        # Live now: started ten minutes ago, its creator in the channel.
        active = factory.Trait(
            status=S.ACTIVE,
            started_at=factory.LazyFunction(lambda: _now() - timedelta(minutes=10)),
            host_joined_at=factory.SelfAttribute("started_at"),
            host_present=True,
        )
        # Planned in two hours, for an hour.
        scheduled = factory.Trait(
            status=S.SCHEDULED,
            planned_start_date=factory.LazyFunction(lambda: _now() + timedelta(hours=2)),
            planned_end_date=factory.LazyAttribute(
                lambda s: s.planned_start_date + timedelta(hours=1)
            ),
        )
        # Scheduled, with a funding goal: it takes contributions.
        fundable = factory.Trait(scheduled=True, funding_goal=Decimal("100.00"))
        # Ran from two hours ago to one hour ago.
        ended = factory.Trait(
            status=S.ENDED,
            started_at=factory.LazyFunction(lambda: _now() - timedelta(hours=2)),
            host_joined_at=factory.SelfAttribute("started_at"),
            ended_at=factory.LazyAttribute(lambda s: s.started_at + timedelta(hours=1)),
        )
        # Ended and recorded, the replay on the creator's profile at 5 credits.
        replay = factory.Trait(
            ended=True,
            recording=True,
            recording_url=RECORDING_URL,
            is_active_replay_on_creator_profile=True,
            replay_credit_price=Decimal("5.00"),
        )
        # Scheduled, then cancelled by its creator.
        cancelled = factory.Trait(scheduled=True, status=S.CANCELLED_BY_HOST)

    title = factory.Sequence(lambda n: f"Stream {n}")
    live_stream_type = LiveStreamType.SOLO
    channel_name = factory.Sequence(lambda n: f"stream-{n}-{n % 65536:04x}")
    creator = factory.SubFactory(UserFactory)
    status = S.PREPARING


class GuestFactory(factory.django.DjangoModelFactory):
    """An invited guest; `joined=True` for one who has joined the channel."""

    class Meta:
        model = Guest

    class Params:
        joined = factory.Trait(
            has_joined=True,
            uid=factory.SelfAttribute("user.agora_uid"),
            joined_at=factory.LazyFunction(_now),
        )

    live_stream = factory.SubFactory(LiveStreamFactory, live_stream_type=LiveStreamType.DUOSELF)
    user = factory.SubFactory(UserFactory)
    position = factory.Sequence(lambda n: n)


class ActiveDuoStreamFactory(LiveStreamFactory):
    """A duo stream live now: its creator and its invited guests (one unless
    `guests=N`, or `guests=[users]`) have joined the channel."""

    class Meta:
        model = LiveStream
        skip_postgeneration_save = True

    active = True
    live_stream_type = LiveStreamType.DUOSELF

    @factory.post_generation
    def guests(stream, create, extracted, **kwargs):
        people = extracted if extracted is not None else 1
        if isinstance(people, int):
            people = [UserFactory() for _ in range(people)]
        for position, user in enumerate(people):
            GuestFactory(live_stream=stream, user=user, position=position, joined=True)


# --- The audience and bans ----------------------------------------------------------------


class ParticipantFactory(factory.django.DjangoModelFactory):
    """An audience member present in a stream; `left=True` for one who has left."""

    class Meta:
        model = Participant

    class Params:
        left = factory.Trait(
            is_present=False, left_at=factory.LazyAttribute(lambda p: p.last_joined_at)
        )

    live_stream = factory.SubFactory(LiveStreamFactory, active=True)
    user = factory.SubFactory(UserFactory)
    first_joined_at = factory.LazyFunction(_now)
    last_joined_at = factory.SelfAttribute("first_joined_at")


class BanFactory(factory.django.DjangoModelFactory):
    """A BLOCK ban in force, made by the stream's creator; traits `chat_only` and
    `lifted` (by whoever made it)."""

    class Meta:
        model = LiveStreamBan

    class Params:
        chat_only = factory.Trait(action_type=BanAction.CHAT_ONLY)
        lifted = factory.Trait(
            lifted_at=factory.LazyFunction(_now), lifted_by=factory.SelfAttribute("created_by")
        )

    live_stream = factory.SubFactory(LiveStreamFactory, active=True)
    user = factory.SubFactory(UserFactory)
    action_type = BanAction.BLOCK
    created_by = factory.SelfAttribute("live_stream.creator")


# --- Money --------------------------------------------------------------------------------


class ContributionFactory(factory.django.DjangoModelFactory):
    """A contribution to a stream's funding goal, paid through the ledger as
    `livestream_fund` pays it: the contributor is first granted the amount (unless
    `with_credits=False`: then they must hold it), the debit is a ledger entry and
    the stream's collected funding grows. `refunded=True` gives it back as
    `refund_contributions` does (and the collected funding shrinks again)."""

    class Meta:
        model = Contribution

    class Params:
        refunded = factory.Trait(status=ContributionStatus.REFUNDED)

    live_stream = factory.SubFactory(LiveStreamFactory, fundable=True)
    user = factory.SubFactory(UserFactory)
    amount = Decimal("10.00")
    status = ContributionStatus.COMPLETED
    created_at = factory.LazyFunction(_now)
    with_credits = True  # not a column: read (and removed) by _create

    @classmethod
    def _create(
        cls, model_class, *, live_stream, user, amount, status, created_at, with_credits, **kwargs
    ):
        amount = Decimal(str(amount))
        if with_credits:
            grant_credits(user, amount)
        with transaction.atomic():
            entry = credit_post(
                user_id=user.pk,
                amount=-amount,
                kind=TransactionKind.STREAM_FUNDING_CONTRIBUTION,
                live_stream=live_stream,
            )
            contribution = model_class.objects.create(
                live_stream=live_stream,
                user=user,
                amount=amount,
                transaction=entry,
                created_at=created_at,
                **kwargs,
            )
            collected = amount
            if status == ContributionStatus.REFUNDED:
                refund = credit_post(
                    user_id=user.pk,
                    amount=amount,
                    kind=TransactionKind.STREAM_FUNDING_REFUND,
                    live_stream=live_stream,
                    related=entry,
                    reason="The funded live stream did not take place.",
                )
                entry.status = TransactionStatus.REFUNDED
                entry.save(update_fields=["status"])
                contribution.status = ContributionStatus.REFUNDED
                contribution.refund_transaction = refund
                contribution.refunded_at = timezone.now()
                contribution.save(update_fields=["status", "refund_transaction", "refunded_at"])
                collected = Decimal("0")
            if collected:
                LiveStream.objects.filter(pk=live_stream.pk).update(
                    collected_funding=F("collected_funding") + collected
                )
        live_stream.refresh_from_db(fields=["collected_funding"])
        user.refresh_from_db(fields=["credit_balance"])
        return contribution


class ReplayRentalFactory(factory.django.DjangoModelFactory):
    """A 24 h rental of a rentable replay that ends `expires_in` from now (24 h
    unless told), paid as `replay_rent` pays it: the renter is granted the price
    (unless `with_credits=False`), charged through the ledger, and the revenue
    shares are pending until the rental ends. `paid=False` for a bare row (no
    charge, no grant) when a test is about the rental only."""

    class Meta:
        model = ReplayAccess

    class Params:
        expires_in = timedelta(hours=settings.REPLAY_RENTAL_HOURS)

    live_stream = factory.SubFactory(LiveStreamFactory, replay=True)
    user = factory.SubFactory(UserFactory)
    price = factory.LazyAttribute(lambda r: r.live_stream.replay_credit_price or Decimal("1.00"))
    expires_at = factory.LazyAttribute(lambda r: _now() + r.expires_in)
    rented_at = factory.LazyAttribute(
        lambda r: r.expires_at - timedelta(hours=settings.REPLAY_RENTAL_HOURS)
    )
    # Not columns: read (and removed) by _create.
    with_credits = True
    paid = True

    @classmethod
    def _create(cls, model_class, *, live_stream, user, price, with_credits, paid, **kwargs):
        price = Decimal(str(price))
        if paid and price > 0:
            if with_credits:
                grant_credits(user, price)
            with transaction.atomic():
                charge_with_revenue(
                    payer=user,
                    stream=live_stream,
                    price=price,
                    kinds=(TransactionKind.REPLAY_RENTAL, TransactionKind.REPLAY_REVENUE),
                    recipients=revenue_recipients(live_stream),
                    pending_until=kwargs["expires_at"],
                )
            user.refresh_from_db(fields=["credit_balance"])
        return model_class.objects.create(live_stream=live_stream, user=user, price=price, **kwargs)


def agora_kick(stream: LiveStream, **fields) -> AgoraKick:
    """A kicking rule of `stream` (a ban's, for an hour), `fields` on top."""
    values = {
        "live_stream": stream,
        "channel_name": stream.channel_name,
        "uid": 42,
        "reason": AgoraKickReason.BAN,
        "minutes": 60,
        **fields,
    }
    return AgoraKick.objects.create(**values)


def recording(stream: LiveStream, **fields) -> Recording:
    """A cloud recording of `stream`, `fields` on top."""
    return Recording.objects.create(
        **{"live_stream": stream, "channel_name": stream.channel_name, "uid": 7, **fields}
    )
