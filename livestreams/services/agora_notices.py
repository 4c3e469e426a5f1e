"""Applying the notices of Agora's Notification Center (NCS): the broadcasters'
and the audience's presence follow the channel's events, once per notice and, for
each user, in the order of their `clientSeq`; a user Agora reports as abnormal
is kicked once a minute later; Cloud Recording's events tell when a recording's
files are uploaded. Old notices are pruned."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from allmine.core.tasks import enqueue_on_commit
from livestreams.agora import notices as ncs
from livestreams.caching import forget_stream
from livestreams.lifecycle import Role, may_be_in_channel
from livestreams.models import (
    AgoraClientSequence,
    AgoraNotice,
    AgoraNoticeOutcome,
    Guest,
    LiveStream,
    Participant,
)
from livestreams.selectors.streams import user_is_blocked
from livestreams.services import agora_kicks, recording
from livestreams.services.audience import participants_leave
from livestreams.tasks.agora import agora_kick_run, recording_run

User = get_user_model()

# The outcome of a notice seen before (it is not stored again).
DUPLICATE = "duplicate"
# An event's `ts` is in whole seconds and clocks drift: an event is taken to have
# happened before one of our own changes only when it did by more than this.
EVENT_SLACK = timedelta(seconds=2)


def agora_notice_apply(
    *,
    notice_id: str,
    event_type: int,
    payload: dict[str, Any],
    product_id: int | None = None,
    notify_ms: int | None = None,
    channel_name: str = "",
    uid: int | None = None,
    client_seq: int | None = None,
    occurred_at: datetime | None = None,
    reason: int | None = None,
    recording_sid: str = "",
) -> str:
    """Apply one notice of Agora's Notification Center, once per `notice_id`: the
    broadcasters' and the audience's presence follow the channel's events, a user's
    events in the order of their `clientSeq`. Returns the outcome recorded with the
    notice, or DUPLICATE for a notice seen before (which changes nothing)."""
    now = timezone.now()
    occurred_at = min(occurred_at, now) if occurred_at else now
    with transaction.atomic():
        if AgoraNotice.objects.filter(notice_id=notice_id).exists():
            return DUPLICATE
        notice = AgoraNotice(
            notice_id=notice_id,
            product_id=product_id,
            event_type=event_type,
            notify_ms=notify_ms,
            channel_name=channel_name,
            uid=uid,
            client_seq=client_seq,
            occurred_at=occurred_at,
            payload=payload,
            received_at=now,
        )
        try:
            with transaction.atomic():
                notice.save(force_insert=True)
        except IntegrityError:
            return DUPLICATE  # the same notice delivered twice at once
        if recording_sid:
            notice.outcome = _agora_recording_effect(notice, recording_sid)
        else:
            notice.outcome = _agora_notice_effect(notice)
            if event_type in ncs.LEAVE_EVENTS and reason == ncs.ABNORMAL_USER_REASON:
                _agora_abnormal_user(notice)
        notice.save(update_fields=["outcome"])
    return notice.outcome


def _agora_abnormal_user(notice: AgoraNotice) -> None:
    """Agora reports the user as abnormal (reason 999): kick them from the
    channel once, 60 s from now, as Agora advises. Only in our own streams'
    channels (not in the console's test channel)."""
    stream = LiveStream.objects.filter(channel_name=notice.channel_name).first()
    if stream is None or notice.uid is None:
        return
    kick = agora_kicks.kick_create_for_abnormal_user(live_stream=stream, uid=notice.uid)
    if kick is not None:
        delay = agora_kicks.ABNORMAL_KICK_DELAY.total_seconds()
        enqueue_on_commit(agora_kick_run, kick.pk, countdown=delay)


def _agora_recording_effect(notice: AgoraNotice, sid: str) -> str:
    details = notice.payload.get("details")
    known, follow_up = recording.recording_notice(
        sid=sid,
        event_type=notice.event_type,
        details=details if isinstance(details, dict) else {},
    )
    if follow_up is not None:
        enqueue_on_commit(recording_run, follow_up)
    return AgoraNoticeOutcome.APPLIED if known else AgoraNoticeOutcome.UNKNOWN_RECORDING


def agora_notices_prune(*, now: datetime | None = None) -> tuple[int, int]:
    """Delete notices older than AGORA_NOTICE_RETENTION_DAYS, and the event order
    of users not heard of since; (notices, sequences) deleted, in batches."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AGORA_NOTICE_RETENTION_DAYS)
    return (
        _delete_in_batches(AgoraNotice.objects.filter(received_at__lt=cutoff)),
        _delete_in_batches(AgoraClientSequence.objects.filter(updated_at__lt=cutoff)),
    )


def _delete_in_batches(rows: Any, size: int = 5000) -> int:
    deleted = 0
    while True:
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return deleted
        deleted += rows.model.objects.filter(pk__in=ids).delete()[0]


def _agora_notice_effect(notice: AgoraNotice) -> str:
    event = notice.event_type
    known = ncs.CHANNEL_EVENTS | ncs.USER_EVENTS
    if notice.product_id not in (None, ncs.RTC_PRODUCT) or event not in known:
        return AgoraNoticeOutcome.UNKNOWN_EVENT
    stream = LiveStream.objects.filter(channel_name=notice.channel_name).first()
    if stream is None:
        return AgoraNoticeOutcome.UNKNOWN_CHANNEL
    if event == ncs.CHANNEL_CREATED:
        return AgoraNoticeOutcome.RECORDED
    if event == ncs.CHANNEL_DESTROYED:
        return _agora_channel_destroyed(stream, notice)

    if notice.uid is None:  # (no user has a null agora_uid)
        return AgoraNoticeOutcome.UNKNOWN_USER
    user = User.objects.filter(agora_uid=notice.uid).only("pk", "agora_uid").first()
    if user is None or notice.client_seq is None:
        return AgoraNoticeOutcome.UNKNOWN_USER
    if not _agora_sequence_advance(notice.channel_name, notice.uid, notice.client_seq):
        return AgoraNoticeOutcome.STALE
    broadcasting = event in (ncs.BROADCASTER_JOINED, ncs.BECAME_BROADCASTER)
    watching = event in (ncs.AUDIENCE_JOINED, ncs.BECAME_AUDIENCE)
    when = notice.occurred_at
    if (broadcasting or watching) and (
        AgoraNotice.objects.filter(
            channel_name=notice.channel_name,
            event_type=ncs.CHANNEL_DESTROYED,
            occurred_at__gt=when + EVENT_SLACK,
        ).exists()
    ):
        return AgoraNoticeOutcome.STALE  # a join from before the channel was destroyed
    if stream.creator_id == user.pk or Guest.objects.filter(live_stream=stream, user=user).exists():
        return _agora_broadcaster_presence(stream.pk, user, broadcasting, when)
    return _agora_audience_presence(stream, user, watching, when)


def _agora_sequence_advance(channel_name: str, uid: int, client_seq: int) -> bool:
    """Record `client_seq` as the last applied one of `uid` in the channel; False
    (nothing recorded) if an event as new or newer was applied already."""
    rows = AgoraClientSequence.objects.select_for_update()
    last = rows.filter(channel_name=channel_name, uid=uid).first()
    if last is None:
        try:
            with transaction.atomic():
                AgoraClientSequence.objects.create(
                    channel_name=channel_name, uid=uid, client_seq=client_seq
                )
            return True
        except IntegrityError:  # the user's other event, recorded at the same moment
            last = rows.get(channel_name=channel_name, uid=uid)
    if client_seq <= last.client_seq:
        return False
    last.client_seq = client_seq
    last.save(update_fields=["client_seq", "updated_at"])
    return True


def _agora_broadcaster_presence(
    stream_id: str, user: Any, broadcasting: bool, when: datetime
) -> str:
    """The creator's `host_present` or a guest's `hasJoined` follows whether they
    broadcast in the channel."""
    # The stream row first, then the guest's: the order of join-as-guest.
    stream = LiveStream.objects.select_for_update().get(pk=stream_id)
    is_host = stream.creator_id == user.pk
    guest = (
        None
        if is_host
        else Guest.objects.select_for_update().filter(live_stream=stream, user=user).first()
    )
    if not is_host and guest is None:  # uninvited in the meantime
        return AgoraNoticeOutcome.NOT_IN_STREAM
    if broadcasting:
        role = Role.HOST if is_host else Role.GUEST
        if stream.is_removed or not may_be_in_channel(role, stream.status):
            return AgoraNoticeOutcome.STREAM_NOT_LIVE
        if not is_host and user_is_blocked(user=user, stream=stream):
            return AgoraNoticeOutcome.BANNED
    if is_host and stream.host_present != broadcasting:
        stream.host_present = broadcasting
        if broadcasting and stream.host_joined_at is None:
            stream.host_joined_at = when
        stream.save(update_fields=["host_present", "host_joined_at", "updated_at"])
    elif guest is not None and guest.has_joined != broadcasting:
        guest.has_joined = broadcasting
        if broadcasting:
            guest.uid = user.agora_uid
            guest.joined_at = when
        guest.save(update_fields=["has_joined", "uid", "joined_at"])
    return AgoraNoticeOutcome.APPLIED


def _agora_audience_presence(stream: LiveStream, user: Any, watching: bool, when: datetime) -> str:
    """An audience member's presence and watch time follow whether they are in the
    channel as audience. Only a user who joined through the API has a row."""
    participant = (
        Participant.objects.select_for_update().filter(live_stream=stream, user=user).first()
    )
    if participant is None:
        return AgoraNoticeOutcome.NOT_IN_STREAM
    if watching:
        if stream.is_removed or not may_be_in_channel(Role.AUDIENCE, stream.status):
            return AgoraNoticeOutcome.STREAM_NOT_LIVE
        if user_is_blocked(user=user, stream=stream):
            return AgoraNoticeOutcome.BANNED
        if participant.left_at and when + EVENT_SLACK < participant.left_at:
            return AgoraNoticeOutcome.STALE  # from before a leave through the API
        participant.last_seen_at = max(when, participant.last_seen_at)
        became_present = not participant.is_present
        if became_present:
            participant.is_present = True
            participant.last_joined_at = max(when, participant.left_at or when)
        # Becoming present raises the stream's peak (the triggers of migration 0018).
        participant.save(update_fields=["is_present", "last_joined_at", "last_seen_at"])
    else:
        if when + EVENT_SLACK < participant.last_joined_at:
            return AgoraNoticeOutcome.STALE  # from before a join through the API
        if participant.mark_left(when):
            participant.save(update_fields=Participant.LEAVE_FIELDS)
    return AgoraNoticeOutcome.APPLIED


def _agora_channel_destroyed(stream: LiveStream, notice: AgoraNotice) -> str:
    """Everyone left the channel: no broadcaster and no audience member is present
    (those who joined after the channel was destroyed excepted)."""
    when = notice.occurred_at
    if AgoraNotice.objects.filter(
        channel_name=notice.channel_name,
        event_type=ncs.CHANNEL_CREATED,
        occurred_at__gt=when,
    ).exists():
        return AgoraNoticeOutcome.STALE  # the channel was created again since
    stream = LiveStream.objects.select_for_update().get(pk=stream.pk)
    if stream.host_present:
        stream.host_present = False
        stream.save(update_fields=["host_present", "updated_at"])
    Guest.objects.filter(live_stream=stream, has_joined=True).update(has_joined=False)
    forget_stream(stream.pk)
    participants_leave(
        Participant.objects.filter(
            live_stream=stream, is_present=True, last_joined_at__lte=when + EVENT_SLACK
        ),
        when,
    )
    return AgoraNoticeOutcome.APPLIED
