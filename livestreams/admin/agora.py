"""The Agora jobs in the back office, read-only for moderators: kicks (with the
rules they created and lifted), cloud recordings, and the Notification Center's
notices. Each job list has a "needs attention" filter that finds what failed,
was given up or is stuck; a job's last error is shown in its row."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import LargeTablePaginator, ReadOnlyAdminMixin, badge
from allmine.core.permissions import is_moderator
from livestreams.models import (
    AgoraKick,
    AgoraKickStatus,
    AgoraNotice,
    Recording,
    RecordingStatus,
)
from livestreams.selectors.agora_jobs import (
    KICK_KINDS,
    RECORDING_KINDS,
    kick_attention,
    recording_attention,
)
from livestreams.services.agora_kicks import MAX_ATTEMPTS as KICK_MAX_ATTEMPTS
from livestreams.services.agora_kicks import WORKABLE

# A job due this long ago and still not done: its worker is not running.
RED, AMBER, GREEN, GREY = "red", "amber", "green", "grey"
KICK_COLOURS: dict[str, str] = {
    AgoraKickStatus.PENDING: AMBER,
    AgoraKickStatus.FAILED: RED,
    AgoraKickStatus.LIFTING: AMBER,
    AgoraKickStatus.DONE: GREEN,
    AgoraKickStatus.LIFTED: GREY,
    AgoraKickStatus.CANCELLED: GREY,
}
RECORDING_COLOURS: dict[str, str] = {
    RecordingStatus.STARTING: AMBER,
    RecordingStatus.RECORDING: GREEN,
    RecordingStatus.STOPPING: AMBER,
    RecordingStatus.UPLOADING: AMBER,
    RecordingStatus.READY: GREEN,
    RecordingStatus.CANCELLED: GREY,
    RecordingStatus.FAILED: RED,
}


def _error(text: str) -> str:
    return text if len(text) <= 120 else text[:120] + "…"


class AgoraJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only, visible to moderators (who hold no per-model permission for these)."""

    paginator = LargeTablePaginator
    show_full_result_count = False
    list_per_page = 50

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user) or super().has_view_permission(request, obj)

    @admin.display(description=_("live stream"), ordering="live_stream__title")
    def stream_link(self, obj: Any) -> SafeString | str:
        if obj.live_stream_id is None:
            return "—"
        url = reverse("admin:livestreams_livestream_change", args=[obj.live_stream_id])
        return format_html('<a href="{}">{}</a>', url, obj.live_stream.title)

    @admin.display(description=_("last error"))
    def short_error(self, obj: Any) -> str:
        return _error(obj.last_error) or "—"


class KickAttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("failing", _("failing (being retried)")),
            ("given_up", _("given up")),
            ("stuck", _("stuck (no worker?)")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        kind = self.value()
        if kind in KICK_KINDS:
            return queryset.filter(kick_attention(kind, timezone.now()))
        return queryset


@admin.register(AgoraKick)
class AgoraKickAdmin(AgoraJobAdmin):
    list_display = (
        "created_at",
        "stream_link",
        "reason",
        "who",
        "coloured_status",
        "attempts",
        "rule_id",
        "short_error",
        "next_attempt_at",
    )
    list_filter = (KickAttentionFilter, "status", "reason")
    list_select_related = ("live_stream",)
    search_fields = ("channel_name", "=uid", "=live_stream__id", "=rule_id")
    search_help_text = _("Channel name, or the exact uid, stream id or Agora rule id.")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    @admin.display(description=_("who"))
    def who(self, kick: AgoraKick) -> str:
        return str(_("everyone")) if kick.uid is None else f"uid {kick.uid}"

    @admin.display(description=_("status"), ordering="status")
    def coloured_status(self, kick: AgoraKick) -> SafeString:
        given_up = kick.status in WORKABLE and kick.attempts >= KICK_MAX_ATTEMPTS
        label = _("given up") if given_up else kick.get_status_display()
        return badge(str(label), RED if given_up else KICK_COLOURS.get(kick.status, GREY))


class RecordingAttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("failed", _("failed")),
            ("retrying", _("retrying after an error")),
            ("stuck", _("stuck (no worker?)")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        kind = self.value()
        if kind in RECORDING_KINDS:
            return queryset.filter(recording_attention(kind, timezone.now()))
        return queryset


@admin.register(Recording)
class RecordingAdmin(AgoraJobAdmin):
    list_display = (
        "created_at",
        "stream_link",
        "coloured_status",
        "attempts",
        "started_at",
        "stopped_at",
        "file_link",
        "short_error",
        "next_attempt_at",
    )
    list_filter = (RecordingAttentionFilter, "status")
    list_select_related = ("live_stream",)
    search_fields = ("channel_name", "=sid", "=live_stream__id")
    search_help_text = _("Channel name, or the exact Agora sid or stream id.")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    @admin.display(description=_("status"), ordering="status")
    def coloured_status(self, rec: Recording) -> SafeString:
        return badge(rec.get_status_display(), RECORDING_COLOURS.get(rec.status, GREY))

    @admin.display(description=_("replay file"))
    def file_link(self, rec: Recording) -> SafeString | str:
        if not rec.url:
            return "—"
        return format_html('<a href="{}" rel="noopener" target="_blank">{}</a>', rec.url, _("open"))


@admin.register(AgoraNotice)
class AgoraNoticeAdmin(AgoraJobAdmin):
    list_display = (
        "received_at",
        "product_id",
        "event_type",
        "channel_name",
        "uid",
        "client_seq",
        "outcome",
    )
    list_filter = ("outcome", "product_id", "event_type")
    search_fields = ("channel_name", "=notice_id", "=uid")
    search_help_text = _("Channel name, or the exact notice id or uid.")
    date_hierarchy = "received_at"
    ordering = ("-received_at",)
