from django.contrib import admin

from livestreams.models import (
    Guest,
    LiveStream,
    LiveStreamBan,
    MiniCrowdFunding,
    ReplayAccess,
)


class GuestInline(admin.TabularInline):
    model = Guest
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("uid", "has_joined", "joined_at", "created_at")


@admin.register(LiveStream)
class LiveStreamAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "creator",
        "live_stream_type",
        "status",
        "price",
        "replay_credit_price",
        "planned_start_date",
        "started_at",
    )
    list_filter = ("status", "live_stream_type", "interest", "recording")
    list_select_related = ("creator",)
    search_fields = ("title", "channel_name", "creator__username", "creator__email", "id")
    date_hierarchy = "created_at"
    raw_id_fields = ("creator",)
    readonly_fields = (
        "id",
        "channel_name",
        "status",
        "collected_funding",
        "started_at",
        "ended_at",
        "host_joined_at",
        "recording_url",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted_by",
        "deletion_reason",
    )
    inlines = [GuestInline]
    show_full_result_count = False


@admin.register(LiveStreamBan)
class LiveStreamBanAdmin(admin.ModelAdmin):
    list_display = ("live_stream", "user", "action_type", "created_at", "lifted_at")
    list_select_related = ("live_stream", "user")
    raw_id_fields = ("live_stream", "user", "created_by", "lifted_by")


@admin.register(ReplayAccess)
class ReplayAccessAdmin(admin.ModelAdmin):
    list_display = ("live_stream", "user", "price", "rented_at", "expires_at")
    list_select_related = ("live_stream", "user")
    raw_id_fields = ("live_stream", "user")


@admin.register(MiniCrowdFunding)
class MiniCrowdFundingAdmin(admin.ModelAdmin):
    list_display = ("title", "live_stream", "goal", "collected", "status")
    list_select_related = ("live_stream",)
    raw_id_fields = ("live_stream",)
