"""Publishing into a stream's Signaling (RTM) channel, done like the other work
on Agora: each message is an `RtmMessage` row recorded in the transaction of
what it announces (a chat message, its removal, a superlike) and sent by a
background task (`tasks.chat.rtm_message_run`) after the commit; a failure is
retried with backoff by the periodic sweep (`tasks.periodic.retry_rtm_messages`).

Live chat is only worth showing live: a message not sent within
CHAT_RTM_MAX_AGE_SECONDS, or after MAX_ATTEMPTS failures, is dropped (the history,
§8.2, still has it); a chat message removed before it was sent is never sent.

This module never enqueues a task (the services that record messages do, and the
task calls `rtm_message_run`), and never renders a payload: the task passes the
renderer (the API's own serializer), so that what is published is the message as
the API returns it.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from livestreams.agora.rest import AgoraRestError, is_configured
from livestreams.agora.rtm import publish_channel_message
from livestreams.models import (
    ChatMessage,
    LiveStream,
    RtmEvent,
    RtmMessage,
    RtmMessageStatus,
    Superlike,
)

logger = logging.getLogger("allmine.agora")

S = RtmMessageStatus
WORKABLE = (S.PENDING, S.FAILED)
MAX_ATTEMPTS = 5
# Retry after 5, 10, 20, ... seconds (the sweep runs every minute), at most this.
MAX_BACKOFF = timedelta(seconds=60)

# Outcomes of one `rtm_message_run`.
SENT = "sent"
FAILED = "failed"  # this attempt failed; retried later
DROPPED = "dropped"  # removed first, too old, refused by Agora's rules, or given up
SKIPPED = "skipped"  # done already, not due, or being worked on elsewhere


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=5 * 2 ** max(0, attempts - 1)))


def _lease() -> timedelta:
    return timedelta(seconds=settings.AGORA_REST_TIMEOUT + 30)


def rtm_message_record(
    *,
    live_stream: LiveStream,
    event: str,
    chat_message: ChatMessage | None = None,
    superlike: Superlike | None = None,
) -> RtmMessage | None:
    """Record a message to publish in the stream's channel once the current
    transaction commits (the caller enqueues `rtm_message_run`). None when
    Agora's REST API is not configured (nothing can be sent)."""
    if not is_configured():
        return None
    return RtmMessage.objects.create(
        live_stream=live_stream,
        channel_name=live_stream.channel_name,
        event=event,
        chat_message=chat_message,
        superlike=superlike,
        created_at=timezone.now(),
    )


def rtm_messages_due(now: datetime | None = None) -> QuerySet[RtmMessage]:
    """What the sweep should work on now: not sent, not dropped, past its
    backoff, not being worked on."""
    now = now or timezone.now()
    return RtmMessage.objects.filter(
        _unclaimed(now), status__in=WORKABLE, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")


def rtm_message_run(*, message_id: int, render: Callable[[RtmMessage], str]) -> str:
    """One attempt at publishing the message: `render(message)` is its payload.
    Never raises for Agora failing (recorded, retried later). Safe to run twice,
    and from several workers: a message is claimed before it is sent."""
    now = timezone.now()
    claimed = RtmMessage.objects.filter(
        _unclaimed(now), pk=message_id, status__in=WORKABLE, next_attempt_at__lte=now
    ).update(claimed_until=now + _lease(), attempts=F("attempts") + 1)
    if not claimed:
        return SKIPPED
    message = RtmMessage.objects.select_related(
        "live_stream",
        "chat_message__sender__profile_photo",
        "superlike__sender__profile_photo",
    ).get(pk=message_id)
    chat_message = message.chat_message
    if message.event == RtmEvent.CHAT_MESSAGE and chat_message and chat_message.hidden_at:
        return _drop(message, "The chat message was removed before it was sent.")
    max_age = timedelta(seconds=settings.CHAT_RTM_MAX_AGE_SECONDS)
    if now - message.created_at > max_age:
        return _drop(message, f"Not sent within {settings.CHAT_RTM_MAX_AGE_SECONDS} s.")
    try:
        request_id = publish_channel_message(
            channel_name=message.channel_name, payload=render(message)
        )
    except ValueError as exc:  # Agora would refuse it: never worth retrying
        return _drop(message, str(exc))
    except AgoraRestError as exc:
        return _failed(message, exc)
    RtmMessage.objects.filter(pk=message.pk).update(
        status=S.SENT,
        request_id=request_id[:128],
        last_error="",
        claimed_until=None,
        done_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return SENT


def _drop(message: RtmMessage, why: str) -> str:
    now = timezone.now()
    logger.info("Signaling message %s (%s) dropped: %s", message.pk, message.event, why)
    RtmMessage.objects.filter(pk=message.pk).update(
        status=S.DROPPED, last_error=why[:1000], claimed_until=None, done_at=now, updated_at=now
    )
    return DROPPED


def _failed(message: RtmMessage, exc: AgoraRestError) -> str:
    logger.warning(
        "Signaling message %s (%s, channel %s) failed on attempt %s: %s",
        message.pk,
        message.event,
        message.channel_name,
        message.attempts,
        exc,
    )
    if message.attempts >= MAX_ATTEMPTS:
        return _drop(message, f"Given up after {message.attempts} attempts: {exc}")
    now = timezone.now()
    RtmMessage.objects.filter(pk=message.pk).update(
        status=S.FAILED,
        last_error=str(exc)[:1000],
        next_attempt_at=now + backoff(message.attempts),
        claimed_until=None,
        updated_at=now,
    )
    return FAILED
