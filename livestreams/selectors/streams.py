"""Which streams: the querysets behind the API's lists and lookups."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from accounts.models import User
from allmine.core.errors import NotFound
from livestreams.lifecycle import FUNDABLE_STATUSES
from livestreams.models import (
    BanAction,
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    LiveStreamBan,
    Participant,
    kept_viewers,
)
from livestreams.models.bans import LiveStreamBanQuerySet
from livestreams.models.streams import LiveStreamQuerySet

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class ViewersNow(TypedDict):
    """What `with_viewer_counts` annotates."""

    viewers_now: int


def streams_with_creator() -> LiveStreamQuerySet:
    return LiveStream.objects.select_related("creator__profile_photo")


def streams_for_user(user: User) -> LiveStreamQuerySet:
    """Streams with what the join paths need to know about `user`, in the same
    query: `viewer_is_guest`, `viewer_is_blocked` (an in-force BLOCK ban) and
    `viewer_is_participant`."""
    here = OuterRef("pk")
    # The model declares these for their readers; the stubs' plugin would declare them again.
    return streams_with_creator().annotate(  # type: ignore[no-redef]
        viewer_is_guest=Exists(Guest.objects.filter(live_stream=here, user=user)),
        viewer_is_blocked=Exists(
            LiveStreamBan.objects.in_force().filter(
                live_stream=here, user=user, action_type=BanAction.BLOCK
            )
        ),
        viewer_is_participant=Exists(Participant.objects.filter(live_stream=here, user=user)),
    )


def streams_for_caller(user: User) -> LiveStreamQuerySet:
    """`streams_for_user`, plus `viewer_ban_action`: the action type of the user's
    ban in force in the stream, or None (what `policy.Caller` needs)."""
    ban = LiveStreamBan.objects.in_force().filter(live_stream=OuterRef("pk"), user=user)
    # As in streams_for_user: the model declares it for its readers.
    return streams_for_user(user).annotate(
        viewer_ban_action=Subquery(ban.values("action_type")[:1])
    )  # type: ignore[no-redef]


def stream_visible(stream_id: str) -> LiveStream:
    stream = streams_with_creator().visible().filter(pk=stream_id).first()
    if stream is None:
        raise NotFound("No live stream has this id.")
    return stream


def streams_filtered(
    *, status: str | None = None, interest: str | None = None, creator: str | None = None
) -> LiveStreamQuerySet:
    streams = streams_with_creator().visible().order_by("-created_at", "-pk")
    if status:
        streams = streams.filter(status=status)
    if interest:
        streams = streams.filter(interest=interest)
    if creator:
        streams = streams.filter(creator_id=creator)
    return streams


def streams_funded_by(user: User) -> LiveStreamQuerySet:
    """Scheduled streams the user has funded (and not been refunded)."""
    funded = Contribution.objects.filter(
        live_stream=OuterRef("pk"), user=user, status=ContributionStatus.COMPLETED
    )
    return (
        streams_with_creator()
        .visible()
        .filter(Exists(funded), status__in=FUNDABLE_STATUSES)
        .order_by("planned_start_date", "pk")
    )


def streams_rented_by(user: User) -> LiveStreamQuerySet:
    """Streams whose replay the user has rented, latest rental first."""
    return (
        streams_with_creator()
        .visible()
        .filter(replay_accesses__user=user)
        .order_by("-replay_accesses__rented_at", "-pk")
    )


def with_viewer_counts(
    streams: QuerySet[LiveStream],
) -> QuerySet[WithAnnotations[LiveStream, ViewersNow]]:
    """`streams` annotated with `viewers_now`, their kept count (the sum of their
    ViewerCount slots), in the same query; no participant is scanned."""
    return streams.annotate(viewers_now=kept_viewers(OuterRef("pk")))


def user_is_blocked(*, user: User, stream: LiveStream) -> bool:
    return (
        LiveStreamBan.objects.in_force()
        .filter(live_stream=stream, user=user, action_type=BanAction.BLOCK)
        .exists()
    )


def bans_in_force(stream: LiveStream) -> LiveStreamBanQuerySet:
    """The stream's bans not lifted, newest first."""
    return LiveStreamBan.objects.in_force().filter(live_stream=stream).order_by("-created_at")
