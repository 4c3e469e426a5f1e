"""A live stream, its invited guests and its mini crowdfundings."""

from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.db import models
from django.db.models import F, FloatField, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.core.fields import EARLIEST_ACCEPTED, LATEST_ACCEPTED
from allmine.core.ids import ObjectIdField
from livestreams.caching import forget_stream
from livestreams.lifecycle import (
    OPEN_STATUSES,
    AccessType,
    LiveStreamStatus,
    Role,
    fundable_filter,
    live_first_rank,
)


class MoneyDigits(TypedDict):
    """A money DecimalField's digits, spread into it: DecimalField(**MONEY)."""

    max_digits: int
    decimal_places: int


MONEY: MoneyDigits = {"max_digits": 12, "decimal_places": 2}
# collected / goal, in floats: SQLite would divide two whole amounts as integers.
FUNDING_RATIO = Cast("collected_funding", FloatField()) / Cast("funding_goal", FloatField())


class LiveStreamType(models.TextChoices):
    SOLO = "solo", _("solo")
    DUOCROWD = "duocrowd", _("duo (crowd)")
    DUOSELF = "duoself", _("duo (self)")


# How the interests of settings.LIVESTREAM_INTERESTS read in the back office (a
# value configured without a label here shows as it is stored).
INTEREST_LABELS = {
    "music": _("music"),
    "gaming": _("gaming"),
    "sports": _("sports"),
    "education": _("education"),
    "art": _("art"),
    "technology": _("technology"),
    "lifestyle": _("lifestyle"),
    "talk": _("talk"),
    "other": _("other"),
}


def interest_label(value: str | None) -> str:
    return str(INTEREST_LABELS.get(value, value)) if value else ""


class LiveStreamQuerySet(models.QuerySet["LiveStream"]):
    def visible(self) -> "LiveStreamQuerySet":
        """Streams the apps may see: everything not removed by a moderator."""
        return self.filter(deleted_at__isnull=True)


