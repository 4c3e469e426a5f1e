"""Money around a stream (contract §4): revenue shares of charges, funding
contributions and their refunds, replay rentals. Credits move only through
`accounts.services.credit_post`, in the caller's transaction."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus, User
from accounts.services.credits import credit_post, lock_users
from allmine.core.errors import Conflict, InsufficientPermissions, ValidationFailed
from livestreams.caching import forget_stream
from livestreams.lifecycle import is_fundable, is_rentable
from livestreams.models import (
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    LiveStreamType,
    ReplayAccess,
)
from livestreams.selectors.viewing import prepare_for_viewer
from livestreams.services.access import refuse_blocked, stream_for, validate_price


def revenue_recipients(stream: LiveStream) -> list[tuple[str, Decimal]]:
    """Who earns from a charge on `stream`, and their share of it (spec §4)."""
    if stream.live_stream_type == LiveStreamType.SOLO:
        return [(stream.creator_id, settings.REVENUE_SHARE_SOLO_CREATOR)]
    guest_ids = list(
        Guest.objects.filter(live_stream=stream)
        .order_by("position")
        .values_list("user_id", flat=True)
    )
    if not guest_ids:
        return [(stream.creator_id, settings.REVENUE_SHARE_DUO_CREATOR)]
    each = settings.REVENUE_SHARE_DUO_GUESTS / len(guest_ids)
    return [(stream.creator_id, settings.REVENUE_SHARE_DUO_CREATOR)] + [
        (g, each) for g in guest_ids
    ]


def charge_with_revenue(
    *,
    payer: User,
    stream: LiveStream,
    price: Decimal,
    kinds: tuple[str, str],
    recipients: Iterable[tuple[str, Decimal]],
    pending_until: datetime | None = None,
) -> CreditTransaction:
    """Debit `price` from the payer (409 if they cannot afford it) and credit each
    recipient their share, rounded down to the cent; the platform keeps the rest.
    The shares are `pending` until `pending_until` when it is given."""
    charge_kind, revenue_kind = kinds
    charge = credit_post(user_id=payer.pk, amount=-price, kind=charge_kind, live_stream=stream)
    for user_id, share in recipients:
        amount = (price * share).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        if amount > 0:
            credit_post(
                user_id=user_id,
                amount=amount,
                kind=revenue_kind,
                live_stream=stream,
                related=charge,
                pending_until=pending_until,
            )
    return charge


def refund_contributions(stream: LiveStream) -> int:
    """Give every completed contribution back to its contributor. Returns how many."""
    contributions = list(
        Contribution.objects.select_for_update()
        .select_related("transaction")
        .filter(live_stream=stream, status=ContributionStatus.COMPLETED)
        .order_by("pk")
    )
    if not contributions:
        return 0
    lock_users(c.user_id for c in contributions)
    now = timezone.now()
    for contribution in contributions:
        refund = credit_post(
            user_id=contribution.user_id,
            amount=contribution.amount,
            kind=TransactionKind.STREAM_FUNDING_REFUND,
            live_stream=stream,
            related=contribution.transaction,
            reason="The funded live stream did not take place.",
        )
        contribution.transaction.status = TransactionStatus.REFUNDED
        contribution.transaction.save(update_fields=["status"])
        contribution.status = ContributionStatus.REFUNDED
        contribution.refund_transaction = refund
        contribution.refunded_at = now
        contribution.save(update_fields=["status", "refund_transaction", "refunded_at"])
    LiveStream.objects.filter(pk=stream.pk).update(collected_funding=Decimal("0.00"))
    forget_stream(stream.pk)
    stream.collected_funding = Decimal("0.00")
    return len(contributions)


def livestream_fund(
    *, user: User, live_stream_id: str, amount: Decimal
) -> tuple[Contribution, LiveStream]:
    """A contribution to a scheduled stream's funding goal, debited from the
    caller's credits."""
    now = timezone.now()
    if amount is None or amount <= 0:
        raise ValidationFailed.field("amount", _("Must be greater than zero."))
    validate_price("amount", amount, maximum=settings.LIVESTREAM_MAX_FUNDING_GOAL)
    with transaction.atomic():
        # The stream row first, then the user's: the same order as cancel and expire.
        stream = stream_for(user, live_stream_id, lock=True)
        if stream.creator_id == user.pk:
            raise InsufficientPermissions(_("A creator cannot fund their own live stream."))
        refuse_blocked(stream)
        if not is_fundable(stream):
            raise Conflict(_("Only a scheduled live stream with a funding goal can be funded."))
        entry = credit_post(
            user_id=user.pk,
            amount=-amount,
            kind=TransactionKind.STREAM_FUNDING_CONTRIBUTION,
            live_stream=stream,
        )
        contribution = Contribution.objects.create(
            live_stream=stream, user=user, amount=amount, transaction=entry, created_at=now
        )
        LiveStream.objects.filter(pk=stream.pk).update(
            collected_funding=F("collected_funding") + amount, updated_at=now
        )
        forget_stream(stream.pk)
        stream.refresh_from_db(fields=["collected_funding", "updated_at"])
        return contribution, prepare_for_viewer([stream], user, now)[0]


def replay_rent(*, user: User, live_stream_id: str) -> LiveStream:
    """Rent a replay for 24 h (spec §4). Renting again while the rental is active
    charges nothing; an expired rental is re-activated. Revenue is paid out when
    the window has closed (`settle_replay_revenue`)."""
    now = timezone.now()
    with transaction.atomic():
        stream = stream_for(user, live_stream_id)
        if stream.creator_id == user.pk or stream.viewer_is_guest:
            raise Conflict(_("The creator and the guests of a live stream watch its replay free."))
        if not is_rentable(stream):
            raise Conflict(_("This live stream's replay cannot be rented."))
        lock_users([user.pk])  # one rental decision at a time per user
        rental = (
            ReplayAccess.objects.select_for_update().filter(live_stream=stream, user=user).first()
        )
        if rental is None or rental.expires_at <= now:
            expires = now + timedelta(hours=settings.REPLAY_RENTAL_HOURS)
            assert stream.replay_credit_price is not None  # is_rentable: priced
            charge_with_revenue(
                payer=user,
                stream=stream,
                price=stream.replay_credit_price,
                kinds=(TransactionKind.REPLAY_RENTAL, TransactionKind.REPLAY_REVENUE),
                recipients=revenue_recipients(stream),
                pending_until=expires,
            )
            if rental is None:
                rental = ReplayAccess(live_stream=stream, user=user)
            rental.price = stream.replay_credit_price
            rental.rented_at = now
            rental.expires_at = expires
            rental.save()
        return prepare_for_viewer([stream], user, now)[0]
