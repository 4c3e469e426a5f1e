"""What the periodic jobs do to one stream: expire it (nobody started it) or end
it (long overdue). The staff commands and the scheduled tasks call these for each
candidate; each runs in its own transaction and skips a stream locked by a
request, which then decides."""

from django.db import transaction
from django.utils import timezone

from livestreams.lifecycle import Action, Actor, expirable_filter, overdue_filter, transition_target
from livestreams.models import LiveStream
from livestreams.services.moderation import end_stream
from livestreams.services.money import refund_contributions
from livestreams.services.reminders import reminders_drop


def livestream_expire(*, live_stream_id: str, now=None) -> bool:
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
    return True


def livestream_end_overdue(*, live_stream_id: str, now=None) -> bool:
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
