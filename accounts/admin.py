"""The back office for accounts: users (with their photo, balance and ledger),
the read-only credit ledger, and profile photos.

Who may do what:
- viewing users and the ledger needs the view permissions (moderators hold them);
- editing a user needs `accounts.change_user`; privileges (staff, superuser,
  groups, permissions) only a superuser edits, and only a superuser touches a
  superuser's account;
- deactivating and reactivating (audited, with a reason) is open to holders of
  `accounts.change_user` or `livestreams.moderate_livestream`;
- credit adjustments (audited, with a reason) are for superusers only;
- the ledger is append-only: nobody adds, changes or deletes an entry here.

The rules themselves live in `accounts.services`; the actions only ask for a
reason, call the service for each selected user and report what happened.
"""

import uuid

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import CreditTransaction, ProfilePhoto, User
from accounts.services import auth
from accounts.services.moderation import (
    can_moderate_users,
    user_credits_adjust,
    user_deactivate,
    user_reactivate,
)
from allmine.core.admin import (
    AuditHistoryMixin,
    ModeratorAction,
    ReadOnlyAdminMixin,
    ReasonedActionMixin,
)
from allmine.core.errors import TooManyRequests
from allmine.core.forms import LocalizedMoneyField
from allmine.core.history import register_action, register_target
from allmine.core.http import client_ip
from allmine.core.media import media_url

# How many ledger entries the user page shows (newest first).
LEDGER_INLINE_ROWS = 50
# What only a superuser may change on an account.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


# --- Forms -------------------------------------------------------------------------


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class UserChangeAdminForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


def new_adjustment_key() -> str:
    return uuid.uuid4().hex


