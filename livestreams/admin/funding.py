"""The "Funding progress" admin page and its CSV export.

`LiveStreamAdmin.get_urls` mounts the two views made by `funding_progress_view`
and `funding_progress_csv` under /admin/livestreams/livestream/funding/ and
funding.csv (names `admin:livestreams_livestream_funding` and `..._funding_csv`).
Reads go through `livestreams.selectors`; the page costs a fixed number of
queries whatever the number of streams.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format, get_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from livestreams.models import LiveStream
from livestreams.selectors.funding import (
    FundingFigures,
    funding_collected_per_day,
    funding_progress_streams,
    funding_progress_totals,
)
from livestreams.selectors.viewing import funding_percentage

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

VIEW_PERMISSION = "livestreams.view_livestream"
PER_PAGE = 50
CHART_DAYS = 30
CHART_LABEL_EVERY = 5  # days
CENT = Decimal("0.01")
# A cell starting with one of these is a formula to a spreadsheet.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- Formatting ----------------------------------------------------------------------


def format_money(value) -> str:
    """An amount with at most 2 decimals and no trailing zeros, in the active
    language's format: 500, 12.5, 0.05 (Turkish: 500, 12,5, 0,05)."""
    amount = Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount == amount.to_integral_value():
        amount = amount.quantize(Decimal(1))
    else:
        amount = Decimal(f"{amount.normalize():f}")
    return number_format(amount)


def format_percent(collected, goal) -> str:
    """collected / goal x 100 with exactly 2 decimals (may exceed 100), in the
    active language's format: 50.00 (Turkish: 50,00)."""
    return number_format(funding_percentage(collected, goal), 2)


def funding_progress_text(collected, goal) -> str:
    """ "500 / 1000 (50.00 %)"; in Turkish "500 / 1000 (%50,00)" """
    return _("%(collected)s / %(goal)s (%(percent)s %%)") % {
        "collected": format_money(collected),
        "goal": format_money(goal),
        "percent": format_percent(collected, goal),
    }


def funding_bar_html(collected, goal) -> SafeString:
    """A progress bar filled up to the percentage (capped at 100 % visually) with
    the real "collected / goal (percent)" under it."""
    percent = funding_percentage(collected, goal)
    width = min(percent, Decimal(100))
    text = funding_progress_text(collected, goal)
    # An SVG bar: its width is an attribute, not an inline style, which the admin's
    # Content-Security-Policy does not allow.
    return format_html(
        '<div class="funding-progress">'
        '<svg class="funding-progress__track" role="progressbar" aria-valuemin="0"'
        ' aria-valuemax="100" aria-valuenow="{}" aria-valuetext="{}"'
        ' viewBox="0 0 100 8" preserveAspectRatio="none" width="100%" height="8">'
        '<rect class="funding-progress__fill{}" x="0" y="0" width="{}" height="8" /></svg>'
        '<span class="funding-progress__text">{}</span></div>',
        f"{width:.2f}",
        text,
        " funding-progress__fill--reached" if percent >= 100 else "",
        f"{width:.2f}",
        text,
    )


# --- The chart -----------------------------------------------------------------------


def funding_chart_svg(
    points: list[tuple[date, Decimal]],
    *,
    width: int = 720,
    height: int = 220,
    label_every: int = CHART_LABEL_EVERY,
) -> SafeString:
    """A bar chart of amounts per day as an inline SVG: one bar per point (with a
    <title> for the hover text), a day label every `label_every` days and on the
    last day, the largest amount on the axis. Everything is escaped."""
    left, right, top, bottom = 56, 8, 12, 28
    plot_width = width - left - right
    plot_height = height - top - bottom
    base = top + plot_height
    highest = max((amount for _day, amount in points), default=Decimal(0))
    slot = plot_width / max(len(points), 1)
    bar_width = max(slot * 0.7, 1.0)

    bars = []
    labels = []
    for index, (day, amount) in enumerate(points):
        x = left + index * slot + (slot - bar_width) / 2
        bar_height = float(amount / highest) * plot_height if highest > 0 else 0.0
        hover = _("%(day)s: %(amount)s credits") % {
            "day": date_format(day, "DATE_FORMAT"),
            "amount": format_money(amount),
        }
        bars.append(
            (
                hover,
                f"{left + index * slot:.1f}",
                f"{top}",
                f"{slot:.1f}",
                f"{plot_height}",
                f"{x:.1f}",
                f"{base - bar_height:.1f}",
                f"{bar_width:.1f}",
                f"{bar_height:.1f}",
            )
        )
        if index % label_every == 0 or index == len(points) - 1:
            labels.append((f"{x + bar_width / 2:.1f}", f"{base + 18}", date_format(day, "j M")))

    aria_label = _(
        "Funds collected per day over the last %(days)d days; highest day: %(max)s credits."
    ) % {"days": len(points), "max": format_money(highest)}
    return format_html(
        '<svg class="funding-chart" xmlns="http://www.w3.org/2000/svg" role="img"'
        ' aria-label="{aria}" viewBox="0 0 {w} {h}" width="{w}" height="{h}">'
        '<line class="funding-chart__axis" x1="{left}" y1="{top}" x2="{left}" y2="{base}"'
        ' stroke="#999" />'
        '<line class="funding-chart__axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"'
        ' stroke="#999" />'
        '<line class="funding-chart__grid" x1="{left}" y1="{top}" x2="{right}" y2="{top}"'
        ' stroke="#ddd" stroke-dasharray="4 3" />'
        '<text class="funding-chart__max" x="{tick}" y="{max_y}" text-anchor="end">{max}</text>'
        '<text class="funding-chart__zero" x="{tick}" y="{base}" text-anchor="end">0</text>'
        "{bars}{labels}</svg>",
        aria=aria_label,
        w=width,
        h=height,
        left=left,
        right=width - right,
        top=top,
        base=base,
        tick=left - 6,
        max_y=top + 4,
        max=format_money(highest),
        bars=format_html_join(
            "",
            '<g class="funding-chart__bar"><title>{}</title>'
            '<rect class="funding-chart__hit" x="{}" y="{}" width="{}" height="{}"'
            ' fill="transparent" />'
            '<rect class="funding-chart__value" x="{}" y="{}" width="{}" height="{}"'
            ' fill="#16a34a" /></g>',
            bars,
        ),
        labels=format_html_join(
            "",
            '<text class="funding-chart__day" x="{}" y="{}" text-anchor="middle">{}</text>',
            labels,
        ),
    )


