"""Read-only views of what hangs off a stream: participants, contributions,
bans (which moderators may lift), replay rentals, mini crowdfundings."""

from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import ModeratorActionsMixin, ReadOnlyAdminMixin, ReasonedActionMixin
from livestreams.models import (
    Contribution,
    LiveStreamBan,
    MiniCrowdFunding,
    Participant,
    ReplayAccess,
)
from livestreams.services.bans import ban_lift


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    show_full_result_count = False


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
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


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdmin):
    list_display = ("live_stream", "user", "amount", "status", "created_at", "refunded_at")
    list_filter = ("status",)
    list_select_related = ("user", "live_stream")
    search_fields = ("user__username", "=live_stream__id")
    date_hierarchy = "created_at"


@admin.register(LiveStreamBan)
class LiveStreamBanAdmin(ReasonedActionMixin, ModeratorActionsMixin, ReadOnlyAdmin):
    list_display = ("live_stream", "user", "action_type", "created_by", "created_at", "lifted_at")
    list_filter = ("action_type", ("lifted_at", admin.EmptyFieldListFilter))
    list_select_related = ("live_stream", "user", "created_by")
    search_fields = ("user__username", "=live_stream__id")
    actions = ["lift"]

    @admin.action(description=_("Lift the selected bans"), permissions=["moderate"])
    def lift(self, request, queryset):
        return self.reasoned_action(
            request,
            queryset.select_related("user", "live_stream"),
            title=gettext("Lift bans"),
            intro=gettext("The users may join these streams again, and chat in them."),
            apply=lambda ban, data: ban_lift(
                actor=request.user, ban_id=ban.pk, reason=data["reason"]
            ),
            describe=lambda ban: (
                f"{ban.user.username} ({ban.get_action_type_display()}, {ban.live_stream.title})"
            ),
            done=lambda count: gettext("%(count)d ban(s) lifted.") % {"count": count},
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