class CreditAdjustmentForm(forms.Form):
    # Drawn once per confirmation page: submitting the same page twice (a double
    # click, a resent form) adjusts each user once (`credits_grant`'s idempotency).
    key = forms.CharField(
        widget=forms.HiddenInput, max_length=32, required=False, initial=new_adjustment_key
    )
    # Typed in the admin's language (`7,50` in Turkish), never with a dropped separator.
    amount = LocalizedMoneyField(
        label=_("Amount"),
        help_text=_("Credits to add to each selected user; a negative amount takes credits back."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Shown in the user's ledger and kept in the audit trail."),
    )


# --- Ledger ------------------------------------------------------------------------

LEDGER_FIELDS = (
    "created_at",
    "kind",
    "status",
    "amount",
    "balance_after",
    "live_stream",
    "reason",
    "created_by",
)


class LatestLedgerFormSet(BaseInlineFormSet):
    """Only the newest LEDGER_INLINE_ROWS entries: a busy account's whole ledger
    does not belong on one page (the user page links to the full list)."""

    def get_queryset(self):
        if not hasattr(self, "_latest"):
            self._latest = super().get_queryset()[:LEDGER_INLINE_ROWS]
        return self._latest


class CreditLedgerInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CreditTransaction
    fk_name = "user"
    formset = LatestLedgerFormSet
    fields = LEDGER_FIELDS
    readonly_fields = LEDGER_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = _("ledger entry")
    verbose_name_plural = _("Credit ledger (latest entries, newest first)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("live_stream", "created_by")


@admin.register(CreditTransaction)
class CreditTransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "user",
        "kind",
        "status",
        "amount",
        "balance_after",
        "live_stream",
        "reason",
        "created_at",
    )
    list_filter = ("kind", "status")
    list_select_related = ("user", "live_stream")
    search_fields = ("user__username", "=user__id", "=live_stream__id")
    search_help_text = _("A username, a user id or a live stream id.")
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    fields = (
        "id",
        "user",
        "kind",
        "status",
        "amount",
        "balance_after",
        "live_stream",
        "related",
        "reason",
        "created_by",
        "idempotency_key",
        "available_at",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields


# --- Users -------------------------------------------------------------------------


def _photo(user: User, edge: str) -> str | None:
    """The URL of one variant of the user's profile photo, if they have one
    (`profile_photo` comes with the user through select_related)."""
    photo = getattr(user, "profile_photo", None)
    name = photo.variants.get(edge) if photo is not None else None
    return media_url(name) if name else None


def _describe(user: User) -> str:
    """A user as an action's intermediate page names them."""
    notes = [] if user.is_active else [gettext("inactive")]
    if user.is_superuser:
        notes.append(gettext("superuser"))
    return " · ".join([f"{user.username} ({user.email})", *notes])


def _describe_with_balance(user: User) -> str:
    return f"{_describe(user)} · {gettext('balance')}: {number_format(user.credit_balance, 2)}"


# How the accounts' audited actions read (allmine.core.history).
register_target(User)
register_action("deactivate", _("deactivated"), _("{actor} deactivated the account of {target}"))
register_action("reactivate", _("reactivated"), _("{actor} reactivated the account of {target}"))
register_action(
    "adjust_credits", _("credits adjusted"), _("{actor} adjusted the credits of {target}")
)


class DeactivateUsers(ModeratorAction):
    name = "deactivate_users"
    label = _("Deactivate account")
    permission = "moderate_accounts"
    intro = _(
        "These users will no longer be able to sign in, use their access tokens "
        "or refresh them. Their streams and ledger stay as they are."
    )

    def allows(self, request, obj):
        return obj.is_active and obj.pk != request.user.pk

    def describe(self, obj):
        return _describe(obj)

    def apply(self, request, obj, data):
        return user_deactivate(actor=request.user, user=obj, reason=data["reason"])

    def submit_label(self, count):
        return ngettext("Deactivate %(count)d user", "Deactivate %(count)d users", count) % {
            "count": count
        }

    def done(self, count):
        return ngettext("Deactivated %(count)d user.", "Deactivated %(count)d users.", count) % {
            "count": count
        }


class ReactivateUsers(ModeratorAction):
    name = "reactivate_users"
    label = _("Reactivate account")
    permission = "moderate_accounts"
    intro = _("These users will be able to sign in again (their old sessions stay signed out).")

    def allows(self, request, obj):
        return not obj.is_active

    def describe(self, obj):
        return _describe(obj)

    def apply(self, request, obj, data):
        return user_reactivate(actor=request.user, user=obj, reason=data["reason"])

    def submit_label(self, count):
        return ngettext("Reactivate %(count)d user", "Reactivate %(count)d users", count) % {
            "count": count
        }

    def done(self, count):
        return ngettext("Reactivated %(count)d user.", "Reactivated %(count)d users.", count) % {
            "count": count
        }


class AdjustCredits(ModeratorAction):
    name = "adjust_credits"
    label = _("Adjust credits")
    permission = "adjust_credits"
    form_class = CreditAdjustmentForm
    intro = _(
        "The amount is added to each selected user's balance as an admin "
        "adjustment in their ledger; a take-back that would leave a balance "
        "below zero is refused for that user."
    )

    def describe(self, obj):
        return _describe_with_balance(obj)

    def apply(self, request, obj, data):
        grant = user_credits_adjust(
            actor=request.user,
            user=obj,
            amount=data["amount"],
            reason=data["reason"],
            idempotency_key=f"admin-{data['key']}-{obj.pk}" if data["key"] else None,
        )
        return not grant.replayed  # False: this page was sent before, nothing done now

    def already_done(self, count):
        return ngettext(
            "This page was sent twice: %(count)d user was adjusted the first time and not again.",
            "This page was sent twice: %(count)d users were adjusted the first time and not again.",
            count,
        ) % {"count": count}

    def done(self, count):
        return ngettext(
            "Adjusted the credits of %(count)d user.",
            "Adjusted the credits of %(count)d users.",
            count,
        ) % {"count": count}


@admin.register(User)
class UserAdmin(AuditHistoryMixin, ReasonedActionMixin, DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    list_display = (
        "thumbnail",
        "username",
        "email",
        "full_name",
        "credit_balance",
        "is_active",
        "is_staff",
        "joined",
    )
    list_display_links = ("username",)
    list_filter = (
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "availability_status",
        "created_at",
    )
    list_select_related = ("profile_photo",)
    search_fields = ("username", "email", "name", "surname", "=id")
    search_help_text = _("A username, an e-mail, a name or surname, or an exact user id.")
    ordering = ("-created_at",)
    show_full_result_count = False
    readonly_fields = (
        "id",
        "photo",
        "agora_uid",
        "credit_balance",
        "ledger_summary",
        "is_active",
        "created_at",
        "updated_at",
        "last_login",
        "audit_trail",
    )
    fieldsets = (
        (None, {"fields": ("id", "username", "password")}),
        (
            _("Profile"),
            {"fields": ("photo", "name", "surname", "email", "availability_status")},
        ),
        (_("Credits"), {"fields": ("credit_balance", "ledger_summary")}),
        (_("Live"), {"fields": ("agora_uid",)}),
        (_("Status"), {"fields": ("is_active", "last_login", "created_at", "updated_at")}),
        (_("Permissions"), {"fields": PRIVILEGE_FIELDS}),
        (_("Audit trail"), {"fields": ("audit_trail",)}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )
    inlines = [CreditLedgerInline]
    moderator_actions = (DeactivateUsers(), ReactivateUsers(), AdjustCredits())

    def get_queryset(self, request):
        # The user page shows the photo too: bring it with the user, as the list does.
        return super().get_queryset(request).select_related("profile_photo")

    # --- Columns and read-only fields ---

    @admin.display(description=_("photo"))
    def thumbnail(self, obj: User):
        url = _photo(obj, "40")
        if url is None:
            return "—"
        return format_html(
            '<img src="{}" width="40" height="40" alt="" loading="lazy" class="user-thumbnail">',
            url,
        )

    @admin.display(description=_("profile photo"))
    def photo(self, obj: User):
        url = _photo(obj, "76") or _photo(obj, "40")
        if url is None:
            return gettext("No profile photo.")
        return format_html('<img src="{}" width="76" height="76" alt="">', url)

    @admin.display(description=_("name"), ordering="name")
    def full_name(self, obj: User) -> str:
        return f"{obj.name} {obj.surname}".strip()

    @admin.display(description=_("joined"), ordering="created_at")
    def joined(self, obj: User):
        return obj.created_at

    @admin.display(description=_("ledger"))
    def ledger_summary(self, obj: User):
        if obj.pk is None:
            return None
        total = CreditTransaction.objects.filter(user=obj).count()
        url = "{}?{}".format(
            reverse("admin:accounts_credittransaction_changelist"), urlencode({"user": obj.pk})
        )
        text = ngettext(
            "%(count)d entry; the latest %(shown)d are listed below.",
            "%(count)d entries; the latest %(shown)d are listed below.",
            total,
        ) % {"count": total, "shown": min(total, LEDGER_INLINE_ROWS)}
        return format_html('{} <a href="{}">{}</a>', text, url, _("Open the full ledger"))

    @admin.display(description=_("audited actions"))
    def audit_trail(self, obj: User):
        return self.latest_history(obj)

    # --- Permissions ---

    def _guards_superuser(self, request, obj) -> bool:
        """A superuser's account is changed or deleted by superusers only."""
        return obj is not None and obj.is_superuser and not request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._guards_superuser(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._guards_superuser(
            request, obj
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += PRIVILEGE_FIELDS
        return readonly

    def get_fieldsets(self, request, obj=None):
        """The password's "Reset password" button only for those who may use it."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def has_moderate_accounts_permission(self, request) -> bool:
        return can_moderate_users(request.user)

    def has_adjust_credits_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser


@admin.register(ProfilePhoto)
class ProfilePhotoAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "=id")
    readonly_fields = ("id", "user", "original", "variants", "created_at", "updated_at")


# --- The admin's sign-in ----------------------------------------------------------------


class LimitedAdminLoginForm(AdminAuthenticationForm):
    """The admin's login form, under the same limit on failed sign-ins per account
    as the API's (accounts.services.auth): a locked account is told so, its password
    unchecked; a failed sign-in counts; a successful one remembers the address."""

    def clean(self):
        login = self.cleaned_data.get("username") or ""
        address = client_ip(self.request) if self.request is not None else None
        try:
            account = auth.login_ensure_allowed(login=login, client_address=address)
        except TooManyRequests as exc:
            raise forms.ValidationError(
                gettext(
                    "Too many failed sign-ins to this account; try again in %(minutes)d minute(s)."
                )
                % {"minutes": -(-exc.retry_after // 60)},
                code="locked",
            ) from None
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if self.user_cache is None:  # the password (or the login) was wrong
                auth.login_failed(account=account)
            raise
        auth.login_succeeded(account=account, client_address=address)
        return cleaned


admin.site.login_form = LimitedAdminLoginForm
