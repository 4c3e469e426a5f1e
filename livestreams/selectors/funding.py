"""The back office's funding figures: streams with a goal by progress, totals,
and the contributions per day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    Count,
    DecimalField,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from livestreams.models import MONEY, Contribution, ContributionStatus, LiveStream
from livestreams.models.streams import LiveStreamQuerySet

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class FundingFigures(TypedDict):
    """What `funding_progress_streams` annotates."""

    funding_ratio: float
    contributor_count: int
    refunded_total: Decimal


def _streams_with_a_goal(include_removed: bool) -> LiveStreamQuerySet:
    streams = LiveStream.objects.filter(funding_goal__gt=0)
    return streams if include_removed else streams.visible()


def funding_progress_streams(
    include_removed: bool = False,
) -> QuerySet[WithAnnotations[LiveStream, FundingFigures]]:
    """Streams with a funding goal, closest to it first (collected / goal, in SQL),
    each with its creator and annotated with `funding_ratio`, `contributor_count`
    (distinct users with a completed contribution) and `refunded_total`. Removed
    streams only when `include_removed`."""

    contributions = (
        Contribution.objects.filter(live_stream=OuterRef("pk")).order_by().values("live_stream")
    )
    contributors = (
        contributions.filter(status=ContributionStatus.COMPLETED)
        .annotate(n=Count("user", distinct=True))
        .values("n")
    )
    refunded = (
        contributions.filter(status=ContributionStatus.REFUNDED)
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(**MONEY)
    return (
        _streams_with_a_goal(include_removed)
        .select_related("creator")
        .annotate(
            # Floats: SQLite would divide two whole amounts as integers.
            funding_ratio=Cast("collected_funding", FloatField())
            / Cast("funding_goal", FloatField()),
            contributor_count=Coalesce(Subquery(contributors, output_field=IntegerField()), 0),
            refunded_total=Coalesce(
                Subquery(refunded, output_field=money), Decimal("0.00"), output_field=money
            ),
        )
        .order_by("-funding_ratio", "-collected_funding", "pk")
    )


def funding_progress_totals(include_removed: bool = False) -> dict[str, Any]:
    """One query: `streams` (with a goal), `reached` (collected >= goal),
    `collected` and `goal` (sums, Decimal)."""

    totals = _streams_with_a_goal(include_removed).aggregate(
        streams=Count("pk"),
        reached=Count("pk", filter=Q(collected_funding__gte=F("funding_goal"))),
        collected=Sum("collected_funding"),
        goal=Sum("funding_goal"),
    )
    totals["collected"] = totals["collected"] or Decimal("0.00")
    totals["goal"] = totals["goal"] or Decimal("0.00")
    return totals


def funding_collected_per_day(
    days: int = 30, today: date | None = None
) -> list[tuple[date, Decimal]]:
    """(date, Decimal) for each of the `days` days ending `today` (the current
    time zone's date by default), oldest first: the completed contributions made
    that day, 0 for a day without any. One query."""

    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    zone = timezone.get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    per_day = dict(
        Contribution.objects.filter(
            status=ContributionStatus.COMPLETED, created_at__gte=start, created_at__lt=end
        )
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(total=Sum("amount"))
        .values_list("day", "total")
    )
    days_list = [first + timedelta(days=n) for n in range(days)]
    return [(day, per_day.get(day) or Decimal("0.00")) for day in days_list]
