"""Read-only views of what hangs off a stream: participants (each with a "Ban"
link for moderators), contributions, bans (which moderators lift, one by one
or in bulk), replay rentals, mini crowdfundings."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import (
    ModeratorActionsMixin,
    ReadOnlyAdminMixin,
    ReasonedActionMixin,
)
from livestreams.admin.actions import BAN_ACTIONS
from livestreams.models import (
    Contribution,
    LiveStreamBan,
    MiniCrowdFunding,
    Participant,
    ReplayAccess,
)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    show_full_result_count = False


@admin.register(Participant)
class ParticipantAdmin(ModeratorActionsMixin, ReadOnlyAdmin):
    list_display = (
        "user",
        "live_stream",
        "is_present",
        "last_joined_at",
        "watch_seconds",
        "device_type",
        "country",
        "ip_address",
    )
    list_filter = ("is_present", "device_type")
    list_select_related = ("user", "live_stream")
    search_fields = ("user__username", "=live_stream__id")

    def get_list_display(self, request):
        if self.has_moderate_permission(request):
            return (*self.list_display, "ban")
        return self.list_display

    @admin.display(description=_("moderation"))
    def ban(self, participant):
        url = reverse(
            "admin:livestreams_livestream_do", args=[participant.live_stream_id, "ban_user"]
        )
        query = urlencode({"user": participant.user_id})
        return format_html(
            '<a class="button ban-link" href="{}?{}">{}</a>', url, query, gettext("Ban")
        )


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdmin):
    list_display = ("live_stream", "user", "amount_shown", "status", "created_at", "refunded_at")
    list_filter = ("status",)
    list_select_related = ("user", "live_stream")
    search_fields = ("user__username", "=live_stream__id")
    date_hierarchy = "created_at"

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, contribution):
        return number_format(contribution.amount, 2)


@admin.register(LiveStreamBan)
class LiveStreamBanAdmin(ReasonedActionMixin, ModeratorActionsMixin, ReadOnlyAdmin):
    list_display = (
        "user",
        "live_stream",
        "action_type",
        "created_by",
        "created_at",
        "lifted_at",
        "lifted_by",
    )
    list_filter = ("action_type", ("lifted_at", admin.EmptyFieldListFilter))
    list_select_related = ("live_stream", "user", "created_by", "lifted_by")
    search_fields = ("user__username", "=live_stream__id")
    moderator_actions = BAN_ACTIONS

    def get_list_display(self, request):
        if self.has_moderate_permission(request):
            return (*self.list_display, "lift_link")
        return self.list_display

    @admin.display(description=_("moderation"))
    def lift_link(self, ban):
        if ban.lifted_at is not None:
            return "—"
        url = reverse("admin:livestreams_livestreamban_do", args=[ban.pk, "lift"])
        return format_html('<a class="button lift-link" href="{}">{}</a>', url, gettext("Lift"))

    def history_view(self, request, object_id, extra_context=None):
        """A ban's history is its stream's (the stream is what the audit names)."""
        ban = self.get_object(request, unquote(object_id))
        if ban is None:
            return super().history_view(request, object_id, extra_context)
        return HttpResponseRedirect(
            reverse("admin:livestreams_livestream_history", args=[ban.live_stream_id])
        )


@admin.register(ReplayAccess)
class ReplayAccessAdmin(ReadOnlyAdmin):
    list_display = ("live_stream", "user", "price", "rented_at", "expires_at")
    list_select_related = ("live_stream", "user")
    search_fields = ("user__username", "=live_stream__id")


@admin.register(MiniCrowdFunding)
class MiniCrowdFundingAdmin(ReadOnlyAdmin):
    list_display = ("title", "live_stream", "goal", "collected", "status")
    list_select_related = ("live_stream",)
