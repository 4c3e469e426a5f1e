"""The broadcasters going live: the creator (a scheduled or preparing stream
becomes active; a recorded stream starts being recorded) and the invited guests
of a duo stream (contract §3)."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from allmine.core.errors import Conflict, InsufficientPermissions, NotFound
from allmine.core.tasks import enqueue_on_commit
from livestreams.agora import tokens
from livestreams.lifecycle import (
    Action,
    Role,
    can_transition,
    ensure_may,
    ensure_may_join,
    transition_target,
)
from livestreams.models import Guest
from livestreams.selectors.streams import streams_for_user
from livestreams.selectors.viewing import prepare_for_viewer
from livestreams.services import recording
from livestreams.services.access import actor_in, refuse_blocked, stream_for
from livestreams.services.results import JoinResult
from livestreams.tasks.agora import recording_run


def livestream_join_as_creator(*, user: User, live_stream_id: str) -> JoinResult:
    """The creator goes live: a scheduled or preparing stream becomes active; joining
    again while active only issues fresh credentials."""
    now = timezone.now()
    with transaction.atomic():
        stream = (
            streams_for_user(user).select_for_update(of=("self",)).filter(pk=live_stream_id).first()
        )
        if stream is None or (stream.is_removed and stream.creator_id != user.pk):
            raise NotFound(_("No live stream has this id."))
        actor = actor_in(stream, user)
        ensure_may(Action.GO_LIVE, actor)
        refuse_blocked(stream)
        if stream.is_removed:
            if stream.deleted_by_id == user.pk:
                raise Conflict(_("You deleted this live stream."))
            raise Conflict(_("This live stream was removed by a moderator."))
        ensure_may_join(Role.HOST, stream.status)
        # A scheduled or preparing stream goes live; an active one is joined again.
        if can_transition(Action.GO_LIVE, stream.status, actor):
            stream.status = transition_target(Action.GO_LIVE, stream.status, actor)
            stream.started_at = now
            stream.host_joined_at = now
            stream.host_present = True
            try:
                stream.save(
                    update_fields=[
                        "status",
                        "started_at",
                        "host_joined_at",
                        "host_present",
                        "updated_at",
                    ]
                )
            except IntegrityError:
                # The database's one-open-stream rule: another of the creator's
                # streams is preparing or active (the transaction is rolled back).
                raise Conflict(
                    "You already have another live stream that is preparing or active; "
                    "end it first."
                ) from None
        elif not stream.host_present:  # back after leaving the channel
            stream.host_present = True
            stream.save(update_fields=["host_present", "updated_at"])
        # Recorded from now on (again, if Agora ended an earlier recording); the
        # request never waits for Agora: the recording starts after the commit.
        started = recording.recording_begin(stream=stream)
        if started is not None:
            enqueue_on_commit(recording_run, started.pk)
        credentials = tokens.issue_credentials(
            channel_name=stream.channel_name, user=user, role=tokens.HOST, now=now
        )
        return JoinResult(prepare_for_viewer([stream], user, now)[0], credentials)


def livestream_join_as_guest(*, user: User, live_stream_id: str) -> JoinResult:
    """An invited guest joins a duo stream as a second broadcaster."""
    now = timezone.now()
    with transaction.atomic():
        # Locked so that a guest cannot slip in while the stream is being ended.
        stream = stream_for(user, live_stream_id, lock=True)
        guest = Guest.objects.select_for_update().filter(live_stream=stream, user=user).first()
        if guest is None:
            raise InsufficientPermissions(
                _("Only an invited guest of this live stream can join as guest.")
            )
        refuse_blocked(stream)
        ensure_may_join(Role.GUEST, stream.status)
        if not guest.has_joined:
            guest.uid = user.agora_uid
            guest.has_joined = True
            guest.joined_at = now
            guest.save(update_fields=["uid", "has_joined", "joined_at"])
        credentials = tokens.issue_credentials(
            channel_name=stream.channel_name, user=user, role=tokens.HOST, now=now
        )
        return JoinResult(prepare_for_viewer([stream], user, now)[0], credentials)
