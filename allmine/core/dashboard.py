"""The back office's front page: a set of small panels, each one function of the
request returning a `Table`, costing a fixed number of queries whatever the
size of the tables behind it (read through a selector, on an index, never a
count of a whole table).

Adding a panel is a function in the app's admin, decorated:

    from allmine.core import dashboard

    @dashboard.panel(
        key="open-reports",                      # its HTML id: #panel-open-reports
        title=_("Open user reports"),
        permission="livestreams.view_report",    # who sees it
        queries=2,                               # pinned by the dashboard's tests
        order=35,                                # panels are shown by `order`
    )
    def open_reports(request: HttpRequest) -> dashboard.Table:
        reports = reports_open(limit=dashboard.ROWS)   # a selector
        return dashboard.Table(
            headers=[_("report"), _("reported"), _("when")],
            rows=[(admin_link(r), r.reported_user.username, when(r.created_at)) for r in reports],
            empty=_("No open report."),
            more=(reverse("admin:livestreams_report_changelist"), _("All open reports")),
        )

(imported by the app's admin package, so it is registered when the admin
loads), and a row in PANELS of tests/livestreams/test_admin_dashboard.py with
its query count, plus whatever `world()` there needs so the panel has rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.safestring import SafeString

# How many rows a panel shows.
ROWS = 8

Cell = str | SafeString | int | Promise


@dataclass(frozen=True)
class Table:
    """What a panel shows: a small table (each cell escaped unless a SafeString),
    or `empty` when it has no row; `note` above it, `more` (url, text) below."""

    headers: Sequence[str | Promise]
    rows: Sequence[Sequence[Cell]]
    empty: str | Promise = ""
    note: str | Promise = ""
    more: tuple[str, str | Promise] | None = None
    # One CSS class per column (e.g. "numeric"), for the columns that need one.
    column_classes: Sequence[str] = ()

    def cells(self) -> list[list[tuple[Cell, str]]]:
        classes = list(self.column_classes) + [""] * len(self.headers)
        return [[(cell, classes[index]) for index, cell in enumerate(row)] for row in self.rows]


@dataclass(frozen=True)
class Panel:
    key: str
    title: str | Promise
    render: Callable[[HttpRequest], Table]
    permission: str | None
    queries: int
    order: int
    css: tuple[str, ...] = ()


_panels: dict[str, Panel] = {}


def panel(
    *,
    key: str,
    title: str | Promise,
    queries: int,
    permission: str | None = None,
    order: int = 100,
    css: Sequence[str] = (),
) -> Callable[[Callable[[HttpRequest], Table]], Callable[[HttpRequest], Table]]:
    """Register the decorated function as the dashboard panel `key` (a second
    registration under the same key replaces the first); `css`: static files
    its cells need (the dashboard links each once)."""

    def register(render: Callable[[HttpRequest], Table]) -> Callable[[HttpRequest], Table]:
        _panels[key] = Panel(
            key=key,
            title=title,
            render=render,
            permission=permission,
            queries=queries,
            order=order,
            css=tuple(css),
        )
        return render

    return register


def registered() -> list[Panel]:
    """Every panel, in the order the dashboard shows them."""
    return sorted(_panels.values(), key=lambda p: (p.order, p.key))


def panels_for(request: HttpRequest) -> list[tuple[Panel, Table]]:
    """The panels the signed-in user may see, rendered."""
    user = request.user
    return [
        (p, p.render(request))
        for p in registered()
        if p.permission is None or user.has_perm(p.permission)
    ]


def stylesheets(panels: Sequence[tuple[Panel, Table]]) -> list[str]:
    """The static CSS files the shown panels need, each once, in order."""
    return list(dict.fromkeys(href for p, _table in panels for href in p.css))


__all__ = ["ROWS", "Panel", "Table", "panel", "panels_for", "registered", "stylesheets"]
