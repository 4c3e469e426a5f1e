"""The moderators' back office for live streams.

Every change made here goes through the same services as the API
(`livestreams.services`), so a rule is written once and every action is audited.
"""

from django.contrib import admin, messages
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import (
    LargeTablePaginator,
    ModeratorActionsMixin,
    ReasonedActionMixin,
    html_table,
)
from allmine.core.audit import audit_history
from allmine.core.errors import ApiError
from allmine.core.fields import money_to_json
from allmine.core.forms import ReasonForm
from allmine.core.media import media_url
from livestreams.admin.filters import (
    AccessTypeFilter,
    FundingGoalFilter,
    InterestFilter,
    RemovedFilter,
)
from livestreams.admin.forms import BanForm, LiveStreamAdminForm, money_formfield
from livestreams.admin.funding import (
    funding_bar_html,
    funding_progress_csv,
    funding_progress_view,
)
from livestreams.admin.inlines import BanInline, GuestInline
from livestreams.models import (
    Contribution,
    Guest,
    LiveStream,
    Participant,
)
from livestreams.services.bans import ban_create
from livestreams.services.moderation import (
    livestream_admin_update,
    livestream_cancel,
    livestream_end,
    livestream_remove,
    livestream_restore,
    livestream_set_prices,
)

AUDIENCE_PREVIEW_ROWS = 50


def _describe(stream: LiveStream) -> str:
    """A stream as an action's intermediate page names it."""
    return f"{stream.title} ({stream.get_status_display()}, {stream.creator.username})"


