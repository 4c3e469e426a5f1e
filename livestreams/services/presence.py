"""Presence that cannot drift: who counts as watching (and broadcasting) is
corrected even when an app dies without calling leave and no Notification
Center event arrives.

- `presence_expire`: a viewer with no sign of life (join, token renewal, Agora
  event, Agora's channel list) for AGORA_PRESENCE_TIMEOUT no longer counts; they
  leave at the moment they were last seen. Needs nothing from Agora.
- `presence_reconcile`: with the REST API configured, the channels of streams
  where someone is marked present are compared with Agora's channel user lists
  (at most AGORA_PRESENCE_CHANNELS_PER_RUN a run, AGORA_PRESENCE_QPS a second):
  those Agora lists are seen now; those it has not listed for
  AGORA_PRESENCE_GRACE are taken out.

Neither ever marks anyone present: only joins and Agora's join events do that.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from livestreams.agora import presence as agora_presence
from livestreams.agora.rest import AgoraRestError, is_configured
from livestreams.caching import forget_stream, forget_viewer_counts
from livestreams.models import Guest, LiveStream, Participant

logger = logging.getLogger("allmine.agora")

CURSOR_KEY = "livestreams:presence-cursor"


@dataclass
class ReconcileSummary:
    channels: int = 0
    seen: int = 0
    left: int = 0
    failed: int = 0


def presence_expire(*, now: datetime | None = None) -> int:
    """Take out every viewer last seen more than AGORA_PRESENCE_TIMEOUT ago; how
    many left."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.AGORA_PRESENCE_TIMEOUT)
    left = 0
    while True:
        with transaction.atomic():
            batch = _leave_at_last_seen(
                Participant.objects.filter(is_present=True, last_seen_at__lt=cutoff)
            )
        left += batch
        if batch < BATCH:
            return left


BATCH = 2000


def _leave_at_last_seen(present: "QuerySet[Participant]") -> int:
    """Up to BATCH of `present` (locked) leave, each at their last sign of life:
    their watch time stops there. How many left."""
    batch = list(
        present.select_for_update()
        .only(
            "pk", "live_stream_id", "is_present", "last_joined_at", "last_seen_at", "watch_seconds"
        )
        .order_by("pk")[:BATCH]
    )
    for participant in batch:
        participant.mark_left(participant.last_seen_at)
    Participant.objects.bulk_update(batch, Participant.LEAVE_FIELDS)
    forget_viewer_counts(p.live_stream_id for p in batch)
    return len(batch)


def streams_with_presence() -> QuerySet[LiveStream]:
    """Streams where someone is marked in the channel (host, guest or viewer)."""
    return LiveStream.objects.filter(
        Q(host_present=True)
        | Exists(Guest.objects.filter(live_stream=OuterRef("pk"), has_joined=True))
        | Exists(Participant.objects.filter(live_stream=OuterRef("pk"), is_present=True))
    )


def presence_reconcile(
    *, now: datetime | None = None, limit: int | None = None, pause: bool = True
) -> ReconcileSummary:
    """Compare the presence of up to `limit` streams (AGORA_PRESENCE_CHANNELS_PER_RUN)
    with Agora's channel lists, taking turns across runs."""
    summary = ReconcileSummary()
    if not is_configured():
        return summary
    limit = settings.AGORA_PRESENCE_CHANNELS_PER_RUN if limit is None else limit
    candidates = streams_with_presence().order_by("pk")
    cursor = _cursor()
    batch = list(candidates.filter(pk__gt=cursor).values_list("pk", "channel_name")[:limit])
    if len(batch) < limit:  # wrap around to the first ones
        seen_ids = {pk for pk, _name in batch}
        batch += [
            row
            for row in candidates.values_list("pk", "channel_name")[: limit - len(batch)]
            if row[0] not in seen_ids
        ]
    interval = 1.0 / settings.AGORA_PRESENCE_QPS
    for index, (stream_id, channel_name) in enumerate(batch):
        if pause and index:
            time.sleep(interval)  # Agora's rate limit on online-statistics queries
        try:
            users = agora_presence.channel_users(channel_name)
        except AgoraRestError as exc:
            logger.warning("Agora channel list of %s failed: %s", channel_name, exc)
            summary.failed += 1
            continue
        summary.channels += 1
        seen, left = presence_apply_channel(
            live_stream_id=stream_id, users=users, now=now or timezone.now()
        )
        summary.seen += seen
        summary.left += left
        _cursor(stream_id)
    return summary


def _cursor(stream_id: str | None = None) -> str:
    """Where the last run left off (kept in the shared cache, so that the runs
    take turns over the streams); "" if the cache is unavailable: then each run
    starts from the first streams, which only makes the turns uneven."""
    try:
        if stream_id is not None:
            cache.set(CURSOR_KEY, stream_id, timeout=None)
            return stream_id
        return str(cache.get(CURSOR_KEY) or "")
    except Exception:  # any cache backend's failure: Redis down or hung
        logger.warning("The cache is unavailable: presence checks start from the first stream.")
        return ""


def presence_apply_channel(
    *, live_stream_id: str, users: agora_presence.ChannelUsers, now: datetime
) -> tuple[int, int]:
    """Apply one channel's user list to a stream's presence: (seen, left)."""
    grace = now - timedelta(seconds=settings.AGORA_PRESENCE_GRACE)
    with transaction.atomic():
        stream = (
            LiveStream.objects.select_for_update(of=("self",))
            .select_related("creator")
            .filter(pk=live_stream_id)
            .first()
        )
        if stream is None:
            return 0, 0
        present = Participant.objects.filter(live_stream=stream, is_present=True)
        listed = users.everyone
        seen = present.filter(user__agora_uid__in=listed).update(last_seen_at=now)
        left = 0
        if not users.exists or users.audience_complete:
            # Not in the channel: they were there when last seen, not since.
            gone = present.exclude(user__agora_uid__in=listed).filter(last_seen_at__lt=grace)
            while True:
                batch = _leave_at_last_seen(gone)
                left += batch
                if batch < BATCH:
                    break
        on_air = users.broadcasters
        if (
            stream.host_present
            and stream.creator.agora_uid not in on_air
            and stream.updated_at < grace
        ):
            stream.host_present = False
            stream.save(update_fields=["host_present", "updated_at"])
            left += 1
        guests = Guest.objects.filter(live_stream=stream, has_joined=True, joined_at__lt=grace)
        left += guests.exclude(user__agora_uid__in=on_air).update(has_joined=False)
        forget_stream(stream.pk)
    return seen, left
