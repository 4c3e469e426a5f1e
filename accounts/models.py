import secrets
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.ids import ObjectIdField

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
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile_photo")
    original = models.CharField(_("original file"), max_length=255)
    # {"40": "profiles/<user>/<photo>/40.webp", ...}: storage names by edge size.
    variants = models.JSONField(_("variants"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("profile photo")
        verbose_name_plural = _("profile photos")

    def __str__(self) -> str:
        return f"{self.user_id}/{self.id}"

    def stored_names(self) -> list[str]:
        return [self.original, *self.variants.values()]
