"""The creator's and the moderators' actions on a stream: ending, cancelling,
removing (a soft delete) and restoring it; the back office's edits and price
changes; the creator's replay settings. Each is audited."""

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from allmine.core.audit import audit_record
from allmine.core.errors import Conflict, InsufficientPermissions, NotFound, ValidationFailed
from allmine.core.media import delete_files_on_commit
from allmine.core.permissions import is_moderator
from allmine.core.tasks import enqueue_on_commit
from livestreams.lifecycle import (
    NOT_STARTED,
    Action,
    Actor,
    removal_ends_first,
    transition_target,
)
from livestreams.models import LiveStream
from livestreams.selectors.viewing import prepare_for_viewer
from livestreams.services import agora_kicks, recording
from livestreams.services.access import (
    actor_in,
    stream_for,
    stream_to_manage,
    validate_planned_date,
    validate_price,
)
from livestreams.services.audience import audience_leaves
from livestreams.services.money import refund_contributions
from livestreams.services.reminders import reminders_drop
from livestreams.tasks.agora import agora_kick_run, recording_run


def end_stream(stream: LiveStream, now: datetime, *, by: Actor) -> None:
    """End an active stream (locked): everyone leaves; after the commit, Agora is
    asked to take everyone out of the channel and to stop recording it."""
    stream.status = transition_target(Action.END, stream.status, by)
    stream.ended_at = now
    stream.host_present = False
    stream.save(update_fields=["status", "ended_at", "host_present", "updated_at"])
    audience_leaves(stream, now)
    kick = agora_kicks.kick_create_for_end(live_stream=stream)
    if kick is not None:  # everyone out of the channel
        enqueue_on_commit(agora_kick_run, kick.pk)
    stop_recordings(stream, now)


def stop_recordings(stream: LiveStream, now: datetime) -> None:
    """A stream that is over (ended, expired, removed) is no longer recorded;
    the stops are enqueued for after the commit."""
    for recording_id in recording.recordings_end(stream=stream, now=now):
        enqueue_on_commit(recording_run, recording_id)


def _manager(stream: LiveStream, actor: User) -> Actor:
    """The actor of a stream from `stream_to_manage`: its creator or a moderator."""
    return Actor.CREATOR if stream.creator_id == actor.pk else Actor.MODERATOR


def livestream_end(*, actor: User, live_stream_id: str, reason: str = "") -> LiveStream:
    """The creator or a moderator ends an active stream."""
    now = timezone.now()
    with transaction.atomic():
        stream = stream_to_manage(actor, live_stream_id)
        old_status = stream.status
        end_stream(stream, now, by=_manager(stream, actor))
        audit_record(
            actor=actor,
            action="end",
            target=stream,
            reason=reason,
            changes={"status": (old_status, stream.status)},
        )
        return prepare_for_viewer([stream], actor, now)[0]


def livestream_cancel(*, actor: User, live_stream_id: str, reason: str = "") -> LiveStream:
    """Cancel before the start: `cancelled_by_host` for the creator (or a
    moderator), `cancelled_by_guest` for an invited guest; funding is refunded."""
    now = timezone.now()
    with transaction.atomic():
        stream = stream_to_manage(actor, live_stream_id, guests_may=True)
        new_status = transition_target(Action.CANCEL, stream.status, actor_in(stream, actor))
        old_status = stream.status
        stream.status = new_status
        stream.cancelled_by = actor  # a moderator's cancel is `cancelled_by_host` too
        stream.save(update_fields=["status", "cancelled_by", "updated_at"])
        refunded = refund_contributions(stream)
        reminders_drop(live_stream_id=stream.pk, now=now)
        audit_record(
            actor=actor,
            action="cancel",
            target=stream,
            reason=reason,
            changes={"status": (old_status, new_status), "refundedContributions": (0, refunded)},
        )
        return prepare_for_viewer([stream], actor, now)[0]


def livestream_remove(*, actor: User, live_stream_id: str, reason: str = "") -> None:
    """Soft-delete a stream. Its creator may not while it is active; a moderator
    removing an active stream ends it first. Funding of a stream that will now
    not take place is refunded."""
    now = timezone.now()
    with transaction.atomic():
        stream = stream_to_manage(actor, live_stream_id)
        moderating = stream.creator_id != actor.pk
        if removal_ends_first(stream.status, by_moderator=moderating):
            end_stream(stream, now, by=Actor.MODERATOR)
        stop_recordings(stream, now)
        if stream.status in NOT_STARTED:
            refund_contributions(stream)
        reminders_drop(live_stream_id=stream.pk, now=now)
        stream.deleted_at = now
        stream.deleted_by = actor
        stream.deletion_reason = reason or (
            "Removed by a moderator." if moderating else "Deleted by its creator."
        )
        # The row stays for the moderators; the uploaded thumbnail goes (once the
        # removal has committed), and a restored stream shows the default one.
        delete_files_on_commit([stream.thumbnail])
        stream.thumbnail = ""
        stream.save(
            update_fields=["deleted_at", "deleted_by", "deletion_reason", "thumbnail", "updated_at"]
        )
        audit_record(
            actor=actor,
            action="remove",
            target=stream,
            reason=stream.deletion_reason,
            changes={"deletedAt": (None, now)},
        )


