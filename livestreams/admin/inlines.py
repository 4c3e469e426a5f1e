"""What the stream page shows inline: its invited guests and its bans."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import ReadOnlyAdminMixin
from livestreams.models import Guest, LiveStreamBan


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class GuestInline(ReadOnlyInline):
    model = Guest
    fields = ("user", "position", "uid", "has_joined", "joined_at", "created_at")
    readonly_fields = fields
    verbose_name_plural = _("invited guests")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class BanInline(ReadOnlyInline):
    model = LiveStreamBan
    fk_name = "live_stream"
    fields = ("user", "action_type", "reason", "created_by", "created_at", "lifted_at", "lifted_by")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "created_by", "lifted_by")
