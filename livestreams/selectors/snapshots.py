"""What the API reads of a stream most often, cached in the shared cache so that a
poll costs the same whatever the audience (issue 13):

- `stream_snapshot`: the stream as an anonymous caller sees it (its row, creator,
  guests, broadcasters and mini crowdfundings; the API adds its rendering), for
  STREAM_CACHE_SECONDS;
- `caller_flags`: what the caller is in the stream (joined, blocked, their
  replay rental), one small query, never cached;
- `viewer_count_now`: the kept viewer count, for VIEWER_COUNT_CACHE_SECONDS.

Writes forget the entries when they commit (`livestreams.caching`). A failing cache
is never an error: everything is then read from the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from allmine.core.errors import NotFound
from livestreams.caching import may_store, stream_key, viewers_key
from livestreams.lifecycle import Role
from livestreams.models import BanAction, LiveStream, LiveStreamBan, Participant, ReplayAccess
from livestreams.selectors.streams import stream_visible
from livestreams.selectors.viewing import prepare_for_viewer, replay_access_state

logger = logging.getLogger("allmine.cache")


@dataclass
class StreamSnapshot:
    """A visible stream prepared for an anonymous caller (`prepare_for_viewer`),
    and, once the API has rendered it, that rendering (`data`)."""

    stream: LiveStream
    data: dict[str, Any] | None = field(default=None)
    cached: bool = False  # read from the cache


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception as exc:  # any cache failure: read the database
        logger.warning("The cache failed a read: %s", type(exc).__name__)
        return None


def _cache_set(key: str, value: Any, seconds: float) -> None:
    if seconds <= 0 or not may_store(key):
        return
    try:
        cache.set(key, value, seconds)
    except Exception as exc:
        logger.warning("The cache failed a write: %s", type(exc).__name__)


def stream_snapshot(stream_id: str) -> StreamSnapshot:
    """The visible stream `stream_id` (404 if none), from the cache or, on a miss,
    from the database (three queries: the stream with its creator, the guests,
    the mini crowdfundings), then cached."""
    entry = _cache_get(stream_key(stream_id))
    if entry is not None:
        stream, data = entry
        return StreamSnapshot(stream=stream, data=data, cached=True)
    stream = stream_visible(stream_id)
    prepare_for_viewer([stream], None, timezone.now())
    snapshot = StreamSnapshot(stream=stream)
    _cache_set(stream_key(stream_id), (stream, None), settings.STREAM_CACHE_SECONDS)
    return snapshot


def snapshot_rendered(snapshot: StreamSnapshot, data: dict[str, Any]) -> None:
    """Keep the API's rendering of the snapshot with it in the cache."""
    snapshot.data = data
    key = stream_key(snapshot.stream.pk)
    _cache_set(key, (snapshot.stream, data), settings.STREAM_CACHE_SECONDS)


@dataclass(frozen=True)
class CallerFlags:
    """What `caller_flags` reads of one user in one stream."""

    joined: bool  # has a participant row (joined as audience once)
    present: bool  # watching now
    blocked: bool  # a BLOCK ban in force
    rental: ReplayAccess | None  # their replay rental, if any


NOBODY = CallerFlags(joined=False, present=False, blocked=False, rental=None)


def caller_flags(stream_id: str, user: User | None) -> CallerFlags:
    """The caller's flags in the stream, in one query on the user's row (none for
    an anonymous caller)."""
    if user is None or not user.is_authenticated:
        return NOBODY
    mine = {"live_stream_id": stream_id, "user": OuterRef("pk")}
    participation = Participant.objects.filter(**mine)
    rental = ReplayAccess.objects.filter(**mine).order_by("-rented_at")
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            joined=Exists(participation),
            present=Exists(participation.filter(is_present=True)),
            blocked=Exists(
                LiveStreamBan.objects.in_force().filter(**mine, action_type=BanAction.BLOCK)
            ),
            rented_at=Subquery(rental.values("rented_at")[:1]),
            rental_expires_at=Subquery(rental.values("expires_at")[:1]),
        )
        .values_list("joined", "present", "blocked", "rented_at", "rental_expires_at")
        .first()
    )
    if row is None:
        return NOBODY
    joined, present, blocked, rented_at, expires_at = row
    rented = None
    if rented_at is not None:
        rented = ReplayAccess(
            live_stream_id=stream_id, user=user, rented_at=rented_at, expires_at=expires_at
        )
    return CallerFlags(joined=joined, present=present, blocked=blocked, rental=rented)


@dataclass(frozen=True)
class CallerView:
    """The per-caller parts of the stream's representation."""

    role: Role | None
    replay: Any  # viewing.ReplayAccessState


def caller_view(
    snapshot: StreamSnapshot,
    user: User | None,
    now: datetime,
    flags: CallerFlags | None = None,
) -> CallerView:
    """The caller's role and replay access in the snapshot's stream, as
    `prepare_for_viewer` decides them. The creator and the guests are known from
    the snapshot; anyone else's `caller_flags` are read (one query) unless given."""
    stream = snapshot.stream
    role: Role | None = None
    rental = None
    if user is not None and stream.creator_id == user.pk:
        role = Role.HOST
    elif user is not None and user.pk in stream.guest_ids:
        role = Role.GUEST
    else:
        flags = flags if flags is not None else caller_flags(stream.pk, user)
        role = Role.AUDIENCE if flags.joined else None
        rental = flags.rental
    return CallerView(
        role=role, replay=replay_access_state(stream=stream, role=role, rental=rental, now=now)
    )


def viewer_count_now(stream_id: str) -> int:
    """How many watch the visible stream `stream_id` now (404 if none): the kept
    count, from the cache or one query on the stream and its ViewerCount row."""
    key = viewers_key(stream_id)
    cached = _cache_get(key)
    if cached is not None:
        return int(cached)
    kept = (
        LiveStream.objects.visible()
        .filter(pk=stream_id)
        .annotate(viewers_now=Coalesce(F("viewer_count__viewers"), 0))
        .values_list("viewers_now", flat=True)
        .first()
    )
    if kept is None:
        raise NotFound("No live stream has this id.")
    count = max(int(kept), 0)
    _cache_set(key, count, settings.VIEWER_COUNT_CACHE_SECONDS)
    return count
