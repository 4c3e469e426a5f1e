"""What a caller sees of a stream: their role, their replay access, the
broadcasters, and what the LiveStream object needs, loaded in a fixed number of
queries whatever the number of streams."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from accounts.models import User
from livestreams.lifecycle import REPLAYABLE_STATUS, Role, is_rentable
from livestreams.models import Guest, LiveStream, MiniCrowdFunding, Participant, ReplayAccess


@dataclass(frozen=True)
class Broadcaster:
    """A host or guest of a stream (the Broadcaster object of §2)."""

    user_id: str
    role: str  # "host" or "guest"
    uid: int | None  # null until this broadcaster has joined
    has_joined: bool
    joined_at: datetime | None


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


def role_in_stream(stream: LiveStream, user: User) -> Role | None:
    """The caller's role, from a stream loaded through `streams_for_user`."""
    if stream.creator_id == user.pk:
        return Role.HOST
    if stream.viewer_is_guest:
        return Role.GUEST
    if stream.viewer_is_participant:
        return Role.AUDIENCE
    return None


def replay_access_state(
    *, stream: LiveStream, role: Role | None, rental: ReplayAccess | None, now: datetime
) -> ReplayAccessState:
    active_rental = rental is not None and rental.expires_at > now
    if role == Role.HOST:
        status = "owner"
    elif role == Role.GUEST:
        status = "guest"
    elif rental is not None:
        status = "rented" if active_rental else "expired"
    else:
        status = "none"
    has_recording = bool(stream.recording_url)
    return ReplayAccessState(
        status=status,
        can_rent=is_rentable(stream) and status in ("none", "expired"),
        can_view_recording=has_recording and (status in ("owner", "guest") or active_rental),
        price=stream.replay_credit_price,
        rented_at=rental.rented_at if rental else None,
        expires_at=rental.expires_at if rental else None,
        remaining_seconds=(
            max(0, int((rental.expires_at - now).total_seconds())) if rental else None
        ),
    )


def prepare_for_viewer(
    streams: list[LiveStream], viewer: User | None, now: datetime
) -> list[LiveStream]:
    """Load, in a fixed number of queries whatever the number of streams, what the
    LiveStream object needs for this caller, and attach it to each stream:
    `guest_rows`, `guest_ids`, `broadcasters`, `funding_rows`, `viewer_role` and `viewer_replay`."""
    if not streams:
        return streams
    ids = [s.pk for s in streams]
    guests_by_stream: dict[str, list[Guest]] = defaultdict(list)
    for guest in Guest.objects.filter(live_stream_id__in=ids).order_by("position", "id"):
        guests_by_stream[guest.live_stream_id].append(guest)
    fundings_by_stream: dict[str, list[MiniCrowdFunding]] = defaultdict(list)
    for funding in MiniCrowdFunding.objects.filter(live_stream_id__in=ids).order_by("created_at"):
        fundings_by_stream[funding.live_stream_id].append(funding)

    roles: dict[str, Role | None] = {}
    for stream in streams:
        if viewer is not None and stream.creator_id == viewer.pk:
            roles[stream.pk] = Role.HOST
        elif viewer is not None and any(
            g.user_id == viewer.pk for g in guests_by_stream[stream.pk]
        ):
            roles[stream.pk] = Role.GUEST
        else:
            roles[stream.pk] = None

    # Streams loaded through `streams_for_user` already know whether the viewer
    # is in the audience.
    for stream in streams:
        if roles[stream.pk] is None and getattr(stream, "viewer_is_participant", False):
            roles[stream.pk] = Role.AUDIENCE
    undecided = [
        s.pk for s in streams if roles[s.pk] is None and not hasattr(s, "viewer_is_participant")
    ]
    if viewer is not None and undecided:
        watched = set(
            Participant.objects.filter(user=viewer, live_stream_id__in=undecided).values_list(
                "live_stream_id", flat=True
            )
        )
        roles.update({pk: Role.AUDIENCE for pk in watched})

    # Only an ended stream can have been rented.
    rentals: dict[str, ReplayAccess] = {}
    renters = [
        s.pk
        for s in streams
        if roles[s.pk] in (None, Role.AUDIENCE) and s.status == REPLAYABLE_STATUS
    ]
    if viewer is not None and renters:
        rentals = {
            r.live_stream_id: r
            for r in ReplayAccess.objects.filter(user=viewer, live_stream_id__in=renters)
        }

    for stream in streams:
        stream.guest_rows = guests_by_stream[stream.pk]
        stream.guest_ids = [guest.user_id for guest in stream.guest_rows]
        stream.broadcasters = broadcasters(stream, stream.guest_rows)
        stream.funding_rows = fundings_by_stream[stream.pk]
        stream.viewer_role = roles[stream.pk]
        stream.viewer_replay = replay_access_state(
            stream=stream, role=roles[stream.pk], rental=rentals.get(stream.pk), now=now
        )
    return streams


def broadcasters(stream: LiveStream, guests: list[Guest]) -> list[Broadcaster]:
    """The host, then every invited guest in the creator's order."""
    host_joined = stream.host_joined_at is not None
    host = Broadcaster(
        user_id=stream.creator_id,
        role=Role.HOST,
        uid=stream.creator.agora_uid if host_joined else None,
        has_joined=stream.host_present,
        joined_at=stream.host_joined_at,
    )
    return [
        host,
        *(
            Broadcaster(
                user_id=guest.user_id,
                role=Role.GUEST,
                uid=guest.uid,
                has_joined=guest.has_joined,
                joined_at=guest.joined_at,
            )
            for guest in guests
        ),
    ]


def funding_percentage(collected: Decimal, goal: Decimal | None) -> Decimal:
    if not goal:
        return Decimal("0")
    return (Decimal(collected) * 100 / Decimal(goal)).quantize(Decimal("0.01"), ROUND_HALF_UP)
