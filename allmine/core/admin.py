"""The back office's foundation: the audit trail's admin, and what every app's
admin shares: read-only tables, the moderator's permission, actions that ask for
a reason on an intermediate page and then call a service for each object
(`allmine.core.admin_actions`), and the readable history of an object."""

from collections.abc import Iterable, Sequence

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from allmine.core import dashboard
from allmine.core.admin_actions import (
    LeftOut,
    ModeratorAction,
    ModeratorActionsMixin,
    ReasonedActionMixin,
    Selection,
)
from allmine.core.audit import audit_history, staff_actions
from allmine.core.history import EMPTY, action_choices, tell, told_line
from allmine.core.models import AuditEntry


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


def html_table(
    headers: list[str],
    rows: Iterable[Sequence[object]],
    *,
    css_class: str = "",
    link: tuple[str, str] | None = None,
) -> SafeString:
    """A small table for a read-only field of a change page (every cell escaped),
    optionally followed by a link `(url, text)` to the full list."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    table = format_html(
        '<table class="{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        css_class,
        head,
        body,
    )
    if link is None:
        return table
    return format_html('{}<p><a href="{}">{}</a></p>', table, *link)


TONES = frozenset({"red", "amber", "green", "blue", "grey"})


def badge(text: str, tone: str) -> SafeString:
    """A coloured label (`site.css` colours it by tone: no inline style, the admin
    runs under a Content-Security-Policy)."""
    return format_html(
        '<span class="badge" data-tone="{}">{}</span>', tone if tone in TONES else "grey", text
    )


class ReadOnlyAdminMixin:
    """For records only services write (ledgers, audit entries, joins): nobody
    adds, changes or deletes them here. Works for model admins and inlines."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditHistoryMixin:
    """The object's "History" button shows its audit trail, told as sentences
    (`allmine.core.history`), newest first, 50 a page."""

    history_per_page = 50

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        model = self.model  # type: ignore[attr-defined]
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if obj is None:
            return self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]
                request, model._meta, object_id
            )
        if not self.has_view_or_change_permission(request, obj):  # type: ignore[attr-defined]
            raise PermissionDenied
        paginator = Paginator(audit_history(obj), self.history_per_page)
        page = paginator.get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": gettext("History: %(object)s") % {"object": obj},
            "subtitle": None,
            "entries": tell(page.object_list),
            "page_obj": page,
            "paginator": paginator,
            "module_name": str(capfirst(model._meta.verbose_name_plural)),
            "object": obj,
            "opts": model._meta,
            "preserved_filters": self.get_preserved_filters(request),  # type: ignore[attr-defined]
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, "admin/audit_history.html", context)

    def latest_history(self, obj, *, rows: int = 10) -> SafeString:
        """The object's latest audited actions for its own page, and a link to all."""
        if obj is None or obj.pk is None:
            return format_html("{}", EMPTY)
        told = tell(audit_history(obj)[:rows])
        if not told:
            return format_html('<p class="audit-empty">{}</p>', gettext("No audited action yet."))
        opts = obj._meta
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_history",
            args=[quote(obj.pk)],
            current_app=self.admin_site.name,  # type: ignore[attr-defined]
        )
        return html_table(
            [gettext("when"), gettext("what"), gettext("changes")],
            ((t.when, told_line(t), changes_text(t)) for t in told),
            css_class="audit-history",
            link=(url, gettext("The whole history")),
        )


def changes_text(told) -> SafeString:
    """ "status: active → ended; price: 5,00 → 7,50" """
    if not told.changes:
        return format_html("{}", EMPTY)
    return format_html_join(
        "; ", "{}: {} → {}", ((name, old, new) for name, old, new in told.changes)
    )


class AuditActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return action_choices()

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail, read-only for everyone, told as sentences."""

    list_display = ("created_at", "what", "changes_column")
    list_filter = (AuditActionFilter, "by_staff")
    list_select_related = ("actor",)
    search_fields = ("=target_id", "actor__username", "reason")
    search_help_text = _("The exact id of an object, a username, or words of the reason.")
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = LargeTablePaginator

    def get_changelist_instance(self, request):
        """The page's entries told in one go: their objects and users are loaded
        once for the page, not once per row."""
        changelist = super().get_changelist_instance(request)
        told = {t.entry.pk: t for t in tell(changelist.result_list)}
        for entry in changelist.result_list:
            entry.told = told[entry.pk]
        return changelist

    @admin.display(description=_("what"))
    def what(self, entry):
        told = getattr(entry, "told", None) or tell([entry])[0]
        return told_line(told)

    @admin.display(description=_("changes"))
    def changes_column(self, entry):
        told = getattr(entry, "told", None) or tell([entry])[0]
        return changes_text(told)


@dashboard.panel(
    key="recent-actions",
    title=_("Recent actions"),
    permission="allmine.view_auditentry",
    # The entries, then one query per type of object they name (streams,
    # users) and one for the users their changes name.
    queries=4,
    order=60,
)
def recent_actions(request: HttpRequest) -> dashboard.Table:
    """What staff did lately (ends, removals, bans, lifts, cancels, price edits,
    deactivations, credit adjustments), who did it and why."""
    told = tell(staff_actions().order_by("-created_at", "-id")[: dashboard.ROWS])
    return dashboard.Table(
        headers=[_("when"), _("what")],
        rows=[(t.when, told_line(t)) for t in told],
        empty=_("No moderation action yet."),
        more=(reverse("admin:allmine_auditentry_changelist"), _("The whole audit trail")),
    )


__all__ = [
    "AuditEntryAdmin",
    "AuditHistoryMixin",
    "LargeTablePaginator",
    "LeftOut",
    "ModeratorAction",
    "ModeratorActionsMixin",
    "ReadOnlyAdminMixin",
    "ReasonedActionMixin",
    "Selection",
    "changes_text",
    "html_table",
]
