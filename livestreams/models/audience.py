"""The audience of a stream."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField
from livestreams.caching import forget_viewer_counts
from livestreams.models.streams import LiveStream


class Participant(models.Model):
    """An audience member of a stream: one row per user and stream, whatever the
    number of times they join; holds their presence, watch time and device."""

    id = ObjectIdField()
    # No index of its own: the unique (live_stream, user) below starts with it.
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        related_name="participants",
        verbose_name=_("live stream"),
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="participations",
        verbose_name=_("user"),
    )
    is_present = models.BooleanField(_("watching now"), default=True)
    first_joined_at = models.DateTimeField(_("first joined at"), default=timezone.now)
    last_joined_at = models.DateTimeField(_("last joined at"), default=timezone.now)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    # The last sign of life: a join, a token renewal, an Agora event or Agora's
    # channel list. Presence expires AGORA_PRESENCE_TIMEOUT after it.
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    watch_seconds = models.PositiveIntegerField(_("watch time (s)"), default=0)
    join_count = models.PositiveIntegerField(_("joins"), default=1)
    # The stream_charge paid for a paid stream (once per user and stream).
    charge = models.OneToOneField(
        "accounts.CreditTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("charge"),
    )
    device_type = models.CharField(_("device type"), max_length=32, blank=True)
    device_model = models.CharField(_("device model"), max_length=100, blank=True)
    os_version = models.CharField(_("OS version"), max_length=50, blank=True)
    app_version = models.CharField(_("app version"), max_length=50, blank=True)
    country = models.CharField(_("country"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(
                fields=["live_stream", "user"], name="participant_once_per_stream"
            ),
        ]
        # Few indexes: every join writes this table. The viewer counts are kept in
        # ViewerCount (no index on presence per stream); a stream's participants
        # are found through the unique (live_stream, user).
        indexes = [
            models.Index(
                fields=["last_seen_at"],
                condition=models.Q(is_present=True),
                name="participant_present_seen",
            ),
        ]

    def __str__(self) -> str:
        return _("%(user)s in the audience of “%(stream)s”") % {
            "user": self.user,
            "stream": self.live_stream,
        }

    LEAVE_FIELDS = ("watch_seconds", "is_present", "left_at")

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        forget_viewer_counts([self.live_stream_id])  # the cached count, when this commits

    def mark_left(self, when) -> bool:
        """Leave at `when`, adding the time since the last join to the watch time
        (not saved). False if the participant was not present."""
        if not self.is_present:
            return False
        self.watch_seconds += max(0, int((when - self.last_joined_at).total_seconds()))
        self.is_present = False
        self.left_at = max(when, self.last_joined_at)
        return True


class ViewerCount(models.Model):
    """How many audience members watch a stream now, kept by the database: the
    triggers of migration 0018 add and take one as a participant row becomes
    present or stops being present (insert, update of `is_present`, delete), in
    the transaction that changes it. `recount_viewers` repairs any drift.

    A stream's count is the sum of its rows, one per slot: each database session
    moves the row of its own slot (on PostgreSQL, its backend's process id modulo
    VIEWER_COUNT_SLOTS), so that concurrent joins do not wait for each other on
    one row until they commit. (With one row per stream, joins queued on it for
    the length of each commit: a quarter of the join burst's throughput.) A slot
    can go below zero (a viewer joined through one session and left through
    another); only the sum means anything. Read it with `kept_viewers`."""

    pk = models.CompositePrimaryKey("live_stream_id", "slot")
    # No index of its own: the primary key starts with it.
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        db_index=False,
        related_name="viewer_counts",
        verbose_name=_("live stream"),
    )
    slot = models.PositiveSmallIntegerField(_("slot"), default=0)
    viewers = models.IntegerField(_("viewers now"), default=0)

    class Meta:
        verbose_name = _("viewer count")
        verbose_name_plural = _("viewer counts")

    def __str__(self) -> str:
        return f"{self.live_stream_id} [{self.slot}]: {self.viewers}"


# The slots of a stream's count on PostgreSQL (SQLite has one writer at a time: it
# uses slot 0 only). Part of the triggers of migration 0018.
VIEWER_COUNT_SLOTS = 64


def kept_viewers(live_stream: Any) -> Coalesce:
    """The kept viewer count of `live_stream` (a stream id, or an OuterRef to
    one) as an expression: the sum of its slots, 0 without any."""
    total = (
        ViewerCount.objects.filter(live_stream_id=live_stream)
        .order_by()
        .values("live_stream_id")
        .annotate(total=Sum("viewers"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=models.IntegerField()), 0)
