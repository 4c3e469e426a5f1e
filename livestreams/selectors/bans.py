"""Reading bans: the ban in force on a user in a stream, and the filtered list."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from allmine.core.ids import is_object_id
from livestreams.models import LiveStream, LiveStreamBan


def bans_with_people() -> QuerySet[LiveStreamBan]:
    """Bans with what the Ban object shows: the banned user and their photo."""
    return LiveStreamBan.objects.select_related("user__profile_photo")


def _in_force_with_people() -> QuerySet[LiveStreamBan]:
    return LiveStreamBan.objects.in_force().select_related("user__profile_photo")


def ban_in_force(*, user_id: str, stream: LiveStream) -> LiveStreamBan | None:
    """The user's ban in force in the stream (BLOCK or CHAT_ONLY), or None."""
    return _in_force_with_people().filter(live_stream=stream, user_id=user_id).first()


@dataclass(frozen=True)
class BanFilters:
    target_user: str | None = None  # an id, or a username (any case)
    action_type: str | None = None
    start: datetime | None = None  # created at or after
    end: datetime | None = None  # created at or before


def bans_listed(
    *, stream: LiveStream | None, owner: User | None = None, filters: BanFilters = BanFilters()
) -> QuerySet[LiveStreamBan]:
    """Bans in force, newest first: of `stream`, or else of the visible streams
    `owner` created (every visible stream when `owner` is None: a moderator)."""
    bans = _in_force_with_people()
    if stream is not None:
        bans = bans.filter(live_stream=stream)
    else:
        bans = bans.filter(live_stream__deleted_at__isnull=True)
        if owner is not None:
            bans = bans.filter(live_stream__creator=owner)
    target = filters.target_user
    if target:
        if is_object_id(target):
            bans = bans.filter(user_id=target)
        else:
            bans = bans.alias(target_username=Lower("user__username")).filter(
                target_username=target.lower()
            )
    if filters.action_type:
        bans = bans.filter(action_type=filters.action_type)
    if filters.start is not None:
        bans = bans.filter(created_at__gte=filters.start)
    if filters.end is not None:
        bans = bans.filter(created_at__lte=filters.end)
    return bans.order_by("-created_at", "-pk")
