"""Banning a user from a stream, and lifting the ban (contract §4, Bans).

A BLOCK also keeps the user out of the stream's Agora channel with a kicking
rule, and lifting it deletes that rule (`services.agora_kicks`); Agora is spoken
to by background tasks after the commit, never inside the request."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from allmine.core.audit import audit_record
from allmine.core.errors import Conflict, InsufficientPermissions, NotFound, ValidationFailed
from allmine.core.permissions import is_moderator
from allmine.core.tasks import enqueue_on_commit
from livestreams.caching import forget_stream
from livestreams.models import BanAction, Guest, LiveStreamBan, Participant
from livestreams.services import agora_kicks
from livestreams.services.access import stream_to_manage
from livestreams.tasks.agora import agora_kick_run


def ban_create(
    *, actor: User, live_stream_id: str, target_user_id: str, action_type: str, reason: str = ""
) -> LiveStreamBan:
    """Ban a user from a stream. A BLOCK takes effect at once: the user leaves the
    audience and the broadcasters, and the next join or renew is refused."""
    now = timezone.now()
    with transaction.atomic():
        stream = stream_to_manage(actor, live_stream_id)
        target = User.objects.filter(pk=target_user_id).first()
        if target is None:
            raise NotFound(_("No user has this id."))
        if target.pk == stream.creator_id:
            raise ValidationFailed.field(
                "targetUserId", _("The creator cannot be banned from their own live stream.")
            )
        if target.pk == actor.pk:
            raise ValidationFailed.field("targetUserId", _("You cannot ban yourself."))
        if LiveStreamBan.objects.in_force().filter(live_stream=stream, user=target).exists():
            raise Conflict(
                _("This user is already banned from this live stream; lift that ban first.")
            )
        try:
            with transaction.atomic():
                ban = LiveStreamBan.objects.create(
                    live_stream=stream,
                    user=target,
                    action_type=action_type,
                    reason=reason,
                    created_by=actor,
                    created_at=now,
                )
        except IntegrityError:
            raise Conflict(_("This user is already banned from this live stream.")) from None
        audit_record(
            actor=actor,
            action="ban",
            target=stream,
            reason=reason,
            changes={"bannedUser": (None, target.pk), "actionType": (None, action_type)},
        )
        if action_type == BanAction.BLOCK:
            for participant in Participant.objects.select_for_update().filter(
                live_stream=stream, user=target, is_present=True
            ):
                participant.mark_left(now)
                participant.save(update_fields=Participant.LEAVE_FIELDS)
            Guest.objects.filter(live_stream=stream, user=target).update(has_joined=False)
            forget_stream(stream.pk)
            kick = agora_kicks.kick_create_for_ban(ban=ban)
            if kick is not None:
                enqueue_on_commit(agora_kick_run, kick.pk)
    return ban


def ban_lift(*, actor: User, ban_id: str, reason: str = "") -> LiveStreamBan:
    """Lift a ban (a soft delete: the row stays, with who lifted it and when)."""
    with transaction.atomic():
        ban = (
            LiveStreamBan.objects.select_for_update(of=("self",))
            .select_related("live_stream")
            .filter(pk=ban_id, live_stream__deleted_at__isnull=True)
            .first()
        )
        if ban is None:
            raise NotFound(_("No ban has this id."))
        if ban.live_stream.creator_id != actor.pk and not is_moderator(actor):
            raise InsufficientPermissions(
                _("Only the creator of this live stream or a moderator can do this.")
            )
        if ban.lifted_at is not None:
            raise Conflict(_("This ban has already been lifted."))
        ban.lifted_at = timezone.now()
        ban.lifted_by = actor
        ban.save(update_fields=["lifted_at", "lifted_by", "updated_at"])
        audit_record(
            actor=actor,
            action="unban",
            target=ban.live_stream,
            reason=reason,
            changes={"bannedUser": (ban.user_id, None)},
        )
        # The user may join again: their kicking rule at Agora goes too.
        for kick_id in agora_kicks.kicks_lift_for_ban(ban=ban, now=ban.lifted_at):
            enqueue_on_commit(agora_kick_run, kick_id)
    return ban
