from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.ids import ObjectIdField

MONEY = {"max_digits": 12, "decimal_places": 2}


class LiveStreamType(models.TextChoices):
    SOLO = "solo", _("solo")
    DUOCROWD = "duocrowd", _("duo (crowd)")
    DUOSELF = "duoself", _("duo (self)")


class LiveStreamStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    PREPARING = "preparing", _("preparing")
    ACTIVE = "active", _("active")
    ENDED = "ended", _("ended")
    EXPIRED = "expired", _("expired")
    CANCELLED_BY_HOST = "cancelled_by_host", _("cancelled by host")
    CANCELLED_BY_GUEST = "cancelled_by_guest", _("cancelled by guest")


# A creator has at most one stream in these states at a time.
OPEN_STATUSES = (LiveStreamStatus.PREPARING, LiveStreamStatus.ACTIVE)
# Broadcasters may join while the stream is in one of these.
JOINABLE_STATUSES = (
    LiveStreamStatus.SCHEDULED,
    LiveStreamStatus.PREPARING,
    LiveStreamStatus.ACTIVE,
)


class LiveStreamQuerySet(models.QuerySet):
    def visible(self):
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

    objects = LiveStreamQuerySet.as_manager()

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
            models.UniqueConstraint(
                fields=["creator"],
                condition=Q(status__in=OPEN_STATUSES, deleted_at__isnull=True),
                name="livestream_one_open_stream_per_creator",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_removed(self) -> bool:
        return self.deleted_at is not None

    @property
    def access_type(self) -> str:
        return "paid" if self.price and self.price > 0 else "free"


class Guest(models.Model):
    """A user invited to broadcast in a duo stream, and their broadcaster state."""

    live_stream = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="guest_set")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guest_invitations"
    )
    # The order the creator gave; `guests` in the API lists them in it.
    position = models.PositiveSmallIntegerField(default=0)
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
        return f"{self.user_id} in {self.live_stream_id}"


class ReplayAccess(models.Model):
    """A user's 24 h rental of a stream's replay; one per user and stream."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream, on_delete=models.CASCADE, related_name="replay_accesses"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="replay_accesses"
    )
    price = models.DecimalField(_("price paid"), **MONEY)
    rented_at = models.DateTimeField(_("rented at"))
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("replay rental")
        verbose_name_plural = _("replay rentals")
        constraints = [
            models.UniqueConstraint(
                fields=["live_stream", "user"], name="replay_access_once_per_user"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="replay_access_price_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("rented_at")), name="replay_access_expires_after_rent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} rents {self.live_stream_id}"


class MiniCrowdFundingStatus(models.TextChoices):
    OPEN = "open", _("open")
    REACHED = "reached", _("reached")
    CLOSED = "closed", _("closed")


class MiniCrowdFunding(models.Model):
    """A smaller funding target inside a stream."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream, on_delete=models.CASCADE, related_name="mini_crowd_fundings"
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


class BanAction(models.TextChoices):
    BLOCK = "BLOCK", _("block: no joining at all")
    CHAT_ONLY = "CHAT_ONLY", _("chat only: may watch, may not chat")


class LiveStreamBanQuerySet(models.QuerySet):
    def in_force(self):
        return self.filter(lifted_at__isnull=True)


class LiveStreamBan(models.Model):
    """A user banned from one stream by its creator or a moderator; lifting is a soft delete."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_stream_bans"
    )
    action_type = models.CharField(_("action"), max_length=16, choices=BanAction.choices)
    reason = models.TextField(_("reason"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("banned at"), default=timezone.now, editable=False)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
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
        return f"{self.action_type} {self.user_id} in {self.live_stream_id}"


class Participant(models.Model):
    """An audience member of a stream: one row per user and stream, whatever the
    number of times they join; holds their presence, watch time and device."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    is_present = models.BooleanField(_("watching now"), default=True)
    first_joined_at = models.DateTimeField(_("first joined at"), default=timezone.now)
    last_joined_at = models.DateTimeField(_("last joined at"), default=timezone.now)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    watch_seconds = models.PositiveIntegerField(_("watch time (s)"), default=0)
    join_count = models.PositiveIntegerField(_("joins"), default=1)
    # The stream_charge paid for a paid stream (once per user and stream).
    charge = models.OneToOneField(
        "accounts.CreditTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
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
        indexes = [
            models.Index(fields=["live_stream", "is_present"], name="participant_stream_present"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} watches {self.live_stream_id}"

    LEAVE_FIELDS = ("watch_seconds", "is_present", "left_at")

    def mark_left(self, when) -> bool:
        """Leave at `when`, adding the time since the last join to the watch time
        (not saved). False if the participant was not present."""
        if not self.is_present:
            return False
        self.watch_seconds += max(0, int((when - self.last_joined_at).total_seconds()))
        self.is_present = False
        self.left_at = max(when, self.last_joined_at)
        return True


class ContributionStatus(models.TextChoices):
    COMPLETED = "completed", _("completed")
    REFUNDED = "refunded", _("refunded")


class Contribution(models.Model):
    """Credits a user gave towards a scheduled stream's funding goal."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream, on_delete=models.PROTECT, related_name="contributions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contributions"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ContributionStatus.choices,
        default=ContributionStatus.COMPLETED,
    )
    transaction = models.OneToOneField(
        "accounts.CreditTransaction", on_delete=models.PROTECT, related_name="+"
    )
    refund_transaction = models.OneToOneField(
        "accounts.CreditTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("contributed at"), default=timezone.now, editable=False)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "status"], name="contribution_user_status"),
            # The funding page's chart: completed contributions per day.
            models.Index(fields=["status", "created_at"], name="contribution_status_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="contribution_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} from {self.user_id} to {self.live_stream_id}"


# --- Agora: Notification Center events and REST kicks ------------------------------


class AgoraNoticeOutcome(models.TextChoices):
    APPLIED = "applied", _("applied")
    RECORDED = "recorded", _("recorded (nothing to change)")
    STALE = "stale", _("older than what was already applied")
    UNKNOWN_EVENT = "unknown_event", _("unknown event type")
    UNKNOWN_CHANNEL = "unknown_channel", _("unknown channel")
    UNKNOWN_USER = "unknown_user", _("unknown uid")
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
    client_seq = models.BigIntegerField(_("client sequence"), null=True, blank=True)
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
    client_seq = models.BigIntegerField(_("last applied client sequence"))
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
    FAILED = "failed", _("failed")


class AgoraKickReason(models.TextChoices):
    BAN = "ban", _("user banned")
    END = "end", _("stream ended")


class AgoraKick(models.Model):
    """A kicking rule to create through Agora's REST API (a banned user, or everyone
    in an ended stream's channel), recorded so that a failure is retried."""

    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agora_kicks",
        verbose_name=_("live stream"),
    )
    channel_name = models.CharField(_("channel name"), max_length=64)
    # Null: everyone in the channel.
    uid = models.PositiveBigIntegerField(_("Agora uid"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=8, choices=AgoraKickReason.choices)
    minutes = models.PositiveIntegerField(_("rule lasts (minutes)"))
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=AgoraKickStatus.choices,
        default=AgoraKickStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    rule_id = models.BigIntegerField(_("Agora rule id"), null=True, blank=True)
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
            models.CheckConstraint(condition=Q(minutes__gte=1), name="agorakick_minutes_positive"),
        ]

    def __str__(self) -> str:
        who = self.uid if self.uid is not None else "everyone"
        return f"kick {who} from {self.channel_name} ({self.status})"
