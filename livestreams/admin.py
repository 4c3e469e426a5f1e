"""The moderators' back office for live streams.

Every change made here goes through the same services as the API
(`livestreams.services`), so a rule is written once and every action is audited.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.selectors import users_by_username
from allmine.audit import audit_history
from allmine.exceptions import ApiError
from allmine.fields import money_to_json
from allmine.forms import ReasonForm
from allmine.media import media_url
from livestreams import services
from livestreams.admin_funding import (
    funding_bar_html,
    funding_progress_csv,
    funding_progress_view,
)
from livestreams.models import (
    BanAction,
    Contribution,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamStatus,
    MiniCrowdFunding,
    Participant,
    ReplayAccess,
)

STATUS_COLOURS = {
    LiveStreamStatus.SCHEDULED: "#1d4ed8",
    LiveStreamStatus.PREPARING: "#7c3aed",
    LiveStreamStatus.ACTIVE: "#15803d",
    LiveStreamStatus.ENDED: "#4b5563",
    LiveStreamStatus.EXPIRED: "#b45309",
    LiveStreamStatus.CANCELLED_BY_HOST: "#b91c1c",
    LiveStreamStatus.CANCELLED_BY_GUEST: "#b91c1c",
}
AUDIENCE_PREVIEW_ROWS = 50


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


class LargeTablePaginator(Paginator):
    """Never counts the whole table: an unfiltered changelist on PostgreSQL uses the
    planner's row estimate once the table is large."""

    ESTIMATE_ABOVE = 10_000

    @cached_property
    def count(self):
        query = self.object_list.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > self.ESTIMATE_ABOVE:
                return int(row[0])
        return super().count


# --- Filters ----------------------------------------------------------------------


class AccessTypeFilter(admin.SimpleListFilter):
    title = _("access")
    parameter_name = "access"

    def lookups(self, request, model_admin):
        return [("free", _("free")), ("paid", _("paid"))]

    def queryset(self, request, queryset):
        if self.value() == "paid":
            return queryset.filter(price__gt=0)
        if self.value() == "free":
            return queryset.filter(Q(price__isnull=True) | Q(price=0))
        return queryset


class InterestFilter(admin.SimpleListFilter):
    title = _("interest")
    parameter_name = "interest"

    def lookups(self, request, model_admin):
        return [(value, value) for value in settings.LIVESTREAM_INTERESTS]

    def queryset(self, request, queryset):
        return queryset.filter(interest=self.value()) if self.value() else queryset


