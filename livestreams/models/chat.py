"""A stream's chat (API-more §8): the messages sent through the API, the paid
superlikes, and what the server publishes into the stream's Signaling (RTM)
channel, recorded so that a failed publish is retried."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField
from livestreams.models.streams import MONEY, LiveStream

# The longest message (API-more §8.1, our rule), in characters once trimmed.
CHAT_MESSAGE_MAX_CHARACTERS = 500


class ChatMessageQuerySet(models.QuerySet["ChatMessage"]):
    def shown(self) -> "ChatMessageQuerySet":
        """The messages the history shows: not removed by a moderator."""
        return self.filter(hidden_at__isnull=True)


class ChatMessage(models.Model):
    """One chat message, stored as plain text. A moderator removing it hides it
    (a soft delete: the row stays, with who removed it, when and why)."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        related_name="chat_messages",
        verbose_name=_("live stream"),
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="chat_messages",
        verbose_name=_("sender"),
    )
    content = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    hidden_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("removed by"),
    )
    hidden_reason = models.TextField(_("reason for removal"), blank=True)

    objects = ChatMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The history: a stream's shown messages, the newest first.
            models.Index(
                fields=["live_stream", "-created_at", "-id"],
                condition=Q(hidden_at__isnull=True),
                name="chatmessage_history",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(content=""), name="chatmessage_content_not_empty"),
        ]

    def __str__(self) -> str:
        text = self.content if len(self.content) <= 60 else self.content[:59] + "…"
        return f"{self.sender_id}: {text}"


class Superlike(models.Model):
    """One superlike (API-more §8.3): a `superlike_spend` debit of its price with
    the `superlike_revenue` shares of §6.4."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.PROTECT,
        related_name="superlikes",
        verbose_name=_("live stream"),
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="superlikes_sent",
        verbose_name=_("sender"),
    )
    price = models.DecimalField(_("price in credits"), **MONEY)
    transaction = models.OneToOneField(
        "accounts.CreditTransaction", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("superlike")
        verbose_name_plural = _("superlikes")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="superlike_price_positive"),
        ]

    def __str__(self) -> str:
        return f"superlike from {self.sender_id} to {self.live_stream_id}"


class RtmEvent(models.TextChoices):
    CHAT_MESSAGE = "chatMessage", _("chat message")
    CHAT_MESSAGE_REMOVED = "chatMessageRemoved", _("chat message removed")
    SUPERLIKE = "superlike", _("superlike")


class RtmMessageStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed (retried)")
    # Not sent, and never will be: the message was removed first, it is too old to
    # be worth showing live, or Agora would refuse it.
    DROPPED = "dropped", _("dropped")


class RtmMessage(models.Model):
    """Something the server publishes into a stream's Signaling channel
    (`agora.rtm.publish_channel_message`), worked on by a background task after
    the commit of what it announces and retried with backoff by the sweep. The
    payload is rendered when it is sent, from the row it names."""

    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        related_name="rtm_messages",
        verbose_name=_("live stream"),
    )
    channel_name = models.CharField(_("channel name"), max_length=64)
    event = models.CharField(_("event"), max_length=24, choices=RtmEvent.choices)
    chat_message = models.ForeignKey(
        ChatMessage,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chat message"),
    )
    superlike = models.ForeignKey(
        Superlike,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("superlike"),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=RtmMessageStatus.choices,
        default=RtmMessageStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    request_id = models.CharField(_("Agora request id"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # Set while one process is sending it, so that two never send it at once.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Signaling message")
        verbose_name_plural = _("Signaling messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="rtmmessage_status_next"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RtmMessageStatus.values), name="rtmmessage_status_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(event=RtmEvent.SUPERLIKE, superlike__isnull=False, chat_message__isnull=True)
                    | Q(
                        ~Q(event=RtmEvent.SUPERLIKE),
                        superlike__isnull=True,
                        chat_message__isnull=False,
                    )
                ),
                name="rtmmessage_names_its_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} in {self.channel_name} ({self.status})"
