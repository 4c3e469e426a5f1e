"""Telling a user something outside the app: today, that a stream they asked to
be reminded of starts. One small interface; the implementation is chosen by the
`REMINDER_NOTIFIER` setting (a dotted path). The default writes a log line;
push providers (FCM, APNs) plug in here later without touching the services."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("allmine.reminders")


@dataclass(frozen=True)
class ReminderNotice:
    """What a reminder tells its user."""

    reminder_id: str
    user_id: str
    live_stream_id: str
    title: str
    mode: str  # "ON_START" or "BEFORE_START"
    minute: int
    starts_at: datetime | None  # the real start when live, else the planned one
    is_live: bool


class ReminderNotifier(Protocol):
    def send_reminder(self, notice: ReminderNotice) -> None:
        """Deliver `notice`, or raise: the reminder then stays armed and the next
        run tries again."""


class LoggingNotifier:
    """Writes one line per reminder (the default, until push is configured)."""

    def send_reminder(self, notice: ReminderNotice) -> None:
        logger.info(
            "Reminder %s: user %s, stream %s (%s) %s",
            notice.reminder_id,
            notice.user_id,
            notice.live_stream_id,
            notice.title,
            "is live" if notice.is_live else f"starts in {notice.minute} minutes",
        )


@lru_cache(maxsize=8)
def _notifier_class(path: str) -> type[ReminderNotifier]:
    notifier_class: type[ReminderNotifier] = import_string(path)
    return notifier_class


def reminder_notifier() -> ReminderNotifier:
    """The notifier `settings.REMINDER_NOTIFIER` names."""
    notifier: ReminderNotifier = _notifier_class(settings.REMINDER_NOTIFIER)()
    return notifier
