"""Reads for live streams: loading streams and what the caller sees of them."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from allmine.exceptions import NotFound
from livestreams.models import (
    MONEY,
    BanAction,
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamStatus,
    MiniCrowdFunding,
    Participant,
    ReplayAccess,
)

ROLE_HOST = "host"
ROLE_GUEST = "guest"
ROLE_AUDIENCE = "audience"


@dataclass(frozen=True)
class ReplayAccessState:
    """The caller's replay access to one stream (the ReplayAccess object of §2)."""

    status: str
    can_rent: bool
    can_view_recording: bool
    price: Decimal | None
    rented_at: datetime | None
    expires_at: datetime | None
    remaining_seconds: int | None


def streams_with_creator():
    return LiveStream.objects.select_related("creator__profile_photo")


def streams_for_user(user):
    """Streams with what the join paths need to know about `user`, in the same
    query: `viewer_is_guest`, `viewer_is_blocked` (an in-force BLOCK ban) and
    `viewer_is_participant`."""
    here = OuterRef("pk")
    return streams_with_creator().annotate(
        viewer_is_guest=Exists(Guest.objects.filter(live_stream=here, user=user)),
        viewer_is_blocked=Exists(
            LiveStreamBan.objects.in_force().filter(
                live_stream=here, user=user, action_type=BanAction.BLOCK
            )
        ),
        viewer_is_participant=Exists(Participant.objects.filter(live_stream=here, user=user)),
    )


def role_in_stream(stream: LiveStream, user) -> str | None:
    """The caller's role, from a stream loaded through `streams_for_user`."""
    if stream.creator_id == user.pk:
        return ROLE_HOST
    if stream.viewer_is_guest:
        return ROLE_GUEST
    if stream.viewer_is_participant:
        return ROLE_AUDIENCE
    return None


def stream_is_rentable(stream: LiveStream) -> bool:
    return (
        stream.status == LiveStreamStatus.ENDED
        and not stream.is_removed
        and stream.recording
        and bool(stream.recording_url)
        and stream.is_active_replay_on_creator_profile is True
        and stream.replay_credit_price is not None
        and stream.replay_credit_price > 0
    )


def replay_access_state(
    *, stream: LiveStream, role: str | None, rental: ReplayAccess | None, now: datetime
) -> ReplayAccessState:
    active_rental = rental is not None and rental.expires_at > now
    if role == ROLE_HOST:
        status = "owner"
    elif role == ROLE_GUEST:
        status = "guest"
    elif rental is not None:
        status = "rented" if active_rental else "expired"
    else:
        status = "none"
    has_recording = bool(stream.recording_url)
    return ReplayAccessState(
        status=status,
        can_rent=stream_is_rentable(stream) and status in ("none", "expired"),
        can_view_recording=has_recording and (status in ("owner", "guest") or active_rental),
        price=stream.replay_credit_price,
        rented_at=rental.rented_at if rental else None,
        expires_at=rental.expires_at if rental else None,
        remaining_seconds=(
            max(0, int((rental.expires_at - now).total_seconds())) if rental else None
        ),
    )


def prepare_for_viewer(streams: list[LiveStream], viewer, now: datetime) -> list[LiveStream]:
    """Load, in a fixed number of queries whatever the number of streams, what the
    LiveStream object needs for this caller, and attach it to each stream:
    `guest_rows`, `funding_rows`, `viewer_role` and `viewer_replay`."""
    if not streams:
        return streams
    ids = [s.pk for s in streams]
    guests_by_stream = defaultdict(list)
    for guest in Guest.objects.filter(live_stream_id__in=ids).order_by("position", "id"):
        guests_by_stream[guest.live_stream_id].append(guest)
    fundings_by_stream = defaultdict(list)
    for funding in MiniCrowdFunding.objects.filter(live_stream_id__in=ids).order_by("created_at"):
        fundings_by_stream[funding.live_stream_id].append(funding)

    roles = {}
    for stream in streams:
        if viewer is not None and stream.creator_id == viewer.pk:
            roles[stream.pk] = ROLE_HOST
        elif viewer is not None and any(
            g.user_id == viewer.pk for g in guests_by_stream[stream.pk]
        ):
            roles[stream.pk] = ROLE_GUEST
        else:
            roles[stream.pk] = None

    # Streams loaded through `streams_for_user` already know whether the viewer
    # is in the audience.
    for stream in streams:
        if roles[stream.pk] is None and getattr(stream, "viewer_is_participant", False):
            roles[stream.pk] = ROLE_AUDIENCE
    undecided = [
        s.pk for s in streams if roles[s.pk] is None and not hasattr(s, "viewer_is_participant")
    ]
    if viewer is not None and undecided:
        watched = set(
            Participant.objects.filter(user=viewer, live_stream_id__in=undecided).values_list(
                "live_stream_id", flat=True
            )
        )
        roles.update({pk: ROLE_AUDIENCE for pk in watched})

    # Only an ended stream can have been rented.
    rentals = {}
    renters = [
        s.pk
        for s in streams
        if roles[s.pk] in (None, ROLE_AUDIENCE) and s.status == LiveStreamStatus.ENDED
    ]
    if viewer is not None and renters:
        rentals = {
            r.live_stream_id: r
            for r in ReplayAccess.objects.filter(user=viewer, live_stream_id__in=renters)
        }

    for stream in streams:
        stream.guest_rows = guests_by_stream[stream.pk]
        stream.funding_rows = fundings_by_stream[stream.pk]
        stream.viewer_role = roles[stream.pk]
        stream.viewer_replay = replay_access_state(
            stream=stream, role=roles[stream.pk], rental=rentals.get(stream.pk), now=now
        )
    return streams


