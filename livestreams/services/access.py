"""Loading a stream for a caller, and the checks every service shares."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import User
from allmine.core.errors import InsufficientPermissions, NotFound, ValidationFailed
from allmine.core.fields import EARLIEST_ACCEPTED, datetime_window_error
from allmine.core.permissions import is_moderator
from livestreams.lifecycle import Actor
from livestreams.models import LiveStream
from livestreams.policy import Caller, StreamAction, ensure_may_act
from livestreams.selectors.streams import streams_for_caller, streams_for_user


def validate_price(field: str, value: Decimal | None, *, maximum: Decimal | None = None) -> None:
    """A price or credit amount: not negative, at most 2 decimals, within the maximum."""
    if value is None:
        return
    maximum = settings.LIVESTREAM_MAX_PRICE if maximum is None else maximum
    if value < 0:
        raise ValidationFailed.field(field, _("Must not be negative."))
    exponent = value.as_tuple().exponent  # a letter for an infinity: "Must be at most" below
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise ValidationFailed.field(field, _("Use at most 2 decimals."))
    if value > maximum:
        raise ValidationFailed.field(
            field, _("Must be at most %(maximum)s.") % {"maximum": maximum}
        )


def validate_planned_date(field: str, value: datetime | None, *, now: datetime) -> None:
    """A planned start or end: from 2000 to LIVESTREAM_MAX_SCHEDULE_DAYS from now, so
    that whatever is stored can be read back (the API's field says the same)."""
    if value is None:
        return
    latest = now + timedelta(days=settings.LIVESTREAM_MAX_SCHEDULE_DAYS)
    problem = datetime_window_error(value, earliest=EARLIEST_ACCEPTED, latest=latest)
    if problem:
        raise ValidationFailed.field(field, problem)


def refuse_blocked(stream: LiveStream) -> None:
    """The one place the join and renew paths refuse a user banned (BLOCK) from a
    stream, on a stream loaded through `selectors.streams_for_user`."""
    if stream.viewer_is_blocked:
        raise InsufficientPermissions(_("You are banned from this live stream."))


def stream_for(user: User, live_stream_id: str, *, lock: bool = False) -> LiveStream:
    """The stream, not removed, with what the join paths know of `user`
    (`selectors.streams.streams_for_user`); locked with `lock`. 404 if none."""
    streams = streams_for_user(user).visible()
    if lock:
        streams = streams.select_for_update(of=("self",))
    stream = streams.filter(pk=live_stream_id).first()
    if stream is None:
        raise NotFound(_("No live stream has this id."))
    return stream


def stream_for_caller(user: User, live_stream_id: str, *, lock: bool = False) -> LiveStream:
    """`stream_for`, with the user's ban in force too (`policy.Caller` needs it)."""
    streams = streams_for_caller(user).visible()
    if lock:
        streams = streams.select_for_update(of=("self",))
    stream = streams.filter(pk=live_stream_id).first()
    if stream is None:
        raise NotFound(_("No live stream has this id."))
    return stream


def caller_in(stream: LiveStream, user: User) -> Caller:
    """Who `user` is in `stream` (loaded through `stream_for_caller`), for the
    policy of `livestreams.policy`."""
    return Caller(
        is_creator=stream.creator_id == user.pk,
        is_guest=bool(stream.viewer_is_guest),
        has_joined=bool(stream.viewer_is_participant),
        ban=stream.viewer_ban_action,
        is_moderator=lambda: is_moderator(user),
    )


def stream_where_may(
    user: User, live_stream_id: str, action: StreamAction, *, lock: bool = False
) -> LiveStream:
    """The stream (404 if none) if `user` may do `action` in it now, by the policy
    of `livestreams.policy` (403 for a ban or a role, 409 for its status)."""
    stream = stream_for_caller(user, live_stream_id, lock=lock)
    ensure_may_act(action, status=stream.status, caller=caller_in(stream, user))
    return stream


def stream_to_manage(actor: User, live_stream_id: str, *, guests_may: bool = False) -> LiveStream:
    """The stream, locked, if `actor` is its creator or a moderator (or, with
    `guests_may`, one of its invited guests)."""
    stream = stream_for(actor, live_stream_id, lock=True)
    ensure_can_manage(actor, stream, guests_may=guests_may)
    return stream


def ensure_can_manage(actor: User, stream: LiveStream, *, guests_may: bool = False) -> None:
    """The creator and the moderators manage a stream (and, where `guests_may`,
    its invited guests: a stream from `streams_for_user`)."""
    if stream.creator_id == actor.pk or is_moderator(actor):
        return
    if guests_may and stream.viewer_is_guest:
        return
    raise InsufficientPermissions(
        _("Only the creator of this live stream or a moderator can do this.")
    )


def actor_in(stream: LiveStream, user: User) -> Actor | None:
    """Who `user` is to `stream` for the lifecycle's transitions (a stream from
    `streams_for_user`): its creator, an invited guest, a moderator, or nobody."""
    if stream.creator_id == user.pk:
        return Actor.CREATOR
    if getattr(stream, "viewer_is_guest", False):
        return Actor.GUEST
    if is_moderator(user):
        return Actor.MODERATOR
    return None
