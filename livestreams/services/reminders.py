"""Reminders (API-more §7.9): a user asks to be told when a stream starts, or some
minutes before its planned start. A reminder fires once, through the notifier of
`livestreams.notifiers`; it is dropped when its stream is cancelled, expires or is
removed. `reminders_run_due` is what the staff command (and later a periodic task)
runs: it can run twice at once or be interrupted without a reminder firing twice."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from livestreams.lifecycle import REMINDER_FIRES, REMINDER_KEPT
from livestreams.models import ReminderMode, ReminderState, StreamReminder
from livestreams.notifiers import ReminderNotice, ReminderNotifier, reminder_notifier
from livestreams.policy import StreamAction
from livestreams.services.access import stream_where_may

logger = logging.getLogger("allmine.reminders")

ARMED, FIRED, DROPPED = ReminderState.ARMED, ReminderState.FIRED, ReminderState.DROPPED
MAX_MINUTE = 1440


def reminder_set(*, user: User, live_stream_id: str, minute: int | None) -> StreamReminder:
    """Arm (or re-arm) the caller's reminder of a stream that has not started.
    `minute` 0 or None: when it really goes live (ON_START); above 0 with the
    planned start minus `minute` still ahead: at that time (BEFORE_START);
    otherwise ON_START. 403 for a BLOCK ban, 409 unless scheduled or preparing."""
    now = timezone.now()
    minute = minute or 0
    with transaction.atomic():
        # Locked: a cancellation or expiry (which drops the reminders) waits for it.
        stream = stream_where_may(user, live_stream_id, StreamAction.SET_REMINDER, lock=True)
        planned = stream.planned_start_date
        scheduled_for: datetime | None = planned
        mode = ReminderMode.ON_START
        if minute > 0 and planned is not None and planned - timedelta(minutes=minute) > now:
            mode, scheduled_for = ReminderMode.BEFORE_START, planned - timedelta(minutes=minute)
        reminder, _created = StreamReminder.objects.update_or_create(
            live_stream=stream,
            user=user,
            defaults={
                "minute": minute,
                "mode": mode,
                "scheduled_for": scheduled_for,
                "state": ARMED,
                "fired_at": None,
                "dropped_at": None,
            },
            create_defaults={
                "minute": minute,
                "mode": mode,
                "scheduled_for": scheduled_for,
                "created_at": now,
            },
        )
    return reminder


def reminders_drop(*, live_stream_id: str, now: datetime) -> int:
    """Drop the armed reminders of a stream that will now not start (cancelled,
    expired, removed), in the caller's transaction. Returns how many."""
    return StreamReminder.objects.filter(live_stream_id=live_stream_id, state=ARMED).update(
        state=DROPPED, dropped_at=now, updated_at=now
    )


def due_filter(now: datetime) -> Q:
    """Armed reminders to fire now: their stream is live, or (BEFORE_START) their
    time has come while it may still start."""
    live = Q(live_stream__status__in=REMINDER_FIRES)
    early = Q(
        mode=ReminderMode.BEFORE_START,
        scheduled_for__lte=now,
        live_stream__status__in=REMINDER_KEPT,
    )
    return Q(state=ARMED, live_stream__deleted_at__isnull=True) & (live | early)


def stale_filter() -> Q:
    """Armed reminders whose stream went by without them firing (ended, cancelled,
    expired, removed)."""
    return Q(state=ARMED) & (
        Q(live_stream__deleted_at__isnull=False) | ~Q(live_stream__status__in=REMINDER_KEPT)
    )


def reminders_due(now: datetime) -> list[str]:
    """The ids of the reminders due now, the earliest first."""
    return list(
        StreamReminder.objects.filter(due_filter(now))
        .order_by("scheduled_for", "pk")
        .values_list("pk", flat=True)
    )


def reminder_fire(*, reminder_id: str, now: datetime, notifier: ReminderNotifier) -> bool:
    """Send one due reminder and record that it fired. False if it is not due any
    more or another run holds it. If the notifier raises, nothing is recorded and
    the reminder stays armed for the next run."""
    with transaction.atomic():
        reminder = (
            StreamReminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("live_stream")
            .filter(due_filter(now), pk=reminder_id)
            .first()
        )
        if reminder is None:
            return False
        stream = reminder.live_stream
        is_live = stream.status in REMINDER_FIRES
        notifier.send_reminder(
            ReminderNotice(
                reminder_id=reminder.pk,
                user_id=reminder.user_id,
                live_stream_id=stream.pk,
                title=stream.title,
                mode=reminder.mode,
                minute=reminder.minute,
                starts_at=stream.started_at if is_live else stream.planned_start_date,
                is_live=is_live,
            )
        )
        reminder.state = FIRED
        reminder.fired_at = now
        reminder.save(update_fields=["state", "fired_at", "updated_at"])
    return True


@dataclass(frozen=True)
class ReminderRun:
    fired: int
    failed: int
    dropped: int
    skipped: int  # no longer due, or fired by another run meanwhile


def reminders_run_due(
    *,
    now: datetime | None = None,
    notifier: ReminderNotifier | None = None,
    progress: Callable[[list[str]], Iterable[str]] = iter,
) -> ReminderRun:
    """Drop the reminders whose stream went by, then fire every due one, each in
    its own transaction. `progress` wraps the list of due ids (a progress bar)."""
    now = now or timezone.now()
    notifier = notifier or reminder_notifier()
    dropped = StreamReminder.objects.filter(
        pk__in=StreamReminder.objects.filter(stale_filter()).values("pk")
    ).update(state=DROPPED, dropped_at=now, updated_at=now)
    fired = failed = skipped = 0
    for reminder_id in progress(reminders_due(now)):
        try:
            done = reminder_fire(reminder_id=reminder_id, now=now, notifier=notifier)
        except Exception:  # a notifier's failure: logged, retried on the next run
            logger.exception("Reminder %s could not be sent; it stays armed.", reminder_id)
            failed += 1
            continue
        fired += done
        skipped += not done
    return ReminderRun(fired=fired, failed=failed, dropped=dropped, skipped=skipped)
