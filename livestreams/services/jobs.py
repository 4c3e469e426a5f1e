"""What the periodic jobs do: expire streams nobody started, end streams long
overdue, pay the replay revenue whose rental window has closed. The staff
commands (one item at a time, with a progress bar and a dry run) and the
scheduled tasks (`tasks.periodic`, the `*_due` functions) call the same
functions; each item runs in its own transaction and skips a stream locked by a
request, which then decides."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus
from accounts.services.credits import credit_settle
from livestreams.lifecycle import Action, Actor, expirable_filter, overdue_filter, transition_target
from livestreams.models import LiveStream
from livestreams.services.moderation import end_stream, stop_recordings
from livestreams.services.money import refund_contributions
from livestreams.services.reminders import reminders_drop


def livestream_expire(*, live_stream_id: str, now: datetime | None = None) -> bool:
    """Expire one scheduled stream nobody started once its start plus the grace
    period has passed, refunding its funding. False if it no longer qualifies."""
    now = now or timezone.now()
    with transaction.atomic():
        stream = (
            LiveStream.objects.select_for_update(skip_locked=True)
            .filter(expirable_filter(now), pk=live_stream_id)
            .first()
        )
        if stream is None:
            return False
        stream.status = transition_target(Action.EXPIRE, stream.status, Actor.SCHEDULER)
        stream.save(update_fields=["status", "updated_at"])
        refund_contributions(stream)
        reminders_drop(live_stream_id=stream.pk, now=now)
        stop_recordings(stream, now)
    return True


def livestream_end_overdue(*, live_stream_id: str, now: datetime | None = None) -> bool:
    """End one active stream long past its planned end. False if it no longer qualifies."""
    now = now or timezone.now()
    with transaction.atomic():
        stream = (
            LiveStream.objects.select_for_update(skip_locked=True)
            .filter(overdue_filter(now), pk=live_stream_id)
            .first()
        )
        if stream is None:
            return False
        end_stream(stream, now, by=Actor.SCHEDULER)
    return True


def expirable_streams(now: datetime) -> QuerySet[LiveStream]:
    return LiveStream.objects.filter(expirable_filter(now)).order_by("planned_start_date")


def overdue_streams(now: datetime) -> QuerySet[LiveStream]:
    return LiveStream.objects.filter(overdue_filter(now)).order_by("started_at")


def livestreams_expire_due(*, now: datetime | None = None) -> int:
    """Expire every stream that qualifies now; how many were expired."""
    now = now or timezone.now()
    ids = list(expirable_streams(now).values_list("pk", flat=True))
    return sum(livestream_expire(live_stream_id=pk, now=now) for pk in ids)


def livestreams_end_overdue_due(*, now: datetime | None = None) -> int:
    """End every stream long overdue now; how many were ended."""
    now = now or timezone.now()
    ids = list(overdue_streams(now).values_list("pk", flat=True))
    return sum(livestream_end_overdue(live_stream_id=pk, now=now) for pk in ids)


def replay_revenue_due() -> QuerySet[CreditTransaction]:
    """Creators' and guests' shares of replay rentals whose window has closed."""
    return CreditTransaction.objects.filter(
        kind=TransactionKind.REPLAY_REVENUE,
        status=TransactionStatus.PENDING,
        available_at__lte=timezone.now(),
    ).order_by("available_at", "pk")


def replay_revenue_settle(*, entry_id: str) -> Decimal | None:
    """Pay one share (once, however often this runs); the amount paid, or None."""
    entry = credit_settle(entry_id=entry_id)
    return entry.amount if entry is not None else None


def replay_revenue_settle_due() -> tuple[int, Decimal]:
    """Pay every share due now: (how many, how much)."""
    paid, total = 0, Decimal("0.00")
    for pk in list(replay_revenue_due().values_list("pk", flat=True)):
        amount = replay_revenue_settle(entry_id=pk)
        if amount is not None:
            paid, total = paid + 1, total + amount
    return paid, total
