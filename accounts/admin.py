from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from accounts.models import ProfilePhoto, User


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class UserChangeAdminForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    list_display = (
        "username",
        "email",
        "name",
        "surname",
        "credit_balance",
        "is_active",
        "is_staff",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "availability_status")
    search_fields = ("username", "email", "name", "surname", "id")
    ordering = ("-created_at",)
    readonly_fields = (
        "id",
        "agora_uid",
        "credit_balance",
        "created_at",
        "updated_at",
        "last_login",
    )
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("id", "username", "password")}),
        (_("Profile"), {"fields": ("name", "surname", "email", "availability_status")}),
        (_("Live"), {"fields": ("agora_uid", "credit_balance")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )


@admin.register(ProfilePhoto)
class ProfilePhotoAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "id")
    readonly_fields = ("id", "user", "original", "variants", "created_at", "updated_at")