def livestream_restore(*, actor: User, live_stream_id: str, reason: str = "") -> LiveStream:
    """A moderator brings back a removed stream (as it was when removed: an
    ended or refunded stream stays so)."""
    if not is_moderator(actor):
        raise InsufficientPermissions(_("Only a moderator can restore a live stream."))
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
        if stream is None:
            raise NotFound(_("No live stream has this id."))
        if not stream.is_removed:
            raise Conflict(_("This live stream is not removed."))
        removed_at = stream.deleted_at
        stream.deleted_at = None
        stream.deleted_by = None
        stream.deletion_reason = ""
        try:
            with transaction.atomic():
                stream.save(
                    update_fields=["deleted_at", "deleted_by", "deletion_reason", "updated_at"]
                )
        except IntegrityError:
            raise Conflict(
                _("Its creator has another live stream preparing or active; end that one first.")
            ) from None
        audit_record(
            actor=actor,
            action="restore",
            target=stream,
            reason=reason,
            changes={"deletedAt": (removed_at, None)},
        )
    return stream


# What a superuser may edit on a stream in the back office (the rest is owned by
# the server or changed only through the lifecycle actions).
ADMIN_EDITABLE_FIELDS = {
    "title",
    "live_stream_type",
    "interest",
    "motivation",
    "planned_start_date",
    "planned_end_date",
    "duration_goal",
    "funding_goal",
    "recording",
    "is_active_replay_on_creator_profile",
}


def livestream_admin_update(
    *, actor: User, live_stream_id: str, changes: dict[str, Any], reason: str = ""
) -> LiveStream:
    """A superuser's edit of a stream's content in the back office, audited."""
    if not (actor.is_active and actor.has_perm("livestreams.change_livestream")):
        raise InsufficientPermissions(_("You may not edit live streams."))
    unknown = set(changes) - ADMIN_EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            *(f"{name}: This field cannot be edited." for name in sorted(unknown))
        )
    if "funding_goal" in changes:
        validate_price(
            "fundingGoal", changes["funding_goal"], maximum=settings.LIVESTREAM_MAX_FUNDING_GOAL
        )
    now = timezone.now()
    for name, label in (
        ("planned_start_date", "plannedStartDate"),
        ("planned_end_date", "plannedEndDate"),
    ):
        if name in changes:
            validate_planned_date(label, changes[name], now=now)
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
        if stream is None:
            raise NotFound(_("No live stream has this id."))
        old = {name: getattr(stream, name) for name in changes}
        for name, value in changes.items():
            setattr(stream, name, value)
        start, end = stream.planned_start_date, stream.planned_end_date
        if start and end and end <= start:
            raise ValidationFailed.field("plannedEndDate", _("Must be after plannedStartDate."))
        stream.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=actor,
            action="edit",
            target=stream,
            reason=reason,
            changes={name: (old[name], value) for name, value in changes.items()},
        )
    return stream


class _Unchanged(Enum):
    UNCHANGED = "unchanged"


# A price not given (None is a price: none).
UNCHANGED: Final = _Unchanged.UNCHANGED


def livestream_set_prices(
    *,
    actor: User,
    live_stream_id: str,
    price: Decimal | Literal[_Unchanged.UNCHANGED] | None = UNCHANGED,
    replay_credit_price: Decimal | Literal[_Unchanged.UNCHANGED] | None = UNCHANGED,
    reason: str = "",
) -> LiveStream:
    """A moderator's price change (the back office), validated by the same rules as
    the API; `accessType` follows the price."""
    if not (actor.is_active and actor.has_perm("livestreams.change_livestream_price")):
        raise InsufficientPermissions(_("You may not change live stream prices."))
    changes: dict[str, Decimal | None] = {}
    if price is not UNCHANGED:
        validate_price("price", price)
        changes["price"] = price if price else None
    if replay_credit_price is not UNCHANGED:
        validate_price("replayCreditPrice", replay_credit_price)
        changes["replay_credit_price"] = replay_credit_price
    with transaction.atomic():
        stream = LiveStream.objects.select_for_update().filter(pk=live_stream_id).first()
        if stream is None:
            raise NotFound(_("No live stream has this id."))
        old = {name: getattr(stream, name) for name in changes}
        if all(old[name] == value for name, value in changes.items()):
            return stream
        for name, value in changes.items():
            setattr(stream, name, value)
        stream.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=actor,
            action="change_price",
            target=stream,
            reason=reason,
            changes={name: (old[name], value) for name, value in changes.items()},
        )
    return stream


def livestream_update_replay_settings(
    *, actor: User, live_stream_id: str, **changes: Any
) -> LiveStream:
    """The creator turns the replay on their profile on or off and sets its price."""
    now = timezone.now()
    allowed = {"is_active_replay_on_creator_profile", "replay_credit_price"}
    if not changes or set(changes) - allowed:
        raise ValidationFailed(_("Send isActiveReplayOnCreatorProfile and/or replayCreditPrice."))
    if "replay_credit_price" in changes:
        validate_price("replayCreditPrice", changes["replay_credit_price"])
    with transaction.atomic():
        stream = stream_for(actor, live_stream_id, lock=True)
        if stream.creator_id != actor.pk:
            raise InsufficientPermissions(
                _("Only the creator of this live stream can change its replay.")
            )
        for name, value in changes.items():
            setattr(stream, name, value)
        stream.save(update_fields=[*changes, "updated_at"])
        return prepare_for_viewer([stream], actor, now)[0]
