"""Kicking users out of Agora channels, done Agora's way (`agora.kicks`): each
kick is an `AgoraKick` row recorded in the transaction of the action that asks
for it and worked on by a background task (`tasks.agora.agora_kick_run`) after
the commit; a failure is retried with backoff by the periodic sweep.

- A ban (BLOCK) creates a rule for the banned user; lifting the ban deletes that
  rule by its stored id. The rule is created only while the ban stands.
- Ending a stream creates a rule keeping everyone out of its channel.
- A user Agora reports as abnormal (left with reason 999) is kicked once, 60 s
  later (Agora's advice).
- A POST that timed out or answered 504 may have created the rule: the next
  attempt reads the rules (GET) before posting again.

This module never enqueues a task (the services that schedule kicks do, and the
task calls `kick_run`): there is no import cycle between tasks and services.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from livestreams.agora import kicks as agora_kicks
from livestreams.agora.rest import AgoraRestError, is_configured
from livestreams.models import (
    AgoraKick,
    AgoraKickReason,
    AgoraKickStatus,
    LiveStream,
    LiveStreamBan,
)

logger = logging.getLogger("allmine.agora")

# After this many failed attempts (per phase: creating, lifting) a kick is left
# alone, and shown as given up in the back office.
MAX_ATTEMPTS = 10
# Retry after 1, 2, 4, ... minutes, never waiting more than this.
MAX_BACKOFF = timedelta(hours=6)
# Agora: kick an abnormal user 60 s after the notice.
ABNORMAL_KICK_DELAY = timedelta(seconds=60)

S = AgoraKickStatus
TO_CREATE = (S.PENDING, S.FAILED)
WORKABLE = (S.PENDING, S.FAILED, S.LIFTING)

# Outcomes of one `kick_run`.
SENT = "sent"  # the rule was created
FOUND = "found"  # an earlier POST had created it after all (read back with GET)
LIFTED = "lifted"  # the rule was deleted (or never created: nothing to do)
CANCELLED = "cancelled"  # the ban was lifted before anything was sent
FAILED = "failed"  # this attempt failed; retried later
SKIPPED = "skipped"  # done already, not due, or being worked on elsewhere
AGAIN = "again"  # the ban was lifted meanwhile: run again now (to delete the rule)


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(0, attempts - 1)))


def _lease() -> timedelta:
    """How long a claim holds: longer than the slowest attempt (a GET, a POST at
    its longest timeout)."""
    post = agora_kicks.post_timeout(agora_kicks.MAX_POST_TIMEOUT_FACTOR)
    return timedelta(seconds=post + 2 * settings.AGORA_REST_TIMEOUT + 30)


def kick_create(
    *,
    live_stream: LiveStream,
    reason: str,
    uid: int | None = None,
    ban: LiveStreamBan | None = None,
    minutes: int | None = None,
    delay: timedelta = timedelta(0),
) -> AgoraKick | None:
    """Record a kick of `uid` (or of everyone, without one) from the stream's
    channel, to be worked on after the current transaction commits (the caller
    enqueues `agora_kick_run`). None when the REST API is not configured."""
    if not is_configured():
        return None
    now = timezone.now()
    return AgoraKick.objects.create(
        live_stream=live_stream,
        ban=ban,
        channel_name=live_stream.channel_name,
        uid=uid,
        reason=reason,
        minutes=settings.AGORA_KICK_MINUTES if minutes is None else minutes,
        created_at=now,
        # Not before then. Its own task runs it after the commit; should that task
        # never run (the process died, the broker was down) the sweep does. Both
        # claim it first, so it is sent once.
        next_attempt_at=now + delay,
    )


def kick_create_for_ban(*, ban: LiveStreamBan) -> AgoraKick | None:
    return kick_create(
        live_stream=ban.live_stream, reason=AgoraKickReason.BAN, uid=ban.user.agora_uid, ban=ban
    )


def kick_create_for_end(*, live_stream: LiveStream) -> AgoraKick | None:
    return kick_create(live_stream=live_stream, reason=AgoraKickReason.END)


def kick_create_for_abnormal_user(*, live_stream: LiveStream, uid: int) -> AgoraKick | None:
    """A one-time kick (no rule stays) of a user Agora reports as abnormal, 60 s
    from now; None if one is already waiting for this user and channel."""
    waiting = AgoraKick.objects.filter(
        channel_name=live_stream.channel_name,
        uid=uid,
        reason=AgoraKickReason.ABNORMAL,
        status__in=TO_CREATE,
    )
    if waiting.exists():
        return None
    return kick_create(
        live_stream=live_stream,
        reason=AgoraKickReason.ABNORMAL,
        uid=uid,
        minutes=0,
        delay=ABNORMAL_KICK_DELAY,
    )


def kicks_lift_for_ban(*, ban: LiveStreamBan, now: datetime | None = None) -> list[int]:
    """The ban was lifted (in the current transaction): its kicks not sent yet
    are cancelled, and those with a rule at Agora (or maybe one) are to be
    lifted. The ids of the kicks the caller enqueues after the commit.

    A kick being sent right now is left to its sender, which sees the lift when
    it records its outcome (`_finish_create`)."""
    now = now or timezone.now()
    kicks = AgoraKick.objects.filter(ban=ban)
    kicks.filter(lift_requested_at__isnull=True).update(lift_requested_at=now)
    # A rule at Agora: delete it by its id.
    kicks.filter(status=S.DONE, rule_id__isnull=False, minutes__gt=0).update(
        status=S.LIFTING, attempts=0, next_attempt_at=now, last_error="", updated_at=now
    )
    # Not sent yet (and not being sent): nothing to lift, unless an earlier POST
    # may have created the rule after all.
    idle = kicks.filter(_unclaimed(now), status__in=TO_CREATE)
    idle.filter(rule_maybe_created=True).update(
        status=S.LIFTING, attempts=0, next_attempt_at=now, updated_at=now
    )
    idle.update(status=S.CANCELLED, claimed_until=None, updated_at=now)
    return list(kicks.filter(status=S.LIFTING).values_list("pk", flat=True))


def kicks_due(now: datetime | None = None) -> QuerySet[AgoraKick]:
    """Kicks the sweep should work on now: not finished, not given up, past
    their backoff, not being worked on."""
    now = now or timezone.now()
    return AgoraKick.objects.filter(
        _unclaimed(now),
        status__in=WORKABLE,
        attempts__lt=MAX_ATTEMPTS,
        next_attempt_at__lte=now,
    ).order_by("next_attempt_at", "pk")


def kicks_given_up() -> QuerySet[AgoraKick]:
    return AgoraKick.objects.filter(status__in=WORKABLE, attempts__gte=MAX_ATTEMPTS)


def kick_run(*, kick_id: int) -> str:
    """One attempt at what a kick needs now: create its rule, or delete it once
    its ban was lifted. Never raises for a failure of Agora's API (it is
    recorded, and retried later). Safe to run twice, and from several workers:
    a kick is claimed before anything is sent."""
    now = timezone.now()
    claimed = (
        AgoraKick.objects.filter(_unclaimed(now), pk=kick_id, status__in=WORKABLE)
        .filter(next_attempt_at__lte=now)
        .update(claimed_until=now + _lease(), attempts=F("attempts") + 1)
    )
    if not claimed:
        return SKIPPED
    kick = AgoraKick.objects.select_related("ban").get(pk=kick_id)
    if kick.status == S.LIFTING:
        return _lift(kick)
    if kick.lift_requested_at is not None or (kick.ban is not None and kick.ban.lifted_at):
        # The ban no longer stands: never send; lift what an earlier POST may have made.
        return _give_way_to_lift(kick, now)
    return _create(kick)


def _create(kick: AgoraKick) -> str:
    found = False
    try:
        rule_id = None
        if kick.rule_maybe_created:
            # An earlier POST timed out or answered 504: did it create the rule?
            rule_id = _find_rule(kick)
            found = rule_id is not None
        if rule_id is None:
            rule_id = agora_kicks.create_rule(
                channel_name=kick.channel_name,
                uid=kick.uid,
                minutes=kick.minutes,
                timeout=agora_kicks.post_timeout(kick.attempts),
            )
    except AgoraRestError as exc:
        return _failed(kick, exc)
    return _finish_create(kick, rule_id, found)


def _find_rule(kick: AgoraKick) -> int | None:
    """The id of a rule at Agora matching this kick that no other kick owns."""
    rules = agora_kicks.matching_rules(
        agora_kicks.list_rules(), channel_name=kick.channel_name, uid=kick.uid
    )
    owned = set(
        AgoraKick.objects.exclude(pk=kick.pk)
        .filter(rule_id__in=[r.id for r in rules])
        .values_list("rule_id", flat=True)
    )
    free = [r.id for r in rules if r.id not in owned]
    return max(free) if free else None


def _finish_create(kick: AgoraKick, rule_id: int | None, found: bool) -> str:
    now = timezone.now()
    done = AgoraKick.objects.filter(pk=kick.pk, lift_requested_at__isnull=True).update(
        status=S.DONE,
        rule_id=rule_id,
        rule_maybe_created=False,
        last_error="",
        claimed_until=None,
        done_at=now,
        updated_at=now,
    )
    if done:
        return FOUND if found else SENT
    # The ban was lifted while the rule was being created: delete it again.
    AgoraKick.objects.filter(pk=kick.pk).update(
        status=S.LIFTING if rule_id is not None else S.CANCELLED,
        rule_id=rule_id,
        rule_maybe_created=rule_id is None,
        attempts=0,
        next_attempt_at=now,
        claimed_until=None,
        done_at=now,
        updated_at=now,
    )
    return AGAIN if rule_id is not None else CANCELLED


def _failed(kick: AgoraKick, exc: AgoraRestError) -> str:
    now = timezone.now()
    logger.warning(
        "Agora kick %s (%s, channel %s) failed on attempt %s: %s",
        kick.pk,
        kick.reason,
        kick.channel_name,
        kick.attempts,
        exc,
    )
    maybe = kick.rule_maybe_created or exc.outcome_unknown
    fields = {
        "last_error": str(exc)[:1000],
        "rule_maybe_created": maybe,
        "next_attempt_at": now + backoff(kick.attempts),
        "claimed_until": None,
        "updated_at": now,
    }
    recorded = AgoraKick.objects.filter(pk=kick.pk, lift_requested_at__isnull=True).update(
        status=S.FAILED, **fields
    )
    if recorded:
        return FAILED
    # Lifted meanwhile: no more attempts at creating it.
    return _give_way_to_lift(kick, now, **fields)


def _give_way_to_lift(kick: AgoraKick, now: datetime, **fields: object) -> str:
    maybe = bool(fields.get("rule_maybe_created", kick.rule_maybe_created))
    AgoraKick.objects.filter(pk=kick.pk).update(
        **{
            **fields,
            "status": S.LIFTING if maybe else S.CANCELLED,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_until": None,
            "lift_requested_at": kick.lift_requested_at or now,
            "updated_at": now,
        }
    )
    return AGAIN if maybe else CANCELLED


def _lift(kick: AgoraKick) -> str:
    """Delete the kick's rule at Agora: by its id, or, if an unanswered POST may
    have created one, every matching rule no other kick in force owns."""
    now = timezone.now()
    deleted = False
    try:
        if kick.rule_id is not None:
            deleted = agora_kicks.delete_rule(rule_id=kick.rule_id)
        elif kick.rule_maybe_created:
            in_force = set(
                AgoraKick.objects.exclude(pk=kick.pk)
                .filter(status=S.DONE, rule_id__isnull=False)
                .values_list("rule_id", flat=True)
            )
            rules = agora_kicks.matching_rules(
                agora_kicks.list_rules(), channel_name=kick.channel_name, uid=kick.uid
            )
            for rule in rules:
                if rule.id not in in_force:
                    deleted = agora_kicks.delete_rule(rule_id=rule.id) or deleted
    except AgoraRestError as exc:
        logger.warning(
            "Lifting Agora kick %s failed on attempt %s: %s", kick.pk, kick.attempts, exc
        )
        AgoraKick.objects.filter(pk=kick.pk).update(
            last_error=str(exc)[:1000],
            next_attempt_at=now + backoff(kick.attempts),
            claimed_until=None,
            updated_at=now,
        )
        return FAILED
    had_rule = kick.rule_id is not None or deleted
    AgoraKick.objects.filter(pk=kick.pk).update(
        status=S.LIFTED if had_rule else S.CANCELLED,
        rule_maybe_created=False,
        last_error="",
        lifted_at=now,
        claimed_until=None,
        updated_at=now,
    )
    return LIFTED if had_rule else CANCELLED
