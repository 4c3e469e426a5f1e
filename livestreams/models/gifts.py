"""Gifts: the types staff offer (an SVG and a price in credits), and each gift sent."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField
from livestreams.models.streams import MONEY, LiveStream


class GiftType(models.Model):
    """A gift the apps offer. Deactivated, it is hidden and refused for new gifts;
    once sent it is never deleted (the gifts protect it)."""

    id = ObjectIdField()
    credit_amount = models.DecimalField(_("price in credits"), **MONEY)
    # The validated SVG's name in the default storage (`allmine.core.svg`).
    svg = models.CharField(_("SVG file"), max_length=255)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("gift type")
        verbose_name_plural = _("gift types")
        ordering = ["credit_amount", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_amount__gt=0), name="gifttype_credit_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credit_amount} credits ({self.pk})"


class Gift(models.Model):
    """One gift sent to a stream: a `gift_spend` debit with its revenue shares."""

    id = ObjectIdField()
    live_stream = models.ForeignKey(
        LiveStream, on_delete=models.PROTECT, related_name="gifts", verbose_name=_("live stream")
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="gifts_sent",
        verbose_name=_("sender"),
    )
    gift_type = models.ForeignKey(
        GiftType, on_delete=models.PROTECT, related_name="gifts", verbose_name=_("gift type")
    )
    # The type's price when it was sent.
    credit_amount = models.DecimalField(_("credits"), **MONEY)
    transaction = models.OneToOneField(
        "accounts.CreditTransaction", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("gift")
        verbose_name_plural = _("gifts")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["live_stream", "gift_type"], name="gift_stream_type"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(credit_amount__gt=0), name="gift_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.gift_type_id} from {self.sender_id} to {self.live_stream_id}"
