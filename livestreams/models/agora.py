"""What Agora tells us (Notification Center notices) and what we ask of it
(kicking rules), recorded so that every notice applies once and every request is
retried until it is done."""

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livestreams.models.bans import LiveStreamBan
from livestreams.models.streams import LiveStream

# Stored value = value - 2**63: the unsigned range 0 .. 2**64-1 maps onto the
# signed 64-bit range of a BIGINT in order, so comparisons and ORDER BY in the
# database keep working, on PostgreSQL and SQLite alike.
_UNSIGNED_OFFSET = 2**63
UNSIGNED_64_MAX = 2**64 - 1


class UnsignedBigIntegerField(models.BigIntegerField):
    """An unsigned 64-bit integer (0 .. 2**64-1), such as Agora's `clientSeq`.

    Neither PostgreSQL nor SQLite has an unsigned 64-bit column, and a NUMERIC on
    SQLite loses precision above 2**63; so the value is stored shifted by -2**63
    in a BIGINT, which keeps order and every value exact."""

    description = _("Unsigned 64-bit integer")

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        if not 0 <= value <= UNSIGNED_64_MAX:
            raise ValueError(f"{value} is not an unsigned 64-bit integer.")
        return value - _UNSIGNED_OFFSET

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        return None if value is None else int(value) + _UNSIGNED_OFFSET

    @property
    def validators(self) -> list[Any]:  # BIGINT's range checks do not apply
        return list(self._validators)  # type: ignore[attr-defined]  # Django's, not in the stubs

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"min_value": 0, "max_value": UNSIGNED_64_MAX, **kwargs})


class AgoraNoticeOutcome(models.TextChoices):
    APPLIED = "applied", _("applied")
    RECORDED = "recorded", _("recorded (nothing to change)")
    STALE = "stale", _("older than what was already applied")
    UNKNOWN_EVENT = "unknown_event", _("unknown event type")
    UNKNOWN_CHANNEL = "unknown_channel", _("unknown channel")
    UNKNOWN_USER = "unknown_user", _("unknown uid")
    UNKNOWN_RECORDING = "unknown_recording", _("unknown recording")
    NOT_IN_STREAM = "not_in_stream", _("user has no role in the stream")
    STREAM_NOT_LIVE = "stream_not_live", _("stream not live")
    BANNED = "banned", _("user is banned from the stream")


class AgoraNotice(models.Model):
    """One notice from Agora's Notification Center (NCS), kept once per noticeId so
    that a retried or duplicated notice changes nothing."""

    notice_id = models.CharField(_("notice id"), max_length=128, unique=True)
    product_id = models.IntegerField(_("product"), null=True, blank=True)
    event_type = models.IntegerField(_("event type"))
    notify_ms = models.BigIntegerField(_("notified at (ms)"), null=True, blank=True)
    channel_name = models.CharField(_("channel name"), max_length=64, blank=True)
    uid = models.PositiveBigIntegerField(_("Agora uid"), null=True, blank=True)
    client_seq = UnsignedBigIntegerField(_("client sequence"), null=True, blank=True)
    # When the event happened on Agora's side (the payload's `ts`), else on arrival.
    occurred_at = models.DateTimeField(_("occurred at"))
    payload = models.JSONField(_("payload"), default=dict)
    outcome = models.CharField(
        _("outcome"), max_length=24, choices=AgoraNoticeOutcome.choices, blank=True
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("Agora notice")
        verbose_name_plural = _("Agora notices")
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["channel_name", "event_type"], name="agoranotice_channel_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.channel_name} ({self.notice_id})"


class AgoraClientSequence(models.Model):
    """The last applied `clientSeq` of a user's events in a channel: an older event
    arriving late is ignored."""

    channel_name = models.CharField(_("channel name"), max_length=64)
    uid = models.PositiveBigIntegerField(_("Agora uid"))
    client_seq = UnsignedBigIntegerField(_("last applied client sequence"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Agora client sequence")
        verbose_name_plural = _("Agora client sequences")
        constraints = [
            models.UniqueConstraint(
                fields=["channel_name", "uid"], name="agora_client_seq_per_channel_uid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.uid} in {self.channel_name}: {self.client_seq}"


class AgoraKickStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DONE = "done", _("done")
    FAILED = "failed", _("failed (retried)")
    # The ban was lifted: its rule is being deleted at Agora.
    LIFTING = "lifting", _("lifting")
    LIFTED = "lifted", _("lifted")
    # The ban was lifted before the rule was ever created: nothing was sent.
    CANCELLED = "cancelled", _("cancelled")


class AgoraKickReason(models.TextChoices):
    BAN = "ban", _("user banned")
    END = "end", _("stream ended")
    # Agora reported the user as abnormal (left with reason 999): kicked once.
    ABNORMAL = "abnormal", _("abnormal user (Agora)")


class AgoraKick(models.Model):
    """A kicking rule to create through Agora's REST API (a banned user, everyone
    in an ended stream's channel, or a one-time kick of a user Agora reports as
    abnormal), recorded so that a failure is retried, and, for a ban, so that
    lifting the ban deletes the rule by its id."""

    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agora_kicks",
        verbose_name=_("live stream"),
    )
    # The ban this kick enforces (a BAN kick); the kick goes when the ban is lifted.
    ban = models.ForeignKey(
        LiveStreamBan,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agora_kicks",
        verbose_name=_("ban"),
    )
    channel_name = models.CharField(_("channel name"), max_length=64)
    # Null: everyone in the channel.
    uid = models.PositiveBigIntegerField(_("Agora uid"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=8, choices=AgoraKickReason.choices)
    # 0: kicked out once, no rule stays.
    minutes = models.PositiveIntegerField(_("rule lasts (minutes)"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AgoraKickStatus.choices,
        default=AgoraKickStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    rule_id = models.BigIntegerField(_("Agora rule id"), null=True, blank=True)
    # A POST timed out or answered 504: the rule may exist at Agora; the next
    # attempt reads the rules (GET) before posting again.
    rule_maybe_created = models.BooleanField(_("rule may exist"), default=False)
    lift_requested_at = models.DateTimeField(_("ban lifted at"), null=True, blank=True)
    lifted_at = models.DateTimeField(_("rule deleted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # Set while one process is sending it, so that two never send it at once.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Agora kick")
        verbose_name_plural = _("Agora kicks")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="agorakick_status_next"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AgoraKickStatus.values), name="agorakick_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(minutes__gte=0, minutes__lte=1440), name="agorakick_minutes_range"
            ),
        ]

    def __str__(self) -> str:
        who = self.uid if self.uid is not None else "everyone"
        return f"kick {who} from {self.channel_name} ({self.status})"
