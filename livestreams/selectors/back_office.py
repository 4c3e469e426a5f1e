"""The back office's reads: the dashboard's lists, the viewers of a page of
streams, and what a moderator's action would do (who is in the channel, what
would be refunded). Each is a fixed number of queries, whatever the number of
streams, on the indexes named beside it."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from livestreams.lifecycle import fundable_filter, live_filter, starting_soon_filter
from livestreams.models import (
    FUNDING_RATIO,
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    Participant,
    ReportStatus,
    StreamReport,
    ViewerCount,
)


def _streams() -> QuerySet[LiveStream]:
    return LiveStream.objects.visible().select_related("creator")


# --- Viewers ---------------------------------------------------------------------------


def viewers_of(streams: Iterable[str] | QuerySet[LiveStream]) -> dict[str, int]:
    """How many are watching each of these streams now (their ids, or a
    queryset of them): their kept counts (the sums of their ViewerCount slots),
    in one query; a stream nobody watches is left out.

    Every viewer count of the back office is read here (the dashboard, the
    stream list, the action pages)."""
    if isinstance(streams, QuerySet):
        which = Q(live_stream__in=streams.order_by().values("pk"))
    else:
        ids = list(streams)
        if not ids:
            return {}
        which = Q(live_stream_id__in=ids)
    return dict(
        ViewerCount.objects.filter(which)
        .order_by()
        .values("live_stream_id")
        .annotate(total=Sum("viewers"))
        .filter(total__gt=0)
        .values_list("live_stream_id", "total")
    )


def streams_most_watched(limit: int) -> list[tuple[LiveStream, int]]:
    """The live streams with the most viewers now, most first, with their
    count: the viewers of every live stream (`viewers_of`; the live ones by the
    status index), then the first `limit` streams. Two queries."""
    counts = viewers_of(LiveStream.objects.visible().filter(live_filter()))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    streams = _streams().in_bulk([stream_id for stream_id, _n in ranked])
    return [(streams[stream_id], n) for stream_id, n in ranked if stream_id in streams]


# --- The dashboard's lists -----------------------------------------------------------


def streams_live_now(limit: int) -> list[LiveStream]:
    """Live streams, the latest started first (status index)."""
    return list(_streams().filter(live_filter()).order_by("-started_at", "-pk")[:limit])


def live_now_count() -> int:
    """How many streams are live (counted on the status index, never the table)."""
    return LiveStream.objects.visible().filter(live_filter()).count()


def streams_starting_soon(now: datetime, within: timedelta, limit: int) -> list[LiveStream]:
    """Streams not started yet, planned to start within `within` (or late by
    less than the grace), soonest first (index `livestream_status_start`)."""
    return list(
        _streams()
        .filter(starting_soon_filter(now, within))
        .order_by("planned_start_date", "pk")[:limit]
    )


def streams_by_funding(*, closest: bool, limit: int) -> list[LiveStream]:
    """Fundable streams that have not reached their goal, the closest to it
    first (or the furthest from it), each with `funding_ratio`; the partial
    expression index `livestream_funding_ratio` serves the order."""
    streams = (
        _streams()
        .filter(fundable_filter())
        .annotate(funding_ratio=FUNDING_RATIO)
        .filter(funding_ratio__lt=1)
    )
    order = "-funding_ratio" if closest else "funding_ratio"
    return list(streams.order_by(order, "planned_start_date", "pk")[:limit])


# --- What an action would do ---------------------------------------------------------


@dataclass(frozen=True)
class RefundsDue:
    """The completed contributions a cancel or a removal would give back."""

    contributions: int
    contributors: int
    total: Decimal


def refunds_due(streams: QuerySet[LiveStream]) -> RefundsDue:
    """One query over the contributions of `streams` (any queryset of them)."""
    figures = Contribution.objects.filter(
        live_stream__in=streams.order_by().values("pk"), status=ContributionStatus.COMPLETED
    ).aggregate(
        contributions=Count("pk"),
        contributors=Count("user", distinct=True),
        total=Sum("amount"),
    )
    return RefundsDue(
        contributions=figures["contributions"],
        contributors=figures["contributors"],
        total=figures["total"] or Decimal("0.00"),
    )


def audience_present_count(streams: QuerySet[LiveStream]) -> int:
    """How many viewers are in the channel of any of `streams`, in one query."""
    return sum(viewers_of(streams).values())


def audience_present(stream: LiveStream, limit: int) -> list[Participant]:
    """Who is watching `stream` now, the latest arrived first, with their user."""
    return list(
        Participant.objects.filter(live_stream=stream, is_present=True)
        .select_related("user")
        .order_by("-last_joined_at", "pk")[:limit]
    )


def guests_in_channel(stream: LiveStream) -> list[Guest]:
    """The invited guests who have joined the channel, with their user."""
    return list(
        Guest.objects.filter(live_stream=stream, has_joined=True)
        .select_related("user")
        .order_by("position")
    )


def participants_latest(stream: LiveStream, limit: int) -> list[Participant]:
    """The stream's audience for its page: watching now first, then who left,
    the latest arrived first, with their user."""
    return list(
        Participant.objects.filter(live_stream=stream)
        .select_related("user")
        .order_by("-is_present", "-last_joined_at", "pk")[:limit]
    )


# --- The reports' queue ------------------------------------------------------------------


def open_reports_count() -> int:
    """How many reports wait for a moderator (on `report_status_created`)."""
    return StreamReport.objects.filter(status=ReportStatus.OPEN).count()


def reports_open(limit: int) -> list[StreamReport]:
    """The oldest open reports first, with their stream and reporter (one query,
    on `report_status_created`)."""
    return list(
        StreamReport.objects.filter(status=ReportStatus.OPEN)
        .select_related("live_stream", "reporter")
        .order_by("created_at", "pk")[:limit]
    )
