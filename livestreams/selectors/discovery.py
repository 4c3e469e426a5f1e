"""The home screen's and the profiles' lists (API-more §7.1-§7.8): featured
streams, creators live now, the most watched creators, a guest's streams, past
and upcoming streams. Each is one query (plus what `viewing.prepare_for_viewer`
loads for the whole list at once), whatever the number of streams."""

from datetime import datetime, timedelta

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from accounts.models import User
from livestreams.lifecycle import LIVE, PAST, UPCOMING_ANY_DATE, UPCOMING_IN_WINDOW
from livestreams.models import Guest, LiveStream, Participant, ReminderState, StreamReminder
from livestreams.selectors.streams import streams_with_creator, with_viewer_counts

FEATURED_SIZE = 10
# The lists of §7.4-§7.5 answer at most this many streams.
LIST_CEILING = 100
MOST_WATCHED_DAYS = 30
GUEST_STREAM_SORTS = (
    "createdAt",
    "updatedAt",
    "startedAt",
    "plannedStartDate",
    "endedAt",
    "durationGoal",
    "fundingGoal",
)
_SORT_FIELDS = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "startedAt": "started_at",
    "plannedStartDate": "planned_start_date",
    "endedAt": "ended_at",
    "durationGoal": "duration_goal",
    "fundingGoal": "funding_goal",
}


def _live() -> QuerySet[LiveStream]:
    return streams_with_creator().visible().filter(status__in=LIVE)


def streams_featured() -> list[LiveStream]:
    """At most 10 active streams, most viewers now first, then the latest start,
    then the id (§7.1): one query, no call to Agora."""
    return list(
        with_viewer_counts(_live()).order_by(
            "-viewers_now", F("started_at").desc(nulls_last=True), "pk"
        )[:FEATURED_SIZE]
    )


def streams_catching(limit: int) -> list[LiveStream]:
    """The active stream of each creator live now, the latest start first (§7.2).
    A creator has at most one active stream (a constraint), so one per creator."""
    return list(_live().order_by(F("started_at").desc(nulls_last=True), "pk")[:limit])


def creators_most_watched(*, limit: int, now: datetime) -> list[User]:
    """Creators by the distinct audience members of their streams whose last join
    was in the last 30 days (§7.3). The creator and the stream's invited guests do
    not count; removed streams and deactivated creators are left out, and so are
    creators without viewers. Ties: the latest start, then the creator's id. Users
    with their photo and `unique_viewers`; two queries."""
    since = now - timedelta(days=MOST_WATCHED_DAYS)
    invited = Guest.objects.filter(live_stream=OuterRef("live_stream"), user=OuterRef("user"))
    ranked = list(
        Participant.objects.filter(
            last_joined_at__gte=since,
            live_stream__deleted_at__isnull=True,
            live_stream__creator__is_active=True,
        )
        .exclude(user=F("live_stream__creator"))
        .exclude(Exists(invited))
        .order_by()
        .values("live_stream__creator")
        .annotate(viewers=Count("user", distinct=True), latest=Max("live_stream__started_at"))
        .order_by("-viewers", F("latest").desc(nulls_last=True), "live_stream__creator")
        .values_list("live_stream__creator", "viewers")[:limit]
    )
    users = User.objects.select_related("profile_photo").in_bulk([pk for pk, _n in ranked])
    creators = []
    for pk, viewers in ranked:
        users[pk].unique_viewers = viewers  # type: ignore[attr-defined]  # for the list's serializer
        creators.append(users[pk])
    return creators


def streams_as_guest(
    user: User, *, status: str | None = None, sort_by: str = "createdAt", sort_order: str = "desc"
) -> list[LiveStream]:
    """Streams listing `user` among their invited guests (§7.4): at most 100,
    nulls last, ties by id."""
    streams = streams_with_creator().visible().filter(guest_set__user=user)
    if status:
        streams = streams.filter(status=status)
    column = F(_SORT_FIELDS[sort_by])
    first = column.asc(nulls_last=True) if sort_order == "asc" else column.desc(nulls_last=True)
    return list(streams.order_by(first, "pk")[:LIST_CEILING])


def streams_past(creator_id: str, *, limit: int) -> list[LiveStream]:
    """The ended streams `creator_id` created, the latest end first (§7.5, §7.6)."""
    return list(
        streams_with_creator()
        .visible()
        .filter(creator_id=creator_id, status__in=PAST)
        .order_by(F("ended_at").desc(nulls_last=True), "pk")[:limit]
    )


def streams_upcoming(
    user_id: str, *, before: timedelta, after: timedelta, now: datetime, limit: int
) -> list[LiveStream]:
    """Streams `user_id` creates or is invited to (§7.7): active and preparing
    whatever their dates, scheduled when the planned start lies in [now - before,
    now + after]; active, then preparing, then scheduled by planned start, ties
    by id."""
    involved = Q(creator_id=user_id) | Q(
        Exists(Guest.objects.filter(live_stream=OuterRef("pk"), user_id=user_id))
    )
    window = Q(
        status__in=UPCOMING_IN_WINDOW,
        planned_start_date__gte=now - before,
        planned_start_date__lte=now + after,
    )
    rank = Case(
        *(When(status=status, then=Value(n)) for n, status in enumerate(UPCOMING_ANY_DATE)),
        default=Value(len(UPCOMING_ANY_DATE)),
        output_field=IntegerField(),
    )
    return list(
        streams_with_creator()
        .visible()
        .filter(involved)
        .filter(Q(status__in=UPCOMING_ANY_DATE) | window)
        .annotate(upcoming_rank=rank)
        .order_by("upcoming_rank", F("planned_start_date").asc(nulls_last=True), "pk")[:limit]
    )


def mark_reminders(streams: list[LiveStream], viewer: User | None) -> list[LiveStream]:
    """Set `viewer_reminder_active` on each stream: whether `viewer` holds an armed
    reminder of it (None for an anonymous caller). One query."""
    armed: set[str] = set()
    if viewer is not None and streams:
        armed = set(
            StreamReminder.objects.filter(
                user=viewer, state=ReminderState.ARMED, live_stream_id__in=[s.pk for s in streams]
            ).values_list("live_stream_id", flat=True)
        )
    for stream in streams:
        stream.viewer_reminder_active = None if viewer is None else stream.pk in armed
    return streams
