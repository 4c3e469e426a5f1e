"""The moderators' queue of reports (API-more §10): open reports first, the oldest
first, filtered by type and status, with how many reports of the same stream are
open. A moderator resolves or dismisses a report with a note, or acts on its
stream (end, remove, ban a user), which resolves it; each step is audited."""

from django import forms
from django.contrib import admin
from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import (
    AuditHistoryMixin,
    ModeratorActionsMixin,
    ReadOnlyAdminMixin,
    ReasonedActionMixin,
    badge,
    html_table,
)
from allmine.core.audit import audit_history
from allmine.core.forms import ReasonForm
from allmine.core.history import action_label
from livestreams.admin.forms import BanForm
from livestreams.models import ReportStatus, StreamReport
from livestreams.services.reports import report_act_on_stream, report_ban_user, report_close

STATUS_TONES = {
    ReportStatus.OPEN: "red",
    ReportStatus.RESOLVED: "green",
    ReportStatus.DISMISSED: "grey",
}


class NoteForm(ReasonForm):
    """The moderator's note, kept with the report and in the audit trail."""

    reason = forms.CharField(
        label=_("Note"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept with the report and in the audit trail with your name and the time."),
    )


def _describe(report: StreamReport) -> str:
    return f"{report.get_type_display()}: {report.live_stream.title} ({report.reporter.username})"


@admin.register(StreamReport)
class StreamReportAdmin(
    AuditHistoryMixin,
    ReasonedActionMixin,
    ModeratorActionsMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    list_display = (
        "created_at",
        "coloured_status",
        "type",
        "stream_link",
        "open_on_stream",
        "reporter",
        "excerpt",
        "closed_by",
    )
    list_filter = ("status", "type")
    list_select_related = ("live_stream", "reporter", "closed_by")
    search_fields = ("reporter__username", "live_stream__title", "=live_stream__id")
    search_help_text = _("Reporter's username, the stream's title, or its exact id.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    actions = ["resolve", "dismiss", "end_stream", "remove_stream", "ban_user"]
    fields = (
        "id",
        "live_stream",
        "reporter",
        "type",
        "description",
        "status",
        "created_at",
        "closed_at",
        "closed_by",
        "note",
        "language",
        "time_zone",
        "platform",
        "app_version",
        "device_id",
        "history",
    )
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or self.has_moderate_permission(request)

    def get_queryset(self, request):
        open_here = (
            StreamReport.objects.filter(
                live_stream=OuterRef("live_stream"), status=ReportStatus.OPEN
            )
            .order_by()
            .values("live_stream")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        )
        # Not super(): it orders by get_ordering() before these annotations exist.
        return (
            StreamReport.objects.all()
            .annotate(
                queue_rank=Case(
                    When(status=ReportStatus.OPEN, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                ),
                open_n=Coalesce(Subquery(open_here, output_field=IntegerField()), 0),
            )
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request):
        # The annotations of get_queryset (`ordering` may only name fields).
        return ["queue_rank", "created_at", "pk"]

    # -- columns -------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="queue_rank")
    def coloured_status(self, obj):
        return badge(obj.get_status_display(), STATUS_TONES.get(obj.status, "grey"))

    @admin.display(description=_("live stream"), ordering="live_stream__title")
    def stream_link(self, obj):
        url = reverse("admin:livestreams_livestream_change", args=[obj.live_stream_id])
        return format_html('<a href="{}">{}</a>', url, obj.live_stream.title)

    @admin.display(description=_("open reports of the stream"), ordering="open_n")
    def open_on_stream(self, obj):
        return getattr(obj, "open_n", None)

    @admin.display(description=_("description"))
    def excerpt(self, obj):
        return Truncator(obj.description or "").chars(80) or "—"

    @admin.display(description=_("audit history"))
    def history(self, obj):
        return html_table(
            [gettext("when"), gettext("who"), gettext("what"), gettext("why")],
            (
                (
                    date_format(localtime(e.created_at), "SHORT_DATETIME_FORMAT"),
                    e.actor.username if e.actor else "—",
                    action_label(e.action),
                    e.reason or "—",
                )
                for e in audit_history(obj)[:50]
            ),
            css_class="audit-history",
        )

    # -- actions: through the services, audited ----------------------------------------

    def _report_action(self, request, queryset, *, title, intro, apply, form_class=NoteForm):
        return self.reasoned_action(
            request,
            queryset.select_related("live_stream", "reporter"),
            title=title,
            intro=intro,
            form_class=form_class,
            apply=apply,
            describe=_describe,
            done=lambda count: (
                gettext("%(title)s: done for %(count)d report(s).")
                % {"title": title, "count": count}
            ),
        )

    @admin.action(description=_("Resolve with a note"), permissions=["moderate"])
    def resolve(self, request, queryset):
        return self._report_action(
            request,
            queryset,
            title=gettext("Resolve"),
            intro=gettext("The reports are closed as resolved."),
            apply=lambda r, d: report_close(
                actor=request.user, report_id=r.pk, status=ReportStatus.RESOLVED, note=d["reason"]
            ),
        )

    @admin.action(description=_("Dismiss with a note"), permissions=["moderate"])
    def dismiss(self, request, queryset):
        return self._report_action(
            request,
            queryset,
            title=gettext("Dismiss"),
            intro=gettext("The reports are closed as dismissed: nothing to act on."),
            apply=lambda r, d: report_close(
                actor=request.user, report_id=r.pk, status=ReportStatus.DISMISSED, note=d["reason"]
            ),
        )

    @admin.action(description=_("End the reported stream"), permissions=["moderate"])
    def end_stream(self, request, queryset):
        return self._report_action(
            request,
            queryset,
            title=gettext("End the reported stream"),
            intro=gettext(
                "The streams end now; every open report of each stream is resolved with "
                "this reason."
            ),
            form_class=ReasonForm,
            apply=lambda r, d: report_act_on_stream(
                actor=request.user, report_id=r.pk, action="end", reason=d["reason"]
            ),
        )

    @admin.action(description=_("Remove the reported stream"), permissions=["moderate"])
    def remove_stream(self, request, queryset):
        return self._report_action(
            request,
            queryset,
            title=gettext("Remove the reported stream"),
            intro=gettext(
                "The streams are removed (a soft delete; an active one is ended first); every "
                "open report of each stream is resolved with this reason."
            ),
            form_class=ReasonForm,
            apply=lambda r, d: report_act_on_stream(
                actor=request.user, report_id=r.pk, action="remove", reason=d["reason"]
            ),
        )

    @admin.action(description=_("Ban a user from the reported stream"), permissions=["moderate"])
    def ban_user(self, request, queryset):
        return self._report_action(
            request,
            queryset,
            title=gettext("Ban a user from the reported stream"),
            intro=gettext("The user is banned from each stream; the reports are resolved."),
            form_class=BanForm,
            apply=lambda r, d: report_ban_user(
                actor=request.user,
                report_id=r.pk,
                target_user_id=d["user"].pk,
                action_type=d["action_type"],
                reason=d["reason"],
            ),
        )
