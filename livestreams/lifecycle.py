"""The life of a live stream, in one place (contract §4).

- its statuses, and the transitions between them with who may make each;
- the role a user has in a stream, and in which statuses each role may join the
  Agora channel or be in it;
- which streams the periodic jobs expire and end, which one may be funded,
  removed or rented, when a reminder fires or is dropped;
- what "paid" means.

The services, the Agora webhook, the admin's filters, the staff commands and the
schema ask this module; no status rule is written anywhere else. It imports no
model, so the models can use it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _

from allmine.core.errors import Conflict, InsufficientPermissions

if TYPE_CHECKING:
    from livestreams.models import LiveStream


class LiveStreamStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    PREPARING = "preparing", _("preparing")
    ACTIVE = "active", _("active")
    ENDED = "ended", _("ended")
    EXPIRED = "expired", _("expired")
    CANCELLED_BY_HOST = "cancelled_by_host", _("cancelled by host")
    CANCELLED_BY_GUEST = "cancelled_by_guest", _("cancelled by guest")


S = LiveStreamStatus

# Before the creator has gone live: a stream that can still be cancelled, and
# whose funding is refunded if it will now not take place.
NOT_STARTED = frozenset({S.SCHEDULED, S.PREPARING})
# A creator has at most one stream in these statuses at a time (not removed).
OPEN_STATUSES = (S.PREPARING, S.ACTIVE)
# Only a scheduled stream (with a funding goal) takes contributions.
FUNDABLE_STATUSES = frozenset({S.SCHEDULED})
# Only an ended stream has a replay to rent.
REPLAYABLE_STATUS = S.ENDED


def initial_status(planned_start: datetime | None, now: datetime) -> LiveStreamStatus:
    """A new stream is scheduled when it is planned in the future, else preparing."""
    return S.SCHEDULED if planned_start is not None and planned_start > now else S.PREPARING


# --- Transitions -----------------------------------------------------------------


class Actor(StrEnum):
    """Who makes a transition."""

    CREATOR = "creator"
    GUEST = "guest"  # an invited guest
    MODERATOR = "moderator"
    SCHEDULER = "scheduler"  # the periodic jobs (expire, end overdue)


class Action(StrEnum):
    GO_LIVE = "go_live"
    END = "end"
    EXPIRE = "expire"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Transition:
    action: Action
    source: LiveStreamStatus
    target: LiveStreamStatus
    who: frozenset[Actor]


CREATOR, GUEST, MODERATOR, SCHEDULER = Actor.CREATOR, Actor.GUEST, Actor.MODERATOR, Actor.SCHEDULER

TRANSITIONS: tuple[Transition, ...] = tuple(
    Transition(action, source, target, frozenset(who))
    for action, source, target, who in (
        # action          from          to                    who
        (Action.GO_LIVE, S.SCHEDULED, S.ACTIVE,             {CREATOR}),
        (Action.GO_LIVE, S.PREPARING, S.ACTIVE,             {CREATOR}),
        (Action.END,     S.ACTIVE,    S.ENDED,              {CREATOR, MODERATOR, SCHEDULER}),
        (Action.EXPIRE,  S.SCHEDULED, S.EXPIRED,            {SCHEDULER}),
        (Action.CANCEL,  S.SCHEDULED, S.CANCELLED_BY_HOST,  {CREATOR, MODERATOR}),
        (Action.CANCEL,  S.PREPARING, S.CANCELLED_BY_HOST,  {CREATOR, MODERATOR}),
        (Action.CANCEL,  S.SCHEDULED, S.CANCELLED_BY_GUEST, {GUEST}),
        (Action.CANCEL,  S.PREPARING, S.CANCELLED_BY_GUEST, {GUEST}),
    )
)  # fmt: skip

# What a refused transition says: to someone not in its `who` (403), and for a
# stream in a status it does not leave (409).
NOT_ALLOWED = {
    Action.GO_LIVE: _("Only the creator of this live stream can join as creator."),
    Action.END: _("Only the creator of this live stream or a moderator can do this."),
    Action.EXPIRE: _("Only the scheduler expires live streams."),
    Action.CANCEL: _("Only the creator of this live stream or a moderator can do this."),
}
WRONG_STATUS = {
    Action.GO_LIVE: _("This live stream is {status} and cannot be joined."),
    Action.END: _("This live stream is {status}; only an active stream can be ended."),
    Action.EXPIRE: _("This live stream is {status}; only a scheduled one expires."),
    Action.CANCEL: _("This live stream is {status}; only one not yet started can be cancelled."),
}


def ensure_may(action: Action, actor: Actor | None) -> None:
    """InsufficientPermissions (403) unless `actor` makes `action` in some status."""
    if not any(t.action == action and actor in t.who for t in TRANSITIONS):
        raise InsufficientPermissions(str(NOT_ALLOWED[action]))


def transition_target(action: Action, status: str, actor: Actor | None) -> LiveStreamStatus:
    """The status `action` by `actor` takes a stream in `status` to.

    InsufficientPermissions (403) if `actor` may never make it, Conflict (409) if
    the stream's status does not allow it: the contract's check order."""
    ensure_may(action, actor)
    for row in TRANSITIONS:
        if row.action == action and row.source == status and actor in row.who:
            return row.target
    raise Conflict(str(WRONG_STATUS[action]).format(status=status))


def can_transition(action: Action, status: str, actor: Actor | None) -> bool:
    """Whether `action` by `actor` (None: nobody in particular) leaves `status`."""
    return any(t.action == action and t.source == status and actor in t.who for t in TRANSITIONS)


def statuses_leaving_by(action: Action) -> frozenset[LiveStreamStatus]:
    return frozenset(t.source for t in TRANSITIONS if t.action == action)


def statuses_allowing(action: Action, actor: Actor) -> frozenset[LiveStreamStatus]:
    """The statuses in which `actor` may make `action`: what a bulk action of the
    back office applies to (the same table `transition_target` reads)."""
    return frozenset(t.source for t in TRANSITIONS if t.action == action and actor in t.who)


# --- Roles and the Agora channel ------------------------------------------------------


class Role(StrEnum):
    """A user's role in a stream (the LiveStream object's `role`)."""

    HOST = "host"
    GUEST = "guest"
    AUDIENCE = "audience"


# In which statuses each role may join (ask for tokens): the creator's join turns
# a scheduled or preparing stream active; guests may join before the start.
MAY_JOIN: dict[Role, frozenset[LiveStreamStatus]] = {
    Role.HOST: frozenset({S.SCHEDULED, S.PREPARING, S.ACTIVE}),
    Role.GUEST: frozenset({S.SCHEDULED, S.PREPARING, S.ACTIVE}),
    Role.AUDIENCE: frozenset({S.ACTIVE}),
}
# In which statuses each role may be in the channel (renew tokens, count as
# present from Agora's events).
IN_CHANNEL: dict[Role, frozenset[LiveStreamStatus]] = {
    Role.HOST: frozenset({S.ACTIVE}),
    Role.GUEST: frozenset({S.SCHEDULED, S.PREPARING, S.ACTIVE}),
    Role.AUDIENCE: frozenset({S.ACTIVE}),
}


JOIN_REFUSED = {
    Role.HOST: _("This live stream is {status} and cannot be joined."),
    Role.GUEST: _("This live stream is {status} and cannot be joined."),
    Role.AUDIENCE: _("This live stream is {status}; only an active stream can be watched."),
}
RENEW_REFUSED = _("This live stream is {status}; no new token is issued.")


def may_join(role: Role, status: str) -> bool:
    return status in MAY_JOIN[role]


def may_be_in_channel(role: Role, status: str) -> bool:
    return status in IN_CHANNEL[role]


def ensure_may_join(role: Role, status: str) -> None:
    """Conflict (409) unless `role` may join a stream in `status`."""
    if not may_join(role, status):
        raise Conflict(str(JOIN_REFUSED[role]).format(status=status))


def ensure_may_be_in_channel(role: Role, status: str) -> None:
    """Conflict (409) unless `role` may be in the channel (renew its tokens)."""
    if not may_be_in_channel(role, status):
        raise Conflict(str(RENEW_REFUSED).format(status=status))


# --- Removal -------------------------------------------------------------------------


def removal_ends_first(status: str, *, by_moderator: bool) -> bool:
    """Whether removing a stream in `status` ends it first. Its creator may not
    remove an active stream (409); a moderator's removal ends it."""
    if status != S.ACTIVE:
        return False
    if not by_moderator:
        raise Conflict(str(_("An active live stream cannot be deleted; end it first.")))
    return True