class FundingGoalFilter(admin.SimpleListFilter):
    title = _("funding goal")
    parameter_name = "funding"

    def lookups(self, request, model_admin):
        return [("yes", _("has a funding goal")), ("no", _("no funding goal"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(funding_goal__gt=0)
        if self.value() == "no":
            return queryset.filter(Q(funding_goal__isnull=True) | Q(funding_goal=0))
        return queryset


class RemovedFilter(admin.SimpleListFilter):
    title = _("removed")
    parameter_name = "removed"

    def lookups(self, request, model_admin):
        return [("no", _("not removed")), ("yes", _("removed"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


# --- Forms ------------------------------------------------------------------------


class PriceFormMixin:
    """Prices are checked by the API's own rule (`services.validate_price`)."""

    def _checked(self, name: str, label: str):
        value = self.cleaned_data.get(name)
        try:
            services.validate_price(label, value)
        except ApiError as exc:
            raise forms.ValidationError(exc.details[0].split(": ", 1)[-1]) from None
        return value

    def clean_price(self):
        return self._checked("price", "price")

    def clean_replay_credit_price(self):
        return self._checked("replay_credit_price", "replayCreditPrice")


class LiveStreamAdminForm(PriceFormMixin, forms.ModelForm):
    class Meta:
        model = LiveStream
        fields = sorted(services.ADMIN_EDITABLE_FIELDS | {"price", "replay_credit_price"})


class BanForm(ReasonForm):
    username = forms.CharField(label=_("Username of the user to ban"), max_length=30)
    action_type = forms.ChoiceField(label=_("Ban"), choices=BanAction.choices)

    field_order = ["username", "action_type", "reason"]

    def clean_username(self):
        user = users_by_username(self.cleaned_data["username"]).first()
        if user is None:
            raise forms.ValidationError(gettext("No user has this username."))
        return user


# --- Inlines ----------------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


# --- The stream admin -------------------------------------------------------------


@admin.register(LiveStream)
class LiveStreamAdmin(admin.ModelAdmin):
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

    def has_moderate_permission(self, request):
        return request.user.has_perm("livestreams.moderate_livestream")

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
        return format_html(
            '<span class="stream-status" style="background: {}">{}</span>{}',
            STATUS_COLOURS.get(obj.status, "#4b5563"),
            obj.get_status_display(),
            removed if obj.is_removed else "",
        )

    @admin.display(description=_("access"))
    def access(self, obj):
        return gettext("paid") if obj.access_type == "paid" else gettext("free")

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
            '<img src="{}" alt="" style="max-height: 120px">', media_url(obj.thumbnail)
        )

    @admin.display(description=_("current audience"))
    def current_audience(self, obj):
        present = (
            Participant.objects.filter(live_stream=obj, is_present=True)
            .select_related("user")
            .order_by("-last_joined_at")[:AUDIENCE_PREVIEW_ROWS]
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (p.user.username, _when(p.last_joined_at), p.device_type or "—", p.country or "—")
                for p in present
            ),
        )
        link = (
            reverse("admin:livestreams_participant_changelist")
            + f"?live_stream__id__exact={obj.pk}"
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            '<tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            gettext("user"),
            gettext("joined at"),
            gettext("device"),
            gettext("country"),
            rows,
            link,
            gettext("All participants of this stream"),
        )

    @admin.display(description=_("contributions"))
    def contributions(self, obj):
        latest = (
            Contribution.objects.filter(live_stream=obj)
            .select_related("user")
            .order_by("-created_at")[:AUDIENCE_PREVIEW_ROWS]
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    c.user.username,
                    money_to_json(c.amount),
                    c.get_status_display(),
                    _when(c.created_at),
                )
                for c in latest
            ),
        )
        link = (
            reverse("admin:livestreams_contribution_changelist")
            + f"?live_stream__id__exact={obj.pk}"
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            '<tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            gettext("user"),
            gettext("amount"),
            gettext("status"),
            gettext("when"),
            rows,
            link,
            gettext("All contributions to this stream"),
        )

    @admin.display(description=_("audit history"))
    def history(self, obj):
        entries = audit_history(obj)[:100]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (
                    _when(e.created_at),
                    e.actor.username if e.actor else "—",
                    e.action,
                    e.reason or "—",
                    "; ".join(f"{k}: {v[0]} → {v[1]}" for k, v in e.changes.items()) or "—",
                )
                for e in entries
            ),
        )
        return format_html(
            '<table class="audit-history"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            gettext("when"),
            gettext("who"),
            gettext("what"),
            gettext("why"),
            gettext("old → new"),
            rows,
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
                services.livestream_admin_update(
                    actor=request.user, live_stream_id=obj.pk, changes=others
                )
            if prices:
                services.livestream_set_prices(
                    actor=request.user,
                    live_stream_id=obj.pk,
                    reason=gettext("Edited in the back office."),
                    **prices,
                )
        except ApiError as exc:
            self.message_user(request, "; ".join(exc.details), messages.ERROR)
        obj.refresh_from_db()

    # -- actions -------------------------------------------------------------------

    def _reasoned_action(self, request, queryset, *, title, run, form_class=ReasonForm):
        """Ask for a reason on an intermediate page, then run `run(stream, form)` on
        each selected stream through a service, reporting what failed."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done, failed = 0, []
            for stream in queryset:
                try:
                    run(stream, form.cleaned_data)
                    done += 1
                except ApiError as exc:
                    failed.append(f"{stream.title}: {'; '.join(exc.details)}")
            if done:
                self.message_user(
                    request,
                    gettext("%(title)s: done for %(count)d stream(s).")
                    % {"title": title, "count": done},
                    messages.SUCCESS,
                )
            for failure in failed:
                self.message_user(request, failure, messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "streams": queryset,
            "form": form,
            "action": request.POST.get("action"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/livestreams/livestream/action_reason.html", context)

    @admin.action(description=_("End now"), permissions=["moderate"])
    def end_now(self, request, queryset):
        return self._reasoned_action(
            request,
            queryset,
            title=gettext("End now"),
            run=lambda s, d: services.livestream_end(
                actor=request.user, live_stream_id=s.pk, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Cancel"), permissions=["moderate"])
    def cancel(self, request, queryset):
        return self._reasoned_action(
            request,
            queryset,
            title=gettext("Cancel"),
            run=lambda s, d: services.livestream_cancel(
                actor=request.user, live_stream_id=s.pk, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Remove (soft delete)"), permissions=["moderate"])
    def remove(self, request, queryset):
        return self._reasoned_action(
            request,
            queryset,
            title=gettext("Remove"),
            run=lambda s, d: services.livestream_remove(
                actor=request.user, live_stream_id=s.pk, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Restore"), permissions=["moderate"])
    def restore(self, request, queryset):
        return self._reasoned_action(
            request,
            queryset,
            title=gettext("Restore"),
            run=lambda s, d: services.livestream_restore(
                actor=request.user, live_stream_id=s.pk, reason=d["reason"]
            ),
        )

    @admin.action(description=_("Ban a user from the stream"), permissions=["moderate"])
    def ban_user(self, request, queryset):
        return self._reasoned_action(
            request,
            queryset,
            title=gettext("Ban a user from the stream"),
            form_class=BanForm,
            run=lambda s, d: services.ban_create(
                actor=request.user,
                live_stream_id=s.pk,
                target_user_id=d["username"].pk,
                action_type=d["action_type"],
                reason=d["reason"],
            ),
        )


# --- Read-only views of what hangs off a stream -------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
class LiveStreamBanAdmin(ReadOnlyAdmin):
    list_display = ("live_stream", "user", "action_type", "created_by", "created_at", "lifted_at")
    list_filter = ("action_type", ("lifted_at", admin.EmptyFieldListFilter))
    list_select_related = ("live_stream", "user", "created_by")
    search_fields = ("user__username", "=live_stream__id")
    actions = ["lift"]

    def has_moderate_permission(self, request):
        return request.user.has_perm("livestreams.moderate_livestream")

    @admin.action(description=_("Lift the selected bans"), permissions=["moderate"])
    def lift(self, request, queryset):
        lifted = 0
        for ban in queryset.filter(lifted_at__isnull=True):
            try:
                services.ban_lift(
                    actor=request.user, ban_id=ban.pk, reason=gettext("Lifted in the back office.")
                )
                lifted += 1
            except ApiError as exc:
                self.message_user(request, "; ".join(exc.details), messages.ERROR)
        level = messages.SUCCESS if lifted else messages.WARNING
        self.message_user(request, gettext("%(count)d ban(s) lifted.") % {"count": lifted}, level)


@admin.register(ReplayAccess)
class ReplayAccessAdmin(ReadOnlyAdmin):
    list_display = ("live_stream", "user", "price", "rented_at", "expires_at")
    list_select_related = ("live_stream", "user")
    search_fields = ("user__username", "=live_stream__id")


@admin.register(MiniCrowdFunding)
class MiniCrowdFundingAdmin(ReadOnlyAdmin):
    list_display = ("title", "live_stream", "goal", "collected", "status")
    list_select_related = ("live_stream",)