def _when(value) -> str:
    """A timestamp as the admin shows dates: local time, the active language's format."""
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def _count(queryset) -> Subquery:
    """A correlated COUNT(*) for an annotation (no join, no GROUP BY)."""
    return Coalesce(
        Subquery(
            queryset.order_by().values("live_stream").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


# --- The stream admin -------------------------------------------------------------


@admin.register(LiveStream)
class LiveStreamAdmin(ReasonedActionMixin, ModeratorActionsMixin, admin.ModelAdmin):
    form = LiveStreamAdminForm
    paginator = LargeTablePaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count the whole table
    list_per_page = 50
    list_display = (
        "title",
        "creator_link",
        "live_stream_type",
        "coloured_status",
        "access",
        "price",
        "replay_credit_price",
        "funding",
        "guest_count",
        "viewer_count",
        "planned_start_date",
        "started_at",
    )
    list_display_links = ("title",)
    list_editable = ("price", "replay_credit_price")
    list_filter = (
        "status",
        "live_stream_type",
        AccessTypeFilter,
        InterestFilter,
        "recording",
        FundingGoalFilter,
        RemovedFilter,
    )
    list_select_related = ("creator",)
    search_fields = ("title", "channel_name", "creator__username", "creator__email", "=id")
    search_help_text = _("Title, channel name, creator's username or e-mail, or the exact id.")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = [GuestInline, BanInline]
    actions = ["end_now", "cancel", "remove", "restore", "ban_user"]
    readonly_fields = (
        "id",
        "creator",
        "channel_name",
        "status",
        "access",
        "collected_funding",
        "funding",
        "started_at",
        "ended_at",
        "host_joined_at",
        "host_present",
        "recording_url",
        "thumbnail_preview",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted_by",
        "deletion_reason",
        "current_audience",
        "contributions",
        "history",
    )
    fieldsets = (
        (
            _("Basics"),
            {
                "fields": (
                    "id",
                    "title",
                    "live_stream_type",
                    "creator",
                    "channel_name",
                    "thumbnail_preview",
                    "interest",
                    "motivation",
                )
            },
        ),
        (
            _("Schedule"),
            {
                "fields": (
                    "status",
                    "planned_start_date",
                    "planned_end_date",
                    "duration_goal",
                    "started_at",
                    "ended_at",
                    "host_joined_at",
                    "host_present",
                )
            },
        ),
        (_("Pricing"), {"fields": ("price", "access")}),
        (
            _("Funding"),
            {"fields": ("funding_goal", "collected_funding", "funding", "contributions")},
        ),
        (
            _("Replay"),
            {
                "fields": (
                    "recording",
                    "recording_url",
                    "is_active_replay_on_creator_profile",
                    "replay_credit_price",
                )
            },
        ),
        (_("Audience"), {"fields": ("current_audience",)}),
        (
            _("Moderation"),
            {"fields": ("deleted_at", "deleted_by", "deletion_reason", "history")},
        ),
    )

    class Media:
        css = {"all": ["livestreams/admin/changelist.css", "livestreams/admin/funding.css"]}

    # -- permissions ---------------------------------------------------------------

    def has_add_permission(self, request):
        return False  # streams are created by their creators, through the API

    def has_delete_permission(self, request, obj=None):
        return False  # removal is a soft delete: the "remove" action

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or request.user.has_perm(
            "livestreams.change_livestream_price"
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not super().has_change_permission(request, obj):
            # Moderators edit prices only.
            editable = {"price", "replay_credit_price"}
            readonly += [
                f.name
                for f in self.model._meta.concrete_fields
                if f.name not in editable and f.name not in readonly
            ]
        return readonly

    # -- queries -------------------------------------------------------------------

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                guests_n=_count(Guest.objects.filter(live_stream=OuterRef("pk"))),
                viewers_n=_count(
                    Participant.objects.filter(live_stream=OuterRef("pk"), is_present=True)
                ),
            )
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # Every money box (the change form's and the changelist's inline ones) reads
        # what the moderator typed in their language: `7,50` in Turkish is 7.50.
        if isinstance(db_field, DecimalField) and db_field.editable:
            return money_formfield(db_field)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", LiveStreamAdminForm)
        return super().get_changelist_form(request, **kwargs)

    def get_urls(self):

        custom = [
            path(
                "funding/",
                self.admin_site.admin_view(funding_progress_view(self)),
                name="livestreams_livestream_funding",
            ),
            path(
                "funding.csv",
                self.admin_site.admin_view(funding_progress_csv(self)),
                name="livestreams_livestream_funding_csv",
            ),
        ]
        return custom + super().get_urls()

    # -- columns -------------------------------------------------------------------

    @admin.display(description=_("creator"), ordering="creator__username")
    def creator_link(self, obj):
        url = reverse("admin:accounts_user_change", args=[obj.creator_id])
        return format_html('<a href="{}">{}</a>', url, obj.creator.username)

    @admin.display(description=_("status"), ordering="status")
    def coloured_status(self, obj):
        removed = format_html(' <span class="stream-removed">{}</span>', gettext("removed"))
        # Coloured by changelist.css (no inline style: the admin runs under a CSP).
        return format_html(
            '<span class="stream-status" data-status="{}">{}</span>{}',
            obj.status,
            obj.get_status_display(),
            removed if obj.is_removed else "",
        )

    @admin.display(description=_("access"))
    def access(self, obj):
        return obj.access_type.label

    @admin.display(description=_("funding"))
    def funding(self, obj):
        if not obj.funding_goal:
            return "—"
        return funding_bar_html(obj.collected_funding, obj.funding_goal)

    @admin.display(description=_("guests"), ordering="guests_n")
    def guest_count(self, obj):
        return getattr(obj, "guests_n", None)

    @admin.display(description=_("viewers now"), ordering="viewers_n")
    def viewer_count(self, obj):
        return getattr(obj, "viewers_n", None)

    @admin.display(description=_("thumbnail"))
    def thumbnail_preview(self, obj):
        if not obj.thumbnail:
            return gettext("(default thumbnail)")
        return format_html(
            '<img class="stream-thumbnail" src="{}" alt="">', media_url(obj.thumbnail)
        )

    @admin.display(description=_("current audience"))
    def current_audience(self, obj):
        present = (
            Participant.objects.filter(live_stream=obj, is_present=True)
            .select_related("user")
            .order_by("-last_joined_at")[:AUDIENCE_PREVIEW_ROWS]
        )
        return html_table(
            [gettext("user"), gettext("joined at"), gettext("device"), gettext("country")],
            (
                (p.user.username, _when(p.last_joined_at), p.device_type or "—", p.country or "—")
                for p in present
            ),
            link=(
                reverse("admin:livestreams_participant_changelist")
                + f"?live_stream__id__exact={obj.pk}",
                gettext("All participants of this stream"),
            ),
        )

    @admin.display(description=_("contributions"))
    def contributions(self, obj):
        latest = (
            Contribution.objects.filter(live_stream=obj)
            .select_related("user")
            .order_by("-created_at")[:AUDIENCE_PREVIEW_ROWS]
        )
        return html_table(
            [gettext("user"), gettext("amount"), gettext("status"), gettext("when")],
            (
                (
                    c.user.username,
                    money_to_json(c.amount),
                    c.get_status_display(),
                    _when(c.created_at),
                )
                for c in latest
            ),
            link=(
                reverse("admin:livestreams_contribution_changelist")
                + f"?live_stream__id__exact={obj.pk}",
                gettext("All contributions to this stream"),
            ),
        )

    @admin.display(description=_("audit history"))
    def history(self, obj):
        return html_table(
            [
                gettext("when"),
                gettext("who"),
                gettext("what"),
                gettext("why"),
                gettext("old → new"),
            ],
            (
                (
                    _when(e.created_at),
                    e.actor.username if e.actor else "—",
                    e.action,
                    e.reason or "—",
                    "; ".join(f"{k}: {v[0]} → {v[1]}" for k, v in e.changes.items()) or "—",
                )
                for e in audit_history(obj)[:100]
            ),
            css_class="audit-history",
        )

    # -- saving: through the services, audited ---------------------------------------

    def save_model(self, request, obj, form, change):
        prices = {
            f: form.cleaned_data[f]
            for f in ("price", "replay_credit_price")
            if f in form.changed_data
        }
        others = {f: form.cleaned_data[f] for f in form.changed_data if f not in prices}
        try:
            if others:
                livestream_admin_update(actor=request.user, live_stream_id=obj.pk, changes=others)
            if prices:
                livestream_set_prices(
                    actor=request.user,
                    live_stream_id=obj.pk,
                    reason=gettext("Edited in the back office."),
                    **prices,
                )
        except ApiError as exc:
            self.message_user(request, "; ".join(exc.details), messages.ERROR)
        obj.refresh_from_db()

    # -- actions -------------------------------------------------------------------

    def _stream_action(self, request, queryset, *, title, run, form_class=ReasonForm):
        """Ask for a reason (and `form_class`'s other fields), then `run(stream,
        data)` each selected stream through a service."""
        return self.reasoned_action(
            request,
            queryset,
            title=title,
            form_class=form_class,
            apply=run,
            describe=_describe,
            done=lambda count: (
                gettext("%(title)s: done for %(count)d stream(s).")
                % {"title": title, "count": count}
            ),
            refusal=lambda stream, exc: f"{stream.title}: {'; '.join(exc.details)}",
        )

    @admin.action(description=_("End now"), permissions=["moderate"])
    def end_now(self, request, queryset):
        return self._stream_action(
            request,
            queryset,
            title=gettext("End now"),
            run=lambda s, d: livestream_end(
                actor=request.user, live_stream_id=s.pk, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Cancel"), permissions=["moderate"])
    def cancel(self, request, queryset):
        return self._stream_action(
            request,
            queryset,
            title=gettext("Cancel"),
            run=lambda s, d: livestream_cancel(
                actor=request.user, live_stream_id=s.pk, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Remove (soft delete)"), permissions=["moderate"])
    def remove(self, request, queryset):
        return self._stream_action(
            request,
            queryset,
            title=gettext("Remove"),
            run=lambda s, d: livestream_remove(
                actor=request.user, live_stream_id=s.pk, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Restore"), permissions=["moderate"])
    def restore(self, request, queryset):
        return self._stream_action(
            request,
            queryset,
            title=gettext("Restore"),
            run=lambda s, d: livestream_restore(
                actor=request.user, live_stream_id=s.pk, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Ban a user from the stream"), permissions=["moderate"])
    def ban_user(self, request, queryset):
        return self._stream_action(
            request,
            queryset,
            title=gettext("Ban a user from the stream"),
            form_class=BanForm,
            run=lambda s, d: ban_create(
                actor=request.user,
                live_stream_id=s.pk,
                target_user_id=d["username"].pk,
                action_type=d["action_type"],
                reason=d["reason"],
            ),
        )
