"""Applying the notices of Agora's Notification Center (NCS): the broadcasters'
and the audience's presence follow the channel's events, once per notice and, for
each user, in the order of their `clientSeq`."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from livestreams.agora import notices as ncs
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
from livestreams.services.audience import participants_leave, peak_record

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
    payload: dict,
    product_id: int | None = None,
    notify_ms: int | None = None,
    channel_name: str = "",
    uid: int | None = None,
    client_seq: int | None = None,
    occurred_at: datetime | None = None,
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
        notice.outcome = _agora_notice_effect(notice)
        notice.save(update_fields=["outcome"])
    return notice.outcome


def _agora_notice_effect(notice) -> str:
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

    user = User.objects.filter(agora_uid=notice.uid).only("pk", "agora_uid").first()
    if user is None:
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


def _agora_broadcaster_presence(stream_id: str, user, broadcasting: bool, when) -> str:
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


def _agora_audience_presence(stream: LiveStream, user, watching: bool, when) -> str:
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
        if not participant.is_present:
            participant.is_present = True
            participant.last_joined_at = max(when, participant.left_at or when)
            participant.save(update_fields=["is_present", "last_joined_at"])
            peak_record(live_stream_id=stream.pk)
    else:
        if when + EVENT_SLACK < participant.last_joined_at:
            return AgoraNoticeOutcome.STALE  # from before a join through the API
        if participant.mark_left(when):
            participant.save(update_fields=Participant.LEAVE_FIELDS)
    return AgoraNoticeOutcome.APPLIED


def _agora_channel_destroyed(stream: LiveStream, notice) -> str:
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
    participants_leave(
        Participant.objects.filter(
            live_stream=stream, is_present=True, last_joined_at__lte=when + EVENT_SLACK
        ),
        when,
    )
    return AgoraNoticeOutcome.APPLIED
