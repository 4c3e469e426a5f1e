"""The moderators' back office for live streams.

Every change made here goes through the same services as the API
(`livestreams.services`), so a rule is written once and every action is audited.
"""

from django.contrib import admin, messages
from django.db.models import DecimalField
from django.urls import path, reverse
from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localdate, localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allmine.core.admin import (
    AuditHistoryMixin,
    LargeTablePaginator,
    ModeratorActionsMixin,
    ReasonedActionMixin,
    html_table,
)
from allmine.core.admin_actions import refusal_text
from allmine.core.errors import ApiError
from allmine.core.history import admin_link
from allmine.core.media import media_url
from livestreams.admin.actions import STREAM_ACTIONS, BanFromStream
from livestreams.admin.chat import chat_preview
from livestreams.admin.filters import (
    AccessTypeFilter,
    FundingGoalFilter,
    InterestFilter,
    RemovedFilter,
)
from livestreams.admin.forms import LiveStreamAdminForm, LiveStreamChangeForm, money_formfield
from livestreams.admin.funding import (
    funding_bar_html,
    funding_progress_csv,
    funding_progress_view,
)
from livestreams.admin.inlines import BanInline, GuestInline
from livestreams.lifecycle import Role, live_first_rank, may_join
from livestreams.models import Contribution, LiveStream, interest_label
from livestreams.selectors.back_office import participants_latest, viewers_of
from livestreams.services.moderation import livestream_admin_update, livestream_set_prices

BAN_ACTION = next(a for a in STREAM_ACTIONS if isinstance(a, BanFromStream))

AUDIENCE_PREVIEW_ROWS = 50


def when(value) -> str:
    """A timestamp as the admin shows dates: local time, the active language's format."""
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT") if value else "—"


def short_when(value) -> str:
    """ "4 Dec, 20:40" (Turkish "4 Ara, 20:40"), or "20:40" today: for narrow columns."""
    if not value:
        return "—"
    local = localtime(value)
    return date_format(local, "H:i" if local.date() == localdate() else "j M, H:i")


def status_badge(stream: LiveStream) -> SafeString:
    """The coloured status, marked when removed, with who cancelled it when that
    was not its creator (a moderator's cancel is `cancelled_by_host` too)."""
    notes = []
    if (
        stream.cancelled_by_id
        and stream.cancelled_by_id != stream.creator_id
        and stream.cancelled_by is not None  # always, with its id set (for the type checker)
    ):
        notes.append(
            format_html(
                '<span class="stream-note">{}</span>',
                gettext("cancelled by %(user)s") % {"user": stream.cancelled_by.username},
            )
        )
    if stream.is_removed:
        notes.append(format_html('<span class="stream-removed">{}</span>', gettext("removed")))
    return format_html(
        # Coloured by changelist.css (no inline style: the admin runs under a CSP).
        '<span class="stream-status" data-status="{}">{}</span>{}',
        stream.status,
        stream.get_status_display(),
        format_html_join("", " {}", ((note,) for note in notes)),
    )


# --- The stream admin -------------------------------------------------------------


