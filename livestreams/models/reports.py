"""Reports: a user tells the moderators about a stream."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField
from livestreams.models.streams import LiveStream


class ReportType(models.TextChoices):
    SPAM = "spam", _("spam")
    HARASSMENT = "harassment", _("harassment")
    HATE_SPEECH = "hate_speech", _("hate speech")
    VIOLENCE = "violence", _("violence")
    SEXUAL_CONTENT = "sexual_content", _("sexual content")
    SELF_HARM = "self_harm", _("self-harm")
    SCAM = "scam", _("scam")
    COPYRIGHT = "copyright", _("copyright")
    UNDERAGE = "underage", _("underage")
    OTHER = "other", _("other")


class ReportStatus(models.TextChoices):
    OPEN = "open", _("open")
    RESOLVED = "resolved", _("resolved")
    DISMISSED = "dismissed", _("dismissed")


class StreamReport(models.Model):
    """A report about a stream; one open report per user and stream."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream, on_delete=models.CASCADE, related_name="reports", verbose_name=_("live stream")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="stream_reports",
        verbose_name=_("reporter"),
    )
    type = models.CharField(_("type"), max_length=16, choices=ReportType.choices)
    description = models.TextField(_("description"), max_length=1000, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.OPEN
    )
    # The app's headers (X-Language, X-Timezone, X-Platform, X-App-Version, X-Device-ID).
    language = models.CharField(_("language"), max_length=8, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    platform = models.CharField(_("platform"), max_length=16, blank=True)
    app_version = models.CharField(_("app version"), max_length=32, blank=True)
    device_id = models.CharField(_("device id"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("reported at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    note = models.TextField(_("moderator's note"), blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["live_stream", "reporter"],
                condition=Q(status="open"),
                name="report_one_open_per_user_and_stream",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReportStatus.values), name="report_status_valid"
            ),
        ]
        indexes = [
            # The moderators' queue: open first, oldest first.
            models.Index(fields=["status", "created_at"], name="report_status_created"),
            models.Index(fields=["live_stream", "status"], name="report_stream_status"),
        ]

    def __str__(self) -> str:
        return f"{self.type} report on {self.live_stream_id}"