def funding_percentage(collected: Decimal, goal: Decimal | None) -> Decimal:
    if not goal:
        return Decimal("0")
    return (Decimal(collected) * 100 / Decimal(goal)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def user_is_blocked(*, user, stream: LiveStream) -> bool:
    return (
        LiveStreamBan.objects.in_force()
        .filter(live_stream=stream, user=user, action_type=BanAction.BLOCK)
        .exists()
    )


def overdue_streams_filter(now: datetime) -> Q:
    """Active streams long past their planned end (or, without one, their maximum
    duration): the ones `end_overdue_streams` ends."""
    grace = timedelta(minutes=settings.LIVESTREAM_OVERDUE_GRACE_MINUTES)
    longest = timedelta(hours=settings.LIVESTREAM_MAX_DURATION_HOURS)
    return Q(status=LiveStreamStatus.ACTIVE, deleted_at__isnull=True) & (
        Q(planned_end_date__lt=now - grace)
        | Q(planned_end_date__isnull=True, started_at__lt=now - longest)
    )


def expirable_streams_filter(now: datetime) -> Q:
    """Scheduled streams nobody started whose start plus the grace period has passed."""
    grace = timedelta(minutes=settings.LIVESTREAM_START_GRACE_MINUTES)
    return Q(status=LiveStreamStatus.SCHEDULED, planned_start_date__lt=now - grace)


def stream_visible(stream_id: str) -> LiveStream:
    stream = streams_with_creator().visible().filter(pk=stream_id).first()
    if stream is None:
        raise NotFound("No live stream has this id.")
    return stream


def streams_filtered(
    *, status: str | None = None, interest: str | None = None, creator: str | None = None
):
    streams = streams_with_creator().visible().order_by("-created_at", "-pk")
    if status:
        streams = streams.filter(status=status)
    if interest:
        streams = streams.filter(interest=interest)
    if creator:
        streams = streams.filter(creator_id=creator)
    return streams


def streams_funded_by(user):
    """Scheduled streams the user has funded (and not been refunded)."""
    funded = Contribution.objects.filter(
        live_stream=OuterRef("pk"), user=user, status=ContributionStatus.COMPLETED
    )
    return (
        streams_with_creator()
        .visible()
        .filter(Exists(funded), status=LiveStreamStatus.SCHEDULED)
        .order_by("planned_start_date", "pk")
    )


def streams_rented_by(user):
    """Streams whose replay the user has rented, latest rental first."""
    return (
        streams_with_creator()
        .visible()
        .filter(replay_accesses__user=user)
        .order_by("-replay_accesses__rented_at", "-pk")
    )


def viewer_count(stream: LiveStream) -> int:
    return Participant.objects.filter(live_stream=stream, is_present=True).count()


# --- Back office: funding progress ----------------------------------------------
# (Imports are local: this section was appended to the module.)


def _streams_with_a_goal(include_removed: bool):
    streams = LiveStream.objects.filter(funding_goal__gt=0)
    return streams if include_removed else streams.visible()


def funding_progress_streams(include_removed: bool = False):
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


def funding_progress_totals(include_removed: bool = False) -> dict:
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


def funding_collected_per_day(days: int = 30, today=None) -> list[tuple]:
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


def bans_in_force(stream: LiveStream):
    """The stream's bans not lifted, newest first."""
    return LiveStreamBan.objects.in_force().filter(live_stream=stream).order_by("-created_at")