# --- The page ------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingRow:
    stream: LiveStream
    change_url: str
    progress: SafeString
    contributors: int
    refunded: str


def _check_permission(request) -> None:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied


def _include_removed(request) -> bool:
    return request.GET.get("removed") == "1"


def funding_progress_view(model_admin):
    """The page: streams closest to their goal first, 50 a page, the totals and
    the chart of the last 30 days."""
    site_name = model_admin.admin_site.name

    def view(request):
        _check_permission(request)
        include_removed = _include_removed(request)
        paginator = Paginator(funding_progress_streams(include_removed=include_removed), PER_PAGE)
        page = paginator.get_page(request.GET.get("p"))
        rows = [
            FundingRow(
                stream=stream,
                change_url=reverse(
                    "admin:livestreams_livestream_change", args=[stream.pk], current_app=site_name
                ),
                progress=funding_bar_html(stream.collected_funding, stream.funding_goal),
                contributors=stream.contributor_count,
                refunded=format_money(stream.refunded_total),
            )
            for stream in page
        ]
        totals = funding_progress_totals(include_removed=include_removed)
        per_day = funding_collected_per_day(days=CHART_DAYS, today=timezone.localdate())
        csv_url = reverse("admin:livestreams_livestream_funding_csv", current_app=site_name)
        request.current_app = site_name
        context = {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": _("Funding progress"),
            "rows": rows,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number),
            "include_removed": include_removed,
            "removed_query": "&removed=1" if include_removed else "",
            "csv_url": csv_url + ("?removed=1" if include_removed else ""),
            "totals": {
                "streams": totals["streams"],
                "reached": totals["reached"],
                "collected": format_money(totals["collected"]),
                "goal": format_money(totals["goal"]),
                "progress": funding_progress_text(totals["collected"], totals["goal"]),
            },
            "chart": funding_chart_svg(per_day),
            "chart_days": CHART_DAYS,
            "chart_total": format_money(sum((amount for _day, amount in per_day), Decimal(0))),
        }
        return TemplateResponse(request, "admin/livestreams/funding_progress.html", context)

    return view


# --- The CSV export ------------------------------------------------------------------


class _Echo:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def _cell(text: str) -> str:
    """User-written text, kept from being read as a spreadsheet formula."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def funding_csv_header() -> list[str]:
    return [
        _("stream id"),
        _("title"),
        _("creator"),
        _("status"),
        _("goal"),
        _("collected"),
        _("percentage"),
        _("contributors"),
    ]


def funding_csv_rows(
    streams: Iterable[WithAnnotations[LiveStream, FundingFigures]],
) -> Iterator[list]:
    for stream in streams:
        yield [
            stream.pk,
            _cell(stream.title),
            _cell(stream.creator.username),
            stream.get_status_display(),
            format_money(stream.funding_goal),
            format_money(stream.collected_funding),
            format_percent(stream.collected_funding, stream.funding_goal),
            stream.contributor_count,
        ]


def csv_delimiter() -> str:
    """What a spreadsheet in the active language splits a CSV line on: a
    semicolon where the decimal separator is a comma (Turkish), else a comma."""
    return ";" if get_format("DECIMAL_SEPARATOR") == "," else ","


def funding_progress_csv(model_admin):
    """The page's table as CSV (UTF-8 with a BOM, for spreadsheets), streamed, in
    the language of the request: translated headers and statuses, its decimal
    separator, and the list separator its spreadsheets expect."""

    def view(request):
        _check_permission(request)
        streams = funding_progress_streams(include_removed=_include_removed(request))
        language = translation.get_language()
        writer = csv.writer(_Echo(), delimiter=csv_delimiter())
        header = writer.writerow(funding_csv_header())

        def lines() -> Iterator[str]:
            # The body is written after the view has returned: in its language.
            with translation.override(language):
                yield "\ufeff" + header
                for row in funding_csv_rows(streams.iterator(chunk_size=500)):
                    yield writer.writerow(row)

        filename = f"funding-progress-{timezone.localdate():%Y-%m-%d}.csv"
        return StreamingHttpResponse(
            lines(),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return view
