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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from allmine.core.errors import NotFound
from allmine.core.throttling import cache_skipped
from livestreams.caching import may_store, stream_key, viewers_key
from livestreams.lifecycle import Role
from livestreams.models import (
    BanAction,
    LiveStream,
    LiveStreamBan,
    Participant,
    ReplayAccess,
    kept_viewers,
)
from livestreams.selectors.streams import stream_visible, streams_with_creator
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
    if cache_skipped():  # the cache timed out a moment ago: not asked meanwhile
        return None
    try:
        return cache.get(key)
    except Exception as exc:  # any cache failure: read the database
        logger.warning("The cache failed a read: %s", type(exc).__name__)
        return None


def _cache_set(key: str, value: Any, seconds: float) -> None:
    if seconds <= 0 or cache_skipped() or not may_store(key):
        return
    try:
        cache.set(key, value, seconds)
    except Exception as exc:
        logger.warning("The cache failed a write: %s", type(exc).__name__)


def stream_snapshot(stream_id: str, *, fresh: bool = False) -> StreamSnapshot:
    """The visible stream `stream_id` (404 if none), from the cache or, on a miss
    (or `fresh`), from the database (three queries: the stream with its creator,
    the guests, the mini crowdfundings), then cached."""
    entry = None if fresh else _cache_get(stream_key(stream_id))
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
    # The stream's status and price as committed now (None: removed or unknown),
    # for the decisions that must not trust a cached snapshot (joining, paying).
    status: str | None = None
    price: Decimal | None = None


NOBODY = CallerFlags(joined=False, present=False, blocked=False, rental=None)


_FLAGS = ("flag_joined", "flag_present", "flag_blocked", "flag_rented_at", "flag_expires_at")


def _flag_annotations(mine: dict[str, Any]) -> dict[str, Any]:
    """The caller's flags as annotations; `mine` selects their rows in the
    stream (the stream and the user, one of them an OuterRef)."""
    participation = Participant.objects.filter(**mine)
    rental = ReplayAccess.objects.filter(**mine).order_by("-rented_at")
    return {
        "flag_joined": Exists(participation),
        "flag_present": Exists(participation.filter(is_present=True)),
        "flag_blocked": Exists(
            LiveStreamBan.objects.in_force().filter(**mine, action_type=BanAction.BLOCK)
        ),
        "flag_rented_at": Subquery(rental.values("rented_at")[:1]),
        "flag_expires_at": Subquery(rental.values("expires_at")[:1]),
    }


def _flags(
    stream_id: str, user: User, values: tuple[Any, ...], status: str | None, price: Any
) -> CallerFlags:
    joined, present, blocked, rented_at, expires_at = values
    rented = None
    if rented_at is not None:
        rented = ReplayAccess(
            live_stream_id=stream_id, user=user, rented_at=rented_at, expires_at=expires_at
        )
    return CallerFlags(
        joined=bool(joined),
        present=bool(present),
        blocked=bool(blocked),
        rental=rented,
        status=status,
        price=price,
    )


# The flags query is the same for every caller but for two ids: compiled by the
# ORM once per database vendor, with stand-ins for the ids, then run with the real
# ids (building and compiling it cost more CPU than the rest of a join's queries).
_STREAM, _USER = "\x00stream", "\x00user"
_COMPILED: dict[str, tuple[str, list[Any]]] = {}


def _flags_query(stream_id: str, user_id: str) -> Any:
    stream = LiveStream.objects.visible().filter(pk=stream_id)
    return (
        User.objects.filter(pk=user_id)
        .annotate(
            **_flag_annotations({"live_stream_id": stream_id, "user": OuterRef("pk")}),
            stream_status=Subquery(stream.values("status")[:1]),
            stream_price=Subquery(stream.values("price")[:1]),
        )
        .values_list(*_FLAGS, "stream_status", "stream_price")
    )


def _compiled_flags(stream_id: str, user_id: str) -> tuple[str, list[Any]]:
    vendor = connection.vendor
    if vendor not in _COMPILED:
        query = _flags_query(_STREAM, _USER).query
        sql, params = query.get_compiler(connection=connection).as_sql()
        _COMPILED[vendor] = (sql, list(params))
    sql, params = _COMPILED[vendor]
    ids = {_STREAM: stream_id, _USER: user_id}
    return sql, [ids.get(p, p) if isinstance(p, str) else p for p in params]


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):  # SQLite: naive, in UTC
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _as_money(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def caller_flags(stream_id: str, user: User | None) -> CallerFlags:
    """The caller's flags in the stream, and the stream's status and price, in
    one query on the user's row (none for an anonymous caller)."""
    if user is None or not user.is_authenticated:
        return NOBODY
    sql, params = _compiled_flags(stream_id, user.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return NOBODY
    joined, present, blocked, rented_at, expires_at, status, price = row
    values = (joined, present, blocked, _as_datetime(rented_at), _as_datetime(expires_at))
    return _flags(stream_id, user, values, status, _as_money(price))


def snapshot_for_caller(stream_id: str, user: User) -> tuple[StreamSnapshot, CallerFlags]:
    """The stream's snapshot and the caller's flags, as the join needs them: on a
    cache hit, `caller_flags` (one query); on a miss, the stream is read with the
    flags in the same query (then its guests and mini crowdfundings: three in all),
    and cached. 404 if the stream is not visible."""
    entry = _cache_get(stream_key(stream_id))
    if entry is not None:
        snapshot = StreamSnapshot(stream=entry[0], data=entry[1], cached=True)
        flags = caller_flags(stream_id, user)
        if flags.status is None:
            raise NotFound("No live stream has this id.")
        if (flags.status, flags.price) == (snapshot.stream.status, snapshot.stream.price):
            return snapshot, flags
        # Changed since it was cached (its forget is on its way): read it again.
    mine = {"live_stream": OuterRef("pk"), "user": user}
    stream = (
        streams_with_creator()
        .visible()
        .filter(pk=stream_id)
        .annotate(**_flag_annotations(mine))
        .first()
    )
    if stream is None:
        raise NotFound("No live stream has this id.")
    values = tuple(getattr(stream, name) for name in _FLAGS)
    for name in _FLAGS:  # the caller's, not the stream's: never cached
        delattr(stream, name)
    flags = _flags(stream_id, user, values, stream.status, stream.price)
    prepare_for_viewer([stream], None, timezone.now())
    _cache_set(stream_key(stream_id), (stream, None), settings.STREAM_CACHE_SECONDS)
    return StreamSnapshot(stream=stream), flags


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
    count, from the cache or one query on the stream and the sum of its
    ViewerCount rows."""
    key = viewers_key(stream_id)
    cached = _cache_get(key)
    if cached is not None:
        return int(cached)
    kept = (
        LiveStream.objects.visible()
        .filter(pk=stream_id)
        .annotate(viewers_now=kept_viewers(OuterRef("pk")))
        .values_list("viewers_now", flat=True)
        .first()
    )
    if kept is None:
        raise NotFound("No live stream has this id.")
    count = max(int(kept), 0)
    _cache_set(key, count, settings.VIEWER_COUNT_CACHE_SECONDS)
    return count
