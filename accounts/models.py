import secrets
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField

AGORA_UID_MAX = 2**32 - 1


def new_agora_uid() -> int:
    """A random Agora uid in 1..2^32-1 (0 means "any uid" to Agora)."""
    return secrets.randbelow(AGORA_UID_MAX) + 1


class AvailabilityStatus(models.TextChoices):
    AVAILABLE = "available", _("available")
    BUSY = "busy", _("busy")
    OFFLINE = "offline", _("offline")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.alias(username_lower=Lower("username")).get(username_lower=username.lower())

    def _create_user(self, username, email, password, **extra_fields):
        if not username:
            raise ValueError("A username is required.")
        user = self.model(username=username, email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, username, email="", password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(username, email, password, **extra_fields)

    def create_superuser(self, username, email="", password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(username, email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    id = ObjectIdField()
    username = models.CharField(
        _("username"),
        max_length=30,
        unique=True,
        help_text=_("Letters, digits and . _ - only; unique regardless of case."),
    )
    email = models.EmailField(_("e-mail"), max_length=254)
    name = models.CharField(_("name"), max_length=100, blank=True)
    surname = models.CharField(_("surname"), max_length=100, blank=True)
    availability_status = models.CharField(
        _("availability"),
        max_length=16,
        choices=AvailabilityStatus.choices,
        default=AvailabilityStatus.AVAILABLE,
    )
    agora_uid = models.PositiveBigIntegerField(
        _("Agora uid"), unique=True, default=new_agora_uid, editable=False
    )
    credit_balance = models.DecimalField(
        _("credit balance"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        editable=False,
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(agora_uid__gte=1, agora_uid__lte=AGORA_UID_MAX),
                name="user_agora_uid_range",
            ),
            models.CheckConstraint(
                condition=models.Q(credit_balance__gte=0), name="user_credit_balance_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.username


def profile_photo_path(photo: "ProfilePhoto", name: str) -> str:
    return f"profiles/{photo.user_id}/{photo.id}/{name}"


class ProfilePhoto(models.Model):
    """A user's current profile photo: the re-encoded original and square WebP variants."""

    id = ObjectIdField()
    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="profile_photo", verbose_name=_("user")
    )
    original = models.CharField(_("original file"), max_length=255)
    # {"40": "profiles/<user>/<photo>/40.webp", ...}: storage names by edge size.
    variants = models.JSONField(_("variants"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("profile photo")
        verbose_name_plural = _("profile photos")

    def __str__(self) -> str:
        return _("profile photo of %(user)s") % {"user": self.user}

    def stored_names(self) -> list[str]:
        return [self.original, *self.variants.values()]


class TransactionKind(models.TextChoices):
    STREAM_CHARGE = "stream_charge", _("stream charge")
    STREAM_REVENUE = "stream_revenue", _("stream revenue")
    STREAM_FUNDING_CONTRIBUTION = "stream_funding_contribution", _("funding contribution")
    STREAM_FUNDING_REFUND = "stream_funding_refund", _("funding refund")
    REPLAY_RENTAL = "replay_rental", _("replay rental")
    REPLAY_REVENUE = "replay_revenue", _("replay revenue")
    ADMIN_ADJUSTMENT = "admin_adjustment", _("admin adjustment")
    GIFT_SPEND = "gift_spend", _("gift")
    GIFT_REVENUE = "gift_revenue", _("gift revenue")
    SUPERLIKE_SPEND = "superlike_spend", _("superlike")
    SUPERLIKE_REVENUE = "superlike_revenue", _("superlike revenue")
    # Types of the reference guide the product does not produce yet: valid filters
    # that match nothing until it does.
    CREDIT_PURCHASE = "credit_purchase", _("credit purchase")
    CREDIT_TRANSFER_RECEIVED = "credit_transfer_received", _("credit transfer received")
    BALANCE_LOCK_REFUND = "balance_lock_refund", _("balance lock refund")
    CREDIT_TRANSFER_SENT = "credit_transfer_sent", _("credit transfer sent")
    MINI_CROWD_FUNDING_SUPPORT = "mini_crowd_funding_support", _("mini crowdfunding support")
    BALANCE_LOCK_HOLD = "balance_lock_hold", _("balance lock hold")


class TransactionDirection(models.TextChoices):
    """A credit raises the balance, a debit lowers it: the sign of `amount`."""

    CREDIT = "credit", _("credit")
    DEBIT = "debit", _("debit")


K, D = TransactionKind, TransactionDirection
# Each type's direction (API-more §13.2); None: by the sign of the amount.
TRANSACTION_DIRECTIONS: dict[str, TransactionDirection | None] = {
    K.STREAM_CHARGE: D.DEBIT,
    K.STREAM_REVENUE: D.CREDIT,
    K.STREAM_FUNDING_CONTRIBUTION: D.DEBIT,
    K.STREAM_FUNDING_REFUND: D.CREDIT,
    K.REPLAY_RENTAL: D.DEBIT,
    K.REPLAY_REVENUE: D.CREDIT,
    K.ADMIN_ADJUSTMENT: None,
    K.GIFT_SPEND: D.DEBIT,
    K.GIFT_REVENUE: D.CREDIT,
    K.SUPERLIKE_SPEND: D.DEBIT,
    K.SUPERLIKE_REVENUE: D.CREDIT,
    K.CREDIT_PURCHASE: D.CREDIT,
    K.CREDIT_TRANSFER_RECEIVED: D.CREDIT,
    K.BALANCE_LOCK_REFUND: D.CREDIT,
    K.CREDIT_TRANSFER_SENT: D.DEBIT,
    K.MINI_CROWD_FUNDING_SUPPORT: D.DEBIT,
    K.BALANCE_LOCK_HOLD: D.DEBIT,
}
del K, D


class TransactionStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed")
    REFUNDED = "refunded", _("refunded")


class CreditTransaction(models.Model):
    """One entry of a user's append-only credit ledger.

    `amount` is signed (a debit is negative). A user's balance is the sum of the
    amounts of their `completed` and `refunded` entries (a refunded debit stays in
    the ledger; its refund is an entry of its own). `pending` entries (revenue
    not yet settled) count only once settled.
    """

    id = ObjectIdField()
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="credit_transactions", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=TransactionKind.choices)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=TransactionStatus.choices,
        default=TransactionStatus.COMPLETED,
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    # The balance right after this entry took effect (null while pending).
    balance_after = models.DecimalField(
        _("balance after"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    live_stream = models.ForeignKey(
        "livestreams.LiveStream",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_transactions",
        verbose_name=_("live stream"),
    )
    # What this entry answers: the charge a revenue share or a refund belongs to.
    related = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answers the entry"),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # Makes a repeated request (a staff command run twice) write the entry once.
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=64, null=True, blank=True, unique=True
    )
    created_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # A pending entry becomes payable at this time (replay revenue after the window).
    available_at = models.DateTimeField(_("available at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit transaction")
        verbose_name_plural = _("credit transactions")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="credittx_user_created"),
            models.Index(fields=["status", "available_at"], name="credittx_status_available"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="credittx_amount_not_zero"),
            models.CheckConstraint(
                condition=models.Q(balance_after__isnull=True) | models.Q(balance_after__gte=0),
                name="credittx_balance_after_non_negative",
            ),
        ]

    def __str__(self) -> str:
        """“funding contribution, -100,00 credits” (the user is shown beside it)."""
        return _("%(kind)s, %(amount)s credits") % {
            "kind": self.get_kind_display(),
            "amount": number_format(self.amount, 2),
        }
