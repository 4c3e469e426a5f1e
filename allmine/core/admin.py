"""The back office's foundation: the audit trail's admin, and what every app's
admin shares: read-only tables, the moderator's permission, and actions that ask
for a reason on an intermediate page and then call a service for each object."""

from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from allmine.core.errors import ApiError
from allmine.core.forms import ReasonForm
from allmine.core.models import AuditEntry
from allmine.core.permissions import is_moderator


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
    rows: Iterable[tuple],
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


class ReadOnlyAdminMixin:
    """For records only services write (ledgers, audit entries, joins): nobody
    adds, changes or deletes them here. Works for model admins and inlines."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ModeratorActionsMixin:
    """`@admin.action(permissions=["moderate"])` for the moderators' actions."""

    def has_moderate_permission(self, request) -> bool:
        return is_moderator(request.user)


class ReasonedActionMixin:
    """An admin action that first shows what it will do to the selected objects and
    asks for its form (at least a reason, kept in the audit trail); once that
    comes back valid, it calls a service for each object, one transaction each,
    and reports what was done and each refusal.

    In an action: `return self.reasoned_action(request, queryset, title=...,
    apply=lambda obj, data: service(...), done=lambda count: "...")`."""

    reasoned_action_template = "admin/reasoned_action.html"
    # How many of the selected objects the intermediate page names.
    confirmation_list_limit = 100

    def reasoned_action(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        title: str,
        apply: Callable[[Model, dict], object],
        done: Callable[[int], str],
        unchanged: Callable[[int], str] | None = None,
        intro: str = "",
        submit_label: str | None = None,
        form_class: type[forms.Form] = ReasonForm,
        describe: Callable[[Model], str] = str,
        refusal: Callable[[Model, ApiError], str] | None = None,
    ) -> TemplateResponse | None:
        if request.POST.get("post") == "yes":
            form = form_class(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                self.apply_and_report(
                    request,
                    queryset.order_by("pk"),
                    lambda obj: apply(obj, data),
                    done=done,
                    unchanged=unchanged,
                    refusal=refusal,
                )
                return None  # back to the change list, with the messages
        else:
            form = form_class()
        shown = list(queryset[: self.confirmation_list_limit + 1])
        more = (
            queryset.count() - self.confirmation_list_limit
            if len(shown) > self.confirmation_list_limit
            else 0
        )
        opts = self.model._meta  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": title,
            "intro": intro,
            "submit_label": submit_label or title,
            "form": form,
            "objects": [describe(obj) for obj in shown[: self.confirmation_list_limit]],
            "more": more,
            "opts": opts,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "media": self.media + form.media,  # type: ignore[attr-defined]
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, self.reasoned_action_template, context)

    def apply_and_report(
        self,
        request: HttpRequest,
        objects: Iterable[Model],
        apply: Callable[[Model], object],
        *,
        done: Callable[[int], str],
        unchanged: Callable[[int], str] | None = None,
        refusal: Callable[[Model, ApiError], str] | None = None,
    ) -> int:
        """Call `apply` on each object; one success message with the count, and an
        error message for each object a service refused. An `apply` that returns
        False changed nothing without an error (it was done already): those are
        counted in one `unchanged` message. Returns how many were applied."""
        applied = already = 0
        for obj in objects:
            try:
                if apply(obj) is False:
                    already += 1
                    continue
            except ApiError as exc:
                text = (
                    refusal(obj, exc)
                    if refusal
                    else gettext("Not changed for %(object)s: %(error)s")
                    % {"object": obj, "error": " ".join(exc.details)}
                )
                self.message_user(request, text, messages.ERROR)  # type: ignore[attr-defined]
            else:
                applied += 1
        if applied:
            self.message_user(request, done(applied), messages.SUCCESS)  # type: ignore[attr-defined]
        if already and unchanged:
            self.message_user(request, unchanged(already), messages.INFO)  # type: ignore[attr-defined]
        return applied


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail, read-only for everyone."""

    list_display = ("created_at", "actor", "action", "target_type", "target_id", "reason")
    list_filter = ("action", "target_type")
    list_select_related = ("actor",)
    search_fields = ("=target_id", "actor__username", "reason")
    date_hierarchy = "created_at"
    show_full_result_count = False


__all__ = [
    "AuditEntryAdmin",
    "LargeTablePaginator",
    "ModeratorActionsMixin",
    "ReadOnlyAdminMixin",
    "ReasonedActionMixin",
    "html_table",
]
