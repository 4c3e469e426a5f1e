"""What a live room shows: who watches now (§7.10), the gifts sent (§7.11) and
the audience's figures for the creator (§11.1). Each costs a fixed number of
queries whatever the size of the audience or the number of gifts."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models import Value as V

from allmine.core.pagination import Page, paginate
from livestreams.lifecycle import LIVE
from livestreams.models import GiftType, LiveStream, Participant


@dataclass(frozen=True)
class ViewersPage:
    page: Page  # of Participant, each with its user and the user's photo
    audience_total: int  # distinct audience members who ever joined


def viewers_page(stream: LiveStream, *, search: str, params: Mapping[str, Any]) -> ViewersPage:
    """Audience members watching now, the latest join first, then the user's id;
    an empty page when the stream is not live. `search` matches name, surname or
    username, in any case. Three queries (count, page, total)."""
    present = (
        Participant.objects.filter(live_stream=stream, is_present=True)
        .select_related("user__profile_photo")
        .order_by("-last_joined_at", "user_id")
    )
    if search:
        present = present.filter(
            Q(user__name__icontains=search)
            | Q(user__surname__icontains=search)
            | Q(user__username__icontains=search)
        )
    if stream.status not in LIVE:
        present = present.none()
    page = paginate(present, params)
    total = Participant.objects.filter(live_stream=stream).count()
    return ViewersPage(page=page, audience_total=total)


def gift_types_offered() -> list[GiftType]:
    """The active gift types, the cheapest first, then the oldest (§12.1)."""
    return list(GiftType.objects.filter(is_active=True).order_by("credit_amount", "created_at"))


@dataclass(frozen=True)
class GiftTypeCount:
    gift_type: GiftType
    count: int


@dataclass(frozen=True)
class GiftStatistics:
    live_stream_id: str
    total_count: int
    gift_type_counts: list[GiftTypeCount]


def gift_statistics(stream: LiveStream) -> GiftStatistics:
    """Every active gift type (with 0 too) and every deactivated one sent to this
    stream, with how many were sent to it; the cheapest first, then by id. The
    counts add up to the total. One query."""
    types = list(
        GiftType.objects.annotate(sent=Count("gifts", filter=Q(gifts__live_stream=stream)))
        .filter(Q(is_active=True) | Q(sent__gt=0))
        .order_by("credit_amount", "pk")
    )
    counts = [GiftTypeCount(gift_type=t, count=t.sent) for t in types]
    return GiftStatistics(
        live_stream_id=stream.pk,
        total_count=sum(c.count for c in counts),
        gift_type_counts=counts,
    )


@dataclass(frozen=True)
class ParticipantStatistics:
    stream_id: str
    total_viewers: int
    average_watch_minutes: Decimal
    total_watch_minutes: int
    peak_concurrent_viewers: int


def participant_statistics(stream: LiveStream, *, now: datetime) -> ParticipantStatistics:
    """The audience's figures (§11.1): distinct audience members who joined, their
    watch time (those still watching counted up to `now`), the average per viewer
    and the peak recorded on the joins. One query."""
    still_watching = ExpressionWrapper(
        V(now, output_field=DateTimeField()) - F("last_joined_at"), output_field=DurationField()
    )
    figures = Participant.objects.filter(live_stream=stream).aggregate(
        viewers=Count("pk"),
        watched=Sum("watch_seconds"),
        watching=Sum(still_watching, filter=Q(is_present=True)),
    )
    viewers = figures["viewers"] or 0
    seconds = (figures["watched"] or 0) + max(
        0, int(figures["watching"].total_seconds()) if figures["watching"] else 0
    )
    average = (
        (Decimal(seconds) / 60 / viewers).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if viewers
        else Decimal("0")
    )
    return ParticipantStatistics(
        stream_id=stream.pk,
        total_viewers=viewers,
        average_watch_minutes=average,
        total_watch_minutes=seconds // 60,
        peak_concurrent_viewers=stream.peak_viewers,
    )
