"""Agora Cloud Recordings of streams: one row per recording session (a stream
whose recording Agora ended early, for example after the host was away longer
than AGORA_RECORDING_MAX_IDLE_SECONDS, gets another one when the host is back).
Each row is the state of a background job: status, attempts, last error, next
attempt."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from livestreams.models.streams import LiveStream


class RecordingStatus(models.TextChoices):
    # acquire + start to do (retried until they succeed or the stream ends)
    STARTING = "starting", _("starting")
    RECORDING = "recording", pgettext_lazy("recording status", "recording")
    # the stream ended: stop to do
    STOPPING = "stopping", _("stopping")
    # stopped; Agora is still uploading (waiting for its "uploaded" notice)
    UPLOADING = "uploading", _("uploading")
    READY = "ready", _("ready")
    # the stream ended before the recording started: nothing to stop
    CANCELLED = "cancelled", _("cancelled")
    FAILED = "failed", _("failed")


# A recording in these statuses still needs work from the background jobs.
ACTIVE_RECORDING_STATUSES = (
    RecordingStatus.STARTING,
    RecordingStatus.RECORDING,
    RecordingStatus.STOPPING,
    RecordingStatus.UPLOADING,
)


class Recording(models.Model):
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        related_name="recordings",
        verbose_name=_("live stream"),
    )
    channel_name = models.CharField(_("channel name"), max_length=64)
    # The recorder's uid in the channel (unlike any user's).
    uid = models.PositiveBigIntegerField(_("recorder uid"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RecordingStatus.choices,
        default=RecordingStatus.STARTING,
    )
    resource_id = models.CharField(_("resource id"), max_length=1000, blank=True)
    resource_acquired_at = models.DateTimeField(_("resource acquired at"), null=True, blank=True)
    sid = models.CharField(_("recording id (sid)"), max_length=128, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # Set while one process works on it, so that two never do at once.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    # The files Agora named (stop's answer, query's, the NCS events).
    files = models.JSONField(_("files"), default=list, blank=True)
    url = models.URLField(_("playable file URL"), max_length=500, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Agora confirmed that it records (a query or a notice named a file).
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    stop_requested_at = models.DateTimeField(_("stop requested at"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="recording_status_next"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RecordingStatus.values), name="recording_status_valid"
            ),
            # At most one recording at a time per stream is being started or runs.
            models.UniqueConstraint(
                fields=["live_stream"],
                condition=Q(status__in=["starting", "recording"]),
                name="recording_one_running_per_stream",
            ),
        ]

    def __str__(self) -> str:
        return f"recording of {self.channel_name} ({self.status})"
