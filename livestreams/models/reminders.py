"""Reminders: a user asks to be told when a stream starts, or some minutes before."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField
from livestreams.models.streams import LiveStream


class ReminderMode(models.TextChoices):
    ON_START = "ON_START", _("when the stream starts")
    BEFORE_START = "BEFORE_START", _("some minutes before the planned start")


class ReminderState(models.TextChoices):
    ARMED = "armed", _("armed")
    FIRED = "fired", _("fired")
    # The stream was cancelled, expired, was removed or ended before it fired.
    DROPPED = "dropped", _("dropped")


class StreamReminder(models.Model):
    """One per user and stream; fires once (`fired_at`), or is dropped."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        related_name="reminders",
        verbose_name=_("live stream"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="stream_reminders",
        verbose_name=_("user"),
    )
    # Minutes before the planned start; 0 = when the stream starts.
    minute = models.PositiveSmallIntegerField(_("minutes before"), default=0)
    mode = models.CharField(_("mode"), max_length=16, choices=ReminderMode.choices)
    # BEFORE_START: when it fires. ON_START: the planned start (it fires when the
    # stream really goes live), or null without one.
    scheduled_for = models.DateTimeField(_("expected at"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=8, choices=ReminderState.choices, default=ReminderState.ARMED
    )
    fired_at = models.DateTimeField(_("fired at"), null=True, blank=True)
    dropped_at = models.DateTimeField(_("dropped at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["live_stream", "user"], name="reminder_once_per_user"),
            models.CheckConstraint(
                condition=Q(state__in=ReminderState.values), name="reminder_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(minute__lte=1440), name="reminder_minute_at_most_a_day"
            ),
        ]
        indexes = [
            # The due ones: armed, by stream, by firing time.
            models.Index(fields=["state", "scheduled_for"], name="reminder_state_when"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} reminded of {self.live_stream_id}"
