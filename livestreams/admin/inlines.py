"""What the stream page shows inline: its invited guests and its bans (with a
"Lift" link on each ban in force, for moderators)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import ReadOnlyAdminMixin
from allmine.core.permissions import is_moderator
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
        return super().get_queryset(request).select_related("user", "live_stream")


class BanInline(ReadOnlyInline):
    model = LiveStreamBan
    fk_name = "live_stream"
    fields = ("user", "action_type", "reason", "created_by", "created_at", "lifted_at", "lifted_by")
    readonly_fields = (*fields, "lift")

    def get_fields(self, request, obj=None):
        return (*self.fields, "lift") if is_moderator(request.user) else self.fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("user", "live_stream", "created_by", "lifted_by")
        )

    @admin.display(description=_("moderation"))
    def lift(self, ban):
        if ban.pk is None or ban.lifted_at is not None:
            return "—"
        url = reverse("admin:livestreams_livestreamban_do", args=[ban.pk, "lift"])
        return format_html('<a class="button lift-link" href="{}">{}</a>', url, gettext("Lift"))