# --- The periodic jobs ------------------------------------------------------------------


def expirable_filter(now: datetime) -> Q:
    """Scheduled streams nobody started whose planned start plus
    LIVESTREAM_START_GRACE_MINUTES has passed: the ones `expire_streams` expires."""
    grace = timedelta(minutes=settings.LIVESTREAM_START_GRACE_MINUTES)
    return Q(status__in=statuses_leaving_by(Action.EXPIRE), planned_start_date__lt=now - grace)


def overdue_filter(now: datetime) -> Q:
    """Active streams long past their planned end (or, without one, their maximum
    duration): the ones `end_overdue_streams` ends."""
    grace = timedelta(minutes=settings.LIVESTREAM_OVERDUE_GRACE_MINUTES)
    longest = timedelta(hours=settings.LIVESTREAM_MAX_DURATION_HOURS)
    return Q(status__in=statuses_leaving_by(Action.END), deleted_at__isnull=True) & (
        Q(planned_end_date__lt=now - grace)
        | Q(planned_end_date__isnull=True, started_at__lt=now - longest)
    )


# --- The back office's views ----------------------------------------------------------

# Live now: the audience may be in the channel.
LIVE = frozenset(s for s in LiveStreamStatus if s in MAY_JOIN[Role.AUDIENCE])
# The order the back office lists streams in: live first, then about to start.
LIVE_FIRST: tuple[LiveStreamStatus, ...] = (S.ACTIVE, S.PREPARING, S.SCHEDULED)