class LiveStream(models.Model):
    id = ObjectIdField()
    title = models.CharField(_("title"), max_length=100)
    live_stream_type = models.CharField(
        _("type"), max_length=16, choices=LiveStreamType.choices, default=LiveStreamType.SOLO
    )
    channel_name = models.CharField(_("channel name"), max_length=64, unique=True, editable=False)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="live_streams",
        verbose_name=_("creator"),
    )
    thumbnail = models.CharField(_("thumbnail file"), max_length=255, blank=True)
    recording = models.BooleanField(_("recorded"), default=False)
    recording_url = models.URLField(_("recording URL"), max_length=500, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=24, choices=LiveStreamStatus.choices, db_index=True
    )
    price = models.DecimalField(_("price"), **MONEY, null=True, blank=True)
    interest = models.CharField(_("interest"), max_length=32, null=True, blank=True)
    duration_goal = models.PositiveIntegerField(_("duration goal (minutes)"), null=True, blank=True)
    motivation = models.TextField(_("motivation"), max_length=1000, null=True, blank=True)
    is_active_replay_on_creator_profile = models.BooleanField(
        _("replay on creator profile"), null=True, blank=True
    )
    replay_credit_price = models.DecimalField(
        _("replay credit price"), **MONEY, null=True, blank=True
    )
    planned_start_date = models.DateTimeField(_("planned start"), null=True, blank=True)
    planned_end_date = models.DateTimeField(_("planned end"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # The creator's Broadcaster entry: when they first went live, and whether they
    # are in the channel now.
    host_joined_at = models.DateTimeField(_("host joined at"), null=True, blank=True)
    host_present = models.BooleanField(_("host in the channel"), default=False)
    # The most audience members present at once: raised to the kept viewer count
    # by the triggers of migration 0018 as each viewer arrives.
    peak_viewers = models.PositiveIntegerField(_("peak viewers"), default=0, editable=False)
    funding_goal = models.DecimalField(_("funding goal"), **MONEY, null=True, blank=True)
    collected_funding = models.DecimalField(
        _("collected funding"), **MONEY, default=Decimal("0.00"), editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Removal by a moderator is a soft delete: the row stays for the back office.
    deleted_at = models.DateTimeField(_("removed at"), null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("removed by"),
    )
    deletion_reason = models.TextField(_("removal reason"), blank=True, editable=False)
    # Who cancelled it: its creator, an invited guest (`cancelled_by_guest`), or a
    # moderator (the status is then `cancelled_by_host`, as for the creator).
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("cancelled by"),
    )

    objects = LiveStreamQuerySet.as_manager()

    # Not columns: what the selectors attach to a stream they load (declared for
    # the type checker only; none of these exists until a selector sets it).
    # selectors.streams.streams_for_user / streams_for_caller's annotations:
    viewer_is_guest: bool
    viewer_is_blocked: bool
    viewer_is_participant: bool
    viewer_ban_action: str | None
    # selectors.viewing.prepare_for_viewer's rows and the caller's view:
    guest_rows: list["Guest"]
    guest_ids: list[str]
    broadcasters: list[Any]  # viewing.Broadcaster: models do not import selectors
    funding_rows: list["MiniCrowdFunding"]
    viewer_role: Role | None
    viewer_replay: Any  # viewing.ReplayAccessState: models do not import selectors
    # selectors.discovery.mark_reminders (None for an anonymous caller):
    viewer_reminder_active: bool | None

    class Meta:
        verbose_name = _("live stream")
        verbose_name_plural = _("live streams")
        ordering = ["-created_at"]
        permissions = [
            ("moderate_livestream", _("Can moderate live streams (end, cancel, remove, ban)")),
            ("change_livestream_price", _("Can change live stream prices")),
        ]
        indexes = [
            models.Index(fields=["creator", "status"], name="livestream_creator_status"),
            models.Index(fields=["status", "planned_start_date"], name="livestream_status_start"),
            # The lists (API and back office) are newest first.
            models.Index(fields=["-created_at"], name="livestream_created"),
            # The back office's list: live first, then newest first.
            models.Index(
                live_first_rank(),
                F("created_at").desc(),
                F("id").desc(),
                name="livestream_live_first",
            ),
            # The dashboard: fundable streams by how close they are to their goal.
            models.Index(
                FUNDING_RATIO,
                name="livestream_funding_ratio",
                condition=fundable_filter() & Q(deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0),
                name="livestream_price_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(replay_credit_price__isnull=True) | Q(replay_credit_price__gte=0),
                name="livestream_replay_price_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(funding_goal__isnull=True) | Q(funding_goal__gte=0),
                name="livestream_funding_goal_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(collected_funding__gte=0), name="livestream_collected_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(planned_start_date__isnull=True)
                | Q(planned_end_date__isnull=True)
                | Q(planned_end_date__gt=F("planned_start_date")),
                name="livestream_planned_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=LiveStreamStatus.values), name="livestream_status_valid"
            ),
            # The last word behind the API's and the admin's window: a time the
            # database could hold but Python could not read back (a year past 9999,
            # or before 1) would break every list that meets the row.
            models.CheckConstraint(
                condition=(
                    Q(planned_start_date__isnull=True)
                    | Q(
                        planned_start_date__gte=EARLIEST_ACCEPTED,
                        planned_start_date__lte=LATEST_ACCEPTED,
                    )
                )
                & (
                    Q(planned_end_date__isnull=True)
                    | Q(
                        planned_end_date__gte=EARLIEST_ACCEPTED,
                        planned_end_date__lte=LATEST_ACCEPTED,
                    )
                ),
                name="livestream_planned_dates_in_range",
            ),
            models.UniqueConstraint(
                fields=["creator"],
                condition=Q(status__in=OPEN_STATUSES, deleted_at__isnull=True),
                name="livestream_one_open_stream_per_creator",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        forget_stream(self.pk)  # its cached representation, when this commits

    @property
    def is_removed(self) -> bool:
        return self.deleted_at is not None

    @property
    def access_type(self) -> AccessType:
        return AccessType.of(self.price)


class Guest(models.Model):
    """A user invited to broadcast in a duo stream, and their broadcaster state."""

    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        related_name="guest_set",
        verbose_name=_("live stream"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="guest_invitations",
        verbose_name=_("user"),
    )
    # The order the creator gave; `guests` in the API lists them in it.
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    uid = models.PositiveBigIntegerField(_("Agora uid"), null=True, blank=True)
    has_joined = models.BooleanField(_("joined"), default=False)
    joined_at = models.DateTimeField(_("joined at"), null=True, blank=True)
    created_at = models.DateTimeField(_("invited at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("guest")
        verbose_name_plural = _("guests")
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["live_stream", "user"], name="guest_once_per_stream"),
        ]

    def __str__(self) -> str:
        return _("%(user)s, guest of “%(stream)s”") % {
            "user": self.user,
            "stream": self.live_stream,
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        forget_stream(self.live_stream_id)  # the stream's broadcasters changed


class MiniCrowdFundingStatus(models.TextChoices):
    OPEN = "open", _("open")
    REACHED = "reached", _("reached")
    CLOSED = "closed", _("closed")


class MiniCrowdFunding(models.Model):
    """A smaller funding target inside a stream."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        related_name="mini_crowd_fundings",
        verbose_name=_("live stream"),
    )
    title = models.CharField(_("title"), max_length=100)
    goal = models.DecimalField(_("goal"), **MONEY)
    collected = models.DecimalField(_("collected"), **MONEY, default=Decimal("0.00"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=MiniCrowdFundingStatus.choices,
        default=MiniCrowdFundingStatus.OPEN,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mini crowdfunding")
        verbose_name_plural = _("mini crowdfundings")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(goal__gt=0), name="minicrowdfunding_goal_positive"),
            models.CheckConstraint(
                condition=Q(collected__gte=0), name="minicrowdfunding_collected_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        forget_stream(self.live_stream_id)  # the stream's fundings changed
