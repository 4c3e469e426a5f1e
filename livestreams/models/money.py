"""Money around a stream: replay rentals and funding contributions (the credits
themselves are `accounts.CreditTransaction`)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField
from livestreams.models.streams import MONEY, LiveStream


class ReplayAccess(models.Model):
    """A user's 24 h rental of a stream's replay; one per user and stream."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.CASCADE,
        related_name="replay_accesses",
        verbose_name=_("live stream"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="replay_accesses",
        verbose_name=_("user"),
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
        return _("%(user)s rents the replay of “%(stream)s”") % {
            "user": self.user,
            "stream": self.live_stream,
        }


class ContributionStatus(models.TextChoices):
    COMPLETED = "completed", _("completed")
    REFUNDED = "refunded", _("refunded")


class Contribution(models.Model):
    """Credits a user gave towards a scheduled stream's funding goal."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream,
        on_delete=models.PROTECT,
        related_name="contributions",
        verbose_name=_("live stream"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="contributions",
        verbose_name=_("contributor"),
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ContributionStatus.choices,
        default=ContributionStatus.COMPLETED,
    )
    transaction = models.OneToOneField(
        "accounts.CreditTransaction",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ledger entry"),
    )
    refund_transaction = models.OneToOneField(
        "accounts.CreditTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("refund ledger entry"),
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
        return _("%(amount)s credits from %(user)s to “%(stream)s”") % {
            "amount": number_format(self.amount, 2),
            "user": self.user,
            "stream": self.live_stream,
        }