def live_filter() -> Q:
    return Q(status__in=LIVE)


def live_first_rank() -> Case:
    """0 for an active stream, 1 preparing, 2 scheduled, 3 for the rest: the
    back office's stream list is ordered by it (and indexed on it)."""
    return Case(
        *(When(status=status, then=Value(rank)) for rank, status in enumerate(LIVE_FIRST)),
        default=Value(len(LIVE_FIRST)),
        output_field=IntegerField(),
    )


def starting_soon_filter(now: datetime, within: timedelta) -> Q:
    """Streams not started yet whose planned start is within `within` from now,
    or has passed by less than the grace after which they expire."""
    grace = timedelta(minutes=settings.LIVESTREAM_START_GRACE_MINUTES)
    return Q(
        status__in=NOT_STARTED,
        planned_start_date__gte=now - grace,
        planned_start_date__lte=now + within,
    )


def fundable_filter() -> Q:
    """The streams `is_fundable` accepts, for querysets."""
    return Q(status__in=FUNDABLE_STATUSES, funding_goal__gt=0)


# --- What the lists show (API-more §7) ------------------------------------------------------

# (LIVE, above: featured streams, creators to catch, a room's list of viewers.)
# A creator's past streams.
PAST = frozenset({S.ENDED})
# Upcoming streams: these whatever their dates, in this order, ...
UPCOMING_ANY_DATE = (S.ACTIVE, S.PREPARING)
# ... then these when planned inside the asked window.
UPCOMING_IN_WINDOW = frozenset({S.SCHEDULED})


# --- Reminders ----------------------------------------------------------------------------

# A reminder is kept while its stream may still start or is live, and fires once
# the stream is live; in any other status it is dropped unfired.
REMINDER_KEPT = NOT_STARTED | {S.ACTIVE}
REMINDER_FIRES = LIVE


# --- Money ------------------------------------------------------------------------------


class AccessType(models.TextChoices):
    """`"paid"` exactly when the price is above 0 (contract §2)."""

    FREE = "free", _("free")
    PAID = "paid", _("paid")

    @classmethod
    def of(cls, price: Decimal | None) -> AccessType:
        return cls.PAID if price is not None and price > 0 else cls.FREE

    @classmethod
    def filter(cls, access: str) -> Q:
        """The streams of one access type, for querysets."""
        if access == cls.PAID:
            return Q(price__gt=0)
        return Q(price__isnull=True) | Q(price=0)


def is_fundable(stream: LiveStream) -> bool:
    return stream.status in FUNDABLE_STATUSES and bool(stream.funding_goal)


def is_rentable(stream: LiveStream) -> bool:
    """A replay can be rented: ended, not removed, recorded, shown on the creator's
    profile and priced above 0."""
    return (
        stream.status == REPLAYABLE_STATUS
        and not stream.is_removed
        and stream.recording
        and bool(stream.recording_url)
        and stream.is_active_replay_on_creator_profile is True
        and stream.replay_credit_price is not None
        and stream.replay_credit_price > 0
    )
