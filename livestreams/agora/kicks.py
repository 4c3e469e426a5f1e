"""Kicking users out of Agora channels with Agora's RESTful kicking-rule API.

Optional: it runs only when `AGORA_CUSTOMER_KEY` and `AGORA_CUSTOMER_SECRET` are set.
A ban (BLOCK) kicks the banned user; ending a stream kicks everyone from its channel.
A kick is recorded as an `AgoraKick` in the transaction of the moderator's action
and sent once that transaction commits, so that a failure of Agora's API never
undoes or blocks the action: it is logged and left for `retry_agora_kicks`.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from livestreams.agora.rest import AgoraRestError, is_configured, post, short
from livestreams.models import AgoraKick, AgoraKickReason, AgoraKickStatus, LiveStream

logger = logging.getLogger("allmine.agora")

KICKING_RULE_PATH = "/dev/v1/kicking-rule"
# After this many failed attempts a kick is left alone (still `failed`).
MAX_ATTEMPTS = 10
# Retry after 1, 2, 4, ... minutes, never waiting more than this.
MAX_BACKOFF = timedelta(hours=6)
# A kick recorded but not yet sent (the process died before its commit callback
# ran) is picked up by the retry command after this long.
FIRST_RETRY_AFTER = timedelta(minutes=1)

SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"


def schedule_kick(
    *, live_stream: LiveStream, reason: str, uid: int | None = None
) -> AgoraKick | None:
    """Record a kick of `uid` (or of everyone, without one) from the stream's channel
    and send it once the current transaction commits. None when the REST API is
    not configured."""
    if not is_configured():
        return None
    now = timezone.now()
    kick = AgoraKick.objects.create(
        live_stream=live_stream,
        channel_name=live_stream.channel_name,
        uid=uid,
        reason=reason,
        minutes=settings.AGORA_KICK_MINUTES,
        created_at=now,
        next_attempt_at=now + FIRST_RETRY_AFTER,
    )
    transaction.on_commit(partial(kick_send, kick.pk), robust=True)
    return kick


def schedule_ban_kick(*, live_stream: LiveStream, user) -> AgoraKick | None:
    return schedule_kick(live_stream=live_stream, reason=AgoraKickReason.BAN, uid=user.agora_uid)


def schedule_end_kick(*, live_stream: LiveStream) -> AgoraKick | None:
    return schedule_kick(live_stream=live_stream, reason=AgoraKickReason.END)


def kicks_due(now=None):
    """Kicks the retry command should send now: not done, not given up, past their backoff."""
    now = now or timezone.now()
    return AgoraKick.objects.filter(
        status__in=(AgoraKickStatus.PENDING, AgoraKickStatus.FAILED),
        attempts__lt=MAX_ATTEMPTS,
        next_attempt_at__lte=now,
    ).order_by("next_attempt_at", "pk")


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(0, attempts - 1)))


def kick_send(kick_id: int) -> str:
    """One attempt at creating a recorded kick's rule at Agora: SENT, FAILED, or
    SKIPPED (done already, or being sent by another process). Never raises for
    a failure of Agora's API."""
    now = timezone.now()
    lease = timedelta(seconds=max(30.0, 3 * settings.AGORA_REST_TIMEOUT))
    claimed = (
        AgoraKick.objects.filter(
            pk=kick_id, status__in=(AgoraKickStatus.PENDING, AgoraKickStatus.FAILED)
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        return SKIPPED
    kick = AgoraKick.objects.get(pk=kick_id)
    try:
        rule_id = create_kicking_rule(
            channel_name=kick.channel_name, uid=kick.uid, minutes=kick.minutes
        )
    except AgoraRestError as exc:
        logger.warning(
            "Agora kick %s (%s, channel %s) failed on attempt %s: %s",
            kick.pk,
            kick.reason,
            kick.channel_name,
            kick.attempts,
            exc,
        )
        AgoraKick.objects.filter(pk=kick.pk).update(
            status=AgoraKickStatus.FAILED,
            last_error=str(exc)[:1000],
            next_attempt_at=timezone.now() + backoff(kick.attempts),
            claimed_until=None,
            updated_at=timezone.now(),
        )
        return FAILED
    AgoraKick.objects.filter(pk=kick.pk).update(
        status=AgoraKickStatus.DONE,
        rule_id=rule_id,
        last_error="",
        claimed_until=None,
        done_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return SENT


def create_kicking_rule(*, channel_name: str, uid: int | None, minutes: int) -> int | None:
    """POST a kicking rule: `uid` (or everyone) may not join `channel_name` for
    `minutes`. Returns Agora's rule id; raises AgoraRestError on any failure."""
    body = {"appid": settings.AGORA_APP_ID, "cname": channel_name}
    if uid is not None:
        body["uid"] = int(uid)
    body["time"] = max(1, int(minutes))
    body["privileges"] = ["join_channel"]
    answer = post(KICKING_RULE_PATH, body)
    if answer.get("status") != "success":
        raise AgoraRestError(f"Agora answered without success: {short(answer)}")
    rule_id = answer.get("id")
    return rule_id if isinstance(rule_id, int) and not isinstance(rule_id, bool) else None
