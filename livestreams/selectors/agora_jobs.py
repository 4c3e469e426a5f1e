"""Which of our Agora jobs (kicks, recordings) need a person's attention: the
back office's "needs attention" filters and the dashboard's panel read the same
definitions here."""

from datetime import datetime, timedelta

from django.db.models import Q

from livestreams.models import ACTIVE_RECORDING_STATUSES, AgoraKick, Recording, RecordingStatus
from livestreams.services.agora_kicks import MAX_ATTEMPTS as KICK_MAX_ATTEMPTS
from livestreams.services.agora_kicks import WORKABLE

# A job whose next attempt is this far past is stuck: no worker is taking it.
STUCK_AFTER = timedelta(minutes=10)


def kick_attention(kind: str, now: datetime) -> Q:
    """Kicks `failing` (being retried after an error), `given_up`, or `stuck`."""
    if kind == "failing":
        return Q(status__in=WORKABLE, attempts__lt=KICK_MAX_ATTEMPTS) & ~Q(last_error="")
    if kind == "given_up":
        return Q(status__in=WORKABLE, attempts__gte=KICK_MAX_ATTEMPTS)
    if kind == "stuck":
        return Q(
            status__in=WORKABLE,
            attempts__lt=KICK_MAX_ATTEMPTS,
            next_attempt_at__lt=now - STUCK_AFTER,
        )
    raise ValueError(kind)


def recording_attention(kind: str, now: datetime) -> Q:
    """Recordings `failed`, `retrying` after an error, or `stuck`."""
    if kind == "failed":
        return Q(status=RecordingStatus.FAILED)
    if kind == "retrying":
        return Q(status__in=ACTIVE_RECORDING_STATUSES) & ~Q(last_error="")
    if kind == "stuck":
        return (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)) & Q(
            status__in=ACTIVE_RECORDING_STATUSES, next_attempt_at__lt=now - STUCK_AFTER
        )
    raise ValueError(kind)


KICK_KINDS = ("failing", "given_up", "stuck")
RECORDING_KINDS = ("failed", "retrying", "stuck")


def kicks_needing_attention(now: datetime, limit: int) -> list[AgoraKick]:
    """The latest kicks needing attention of any kind, newest first (one query)."""
    which = Q()
    for kind in KICK_KINDS:
        which |= kick_attention(kind, now)
    return list(
        AgoraKick.objects.filter(which)
        .select_related("live_stream")
        .order_by("-updated_at")[:limit]
    )


def recordings_needing_attention(now: datetime, limit: int) -> list[Recording]:
    """The latest recordings needing attention of any kind, newest first (one query)."""
    which = Q()
    for kind in RECORDING_KINDS:
        which |= recording_attention(kind, now)
    return list(
        Recording.objects.filter(which)
        .select_related("live_stream")
        .order_by("-updated_at")[:limit]
    )
