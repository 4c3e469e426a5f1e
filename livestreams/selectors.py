"""Reads for live streams: loading streams and what the caller sees of them."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from livestreams.models import (
    BanAction,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamStatus,
    MiniCrowdFunding,
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

    rentals = {}
    renters = [pk for pk, role in roles.items() if role is None]
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
