"""Users banned from a stream."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField
from livestreams.models.streams import LiveStream


class BanAction(models.TextChoices):
    BLOCK = "BLOCK", _("block: no joining at all")
    CHAT_ONLY = "CHAT_ONLY", _("chat only: may watch, may not chat")


class LiveStreamBanQuerySet(models.QuerySet["LiveStreamBan"]):
    def in_force(self) -> "LiveStreamBanQuerySet":
        return self.filter(lifted_at__isnull=True)


class LiveStreamBan(models.Model):
    """A user banned from one stream by its creator or a moderator; lifting is a soft delete."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream, on_delete=models.CASCADE, related_name="bans", verbose_name=_("live stream")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="live_stream_bans",
        verbose_name=_("banned user"),
    )
    action_type = models.CharField(_("ban type"), max_length=16, choices=BanAction.choices)
    reason = models.TextField(_("reason"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("banned by"),
    )
    created_at = models.DateTimeField(_("banned at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifted by"),
    )

    objects = LiveStreamBanQuerySet.as_manager()

    class Meta:
        verbose_name = _("ban")
        verbose_name_plural = _("bans")
        constraints = [
            models.UniqueConstraint(
                fields=["live_stream", "user"],
                condition=Q(lifted_at__isnull=True),
                name="ban_one_in_force_per_user_and_stream",
            ),
        ]

    def __str__(self) -> str:
        """“troll, banned from “Late jazz” (chat only: may watch, may not chat)”;
        load `user` and `live_stream` with the ban where many are shown."""
        return _("%(user)s, banned from “%(stream)s” (%(ban)s)") % {
            "user": self.user,
            "stream": self.live_stream,
            "ban": self.get_action_type_display(),
        }