@admin.register(LiveStream)
class LiveStreamAdmin(
    AuditHistoryMixin, ReasonedActionMixin, ModeratorActionsMixin, admin.ModelAdmin
):
    form = LiveStreamChangeForm
    paginator = LargeTablePaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count the whole table
    list_per_page = 50
    list_display = (
        "title",
        "creator_link",
        "coloured_status",
        "viewers",
        "funding",
        "start",
        "access",
        "price",
        "replay_credit_price",
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
    list_select_related = ("creator", "cancelled_by")
    search_fields = ("title", "channel_name", "creator__username", "creator__email", "=id")
    search_help_text = _("Title, channel name, creator's username or e-mail, or the exact id.")
    date_hierarchy = "created_at"
    # Live first, then about to start, then the rest; newest first in each
    # (index `livestream_live_first`).
    ordering = (live_first_rank().asc(), "-created_at", "-id")
    inlines = [GuestInline, BanInline]
    moderator_actions = STREAM_ACTIONS
    readonly_fields = (
        "id",
        "creator",
        "channel_name",
        "status_detail",
        "access",
        "interest_shown",
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
        "cancelled_by",
        "audience",
        "audience_with_bans",
        "contributions",
        "chat",
        "chat_with_remove",
        "history",
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

    def get_fieldsets(self, request, obj=None):
        may_edit = self.has_change_permission(request, obj)
        may_ban = self.has_moderate_permission(request)
        # The interest is edited by those who edit streams; others read its label.
        interest = "interest" if super().has_change_permission(request, obj) else "interest_shown"
        return (
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
                        interest,
                        "motivation",
                    )
                },
            ),
            (
                _("Schedule"),
                {
                    "fields": (
                        "status_detail",
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
            (
                _("Pricing"),
                {"fields": ("price", "access", *(("change_reason",) if may_edit else ()))},
            ),
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
            (_("Audience"), {"fields": ("audience_with_bans" if may_ban else "audience",)}),
            (_("Chat"), {"fields": ("chat_with_remove" if may_ban else "chat",)}),
            (
                _("Moderation"),
                {
                    "fields": (
                        "deleted_at",
                        "deleted_by",
                        "deletion_reason",
                        "cancelled_by",
                        "history",
                    )
                },
            ),
        )

    # -- queries -------------------------------------------------------------------

    def get_changelist_instance(self, request):
        """The page's viewer counts in one query (`selectors.back_office.viewers_of`)."""
        changelist = super().get_changelist_instance(request)
        counts = viewers_of(stream.pk for stream in changelist.result_list)
        for stream in changelist.result_list:
            stream.viewers_now = counts.get(stream.pk, 0)
        return changelist

    def get_queryset(self, request):
        # (A select_related here replaces list_select_related: both are named.)
        return super().get_queryset(request).select_related("creator", "cancelled_by")

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
        return status_badge(obj)

    @admin.display(description=_("status"))
    def status_detail(self, obj):
        return status_badge(obj)

    @admin.display(description=_("viewers now"))
    def viewers(self, obj):
        if not may_join(Role.AUDIENCE, obj.status):
            return "—"
        count = getattr(obj, "viewers_now", None)
        if count is None:  # the change page: one stream
            count = viewers_of([obj.pk]).get(obj.pk, 0)
        return number_format(count)

    @admin.display(description=_("start"), ordering="planned_start_date")
    def start(self, obj):
        if obj.started_at:
            return format_html(
                '<span class="stream-started">{}</span>',
                gettext("started %(when)s") % {"when": short_when(obj.started_at)},
            )
        return short_when(obj.planned_start_date)

    @admin.display(description=_("access"))
    def access(self, obj):
        return obj.access_type.label

    @admin.display(description=_("interest"))
    def interest_shown(self, obj):
        return interest_label(obj.interest) or "—"

    @admin.display(description=_("funding"))
    def funding(self, obj):
        if not obj.funding_goal:
            return "—"
        return funding_bar_html(obj.collected_funding, obj.funding_goal)

    @admin.display(description=_("thumbnail"))
    def thumbnail_preview(self, obj):
        if not obj.thumbnail:
            return gettext("(default thumbnail)")
        return format_html(
            '<img class="stream-thumbnail" src="{}" alt="">', media_url(obj.thumbnail)
        )

    def _audience_table(self, obj, *, with_bans: bool):
        participants = participants_latest(obj, AUDIENCE_PREVIEW_ROWS)
        headers = [gettext("user"), gettext("watching now"), gettext("joined at")]
        headers += [gettext("device"), gettext("country")]
        if with_bans:
            headers.append(gettext("moderation"))
        rows = []
        for p in participants:
            row = [
                admin_link(p.user),
                gettext("yes") if p.is_present else gettext("no"),
                when(p.last_joined_at),
                p.device_type or "—",
                p.country or "—",
            ]
            if with_bans:
                ban_url = self.object_action_url(obj, BAN_ACTION, user=p.user_id)
                row.append(
                    format_html(
                        '<a class="button ban-link" href="{}">{}</a>', ban_url, gettext("Ban")
                    )
                )
            rows.append(row)
        if not rows:
            return format_html('<p class="audience-empty">{}</p>', gettext("Nobody has joined."))
        return html_table(
            headers,
            rows,
            css_class="audience-table",
            link=(
                reverse("admin:livestreams_participant_changelist")
                + f"?live_stream__id__exact={obj.pk}",
                gettext("All participants of this stream"),
            ),
        )

    @admin.display(description=_("audience, watching now first"))
    def audience(self, obj):
        return self._audience_table(obj, with_bans=False)

    @admin.display(description=_("audience, watching now first"))
    def audience_with_bans(self, obj):
        return self._audience_table(obj, with_bans=True)

    @admin.display(description=_("contributions"))
    def contributions(self, obj):
        latest = (
            Contribution.objects.filter(live_stream=obj)
            .select_related("user")
            .order_by("-created_at")[:AUDIENCE_PREVIEW_ROWS]
        )
        rows = [
            (
                admin_link(c.user),
                number_format(c.amount, 2),
                c.get_status_display(),
                when(c.created_at),
            )
            for c in latest
        ]
        if not rows:
            return format_html("<p>{}</p>", gettext("No contribution yet."))
        return html_table(
            [gettext("contributor"), gettext("amount"), gettext("status"), gettext("when")],
            rows,
            link=(
                reverse("admin:livestreams_contribution_changelist")
                + f"?live_stream__id__exact={obj.pk}",
                gettext("All contributions to this stream"),
            ),
        )

    @admin.display(description=_("chat, latest first"))
    def chat(self, obj):
        return chat_preview(obj, with_remove=False)

    @admin.display(description=_("chat, latest first"))
    def chat_with_remove(self, obj):
        return chat_preview(obj, with_remove=True)

    @admin.display(description=_("audit history"))
    def history(self, obj):
        return self.latest_history(obj)

    # -- saving: through the services, audited ---------------------------------------

    def save_model(self, request, obj, form, change):
        prices = {
            f: form.cleaned_data[f]
            for f in ("price", "replay_credit_price")
            if f in form.changed_data
        }
        others = {
            f: form.cleaned_data[f]
            for f in form.changed_data
            if f not in prices and f != "change_reason"
        }
        reason = form.cleaned_data.get("change_reason") or ""
        try:
            if others:
                livestream_admin_update(
                    actor=request.user, live_stream_id=obj.pk, changes=others, reason=reason
                )
            if prices:
                livestream_set_prices(
                    actor=request.user,
                    live_stream_id=obj.pk,
                    reason=reason or gettext("Edited in the back office."),
                    **prices,
                )
        except ApiError as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)
        obj.refresh_from_db()
