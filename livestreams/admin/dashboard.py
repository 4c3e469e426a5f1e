"""The live streams' panels of the dashboard (allmine.core.dashboard): what is
live and how many watch it, what starts soon, which funding is close to or far
from its goal. Each reads through `livestreams.selectors.back_office`, in the
number of queries it declares (pinned by tests/allmine/test_dashboard.py)."""

from datetime import timedelta

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from allmine.core import dashboard
from allmine.core.history import admin_link
from livestreams.admin.funding import funding_bar_html
from livestreams.admin.streams import short_when, status_badge
from livestreams.models import AgoraKick, Recording
from livestreams.selectors import agora_jobs as agora_jobs_selectors
from livestreams.selectors import back_office

VIEW = "livestreams.view_livestream"
CSS = ("livestreams/admin/changelist.css", "livestreams/admin/funding.css")
STARTING_WITHIN = timedelta(hours=24)


def _streams_url(query: str = "") -> str:
    return reverse("admin:livestreams_livestream_changelist") + query


@dashboard.panel(key="live-now", title=_("Live now"), permission=VIEW, queries=3, order=10)
def live_now(request: HttpRequest) -> dashboard.Table:
    count = back_office.live_now_count()
    streams = back_office.streams_live_now(dashboard.ROWS)
    viewers = back_office.viewers_of(s.pk for s in streams)
    now = timezone.now()
    return dashboard.Table(
        headers=[_("stream"), _("viewers now"), _("live for"), _("creator")],
        rows=[
            (
                admin_link(s),
                number_format(viewers.get(s.pk, 0)),
                timesince(s.started_at, now) if s.started_at else "—",
                s.creator.username,
            )
            for s in streams
        ],
        column_classes=["", "numeric"],
        note=ngettext("%(count)d stream is live.", "%(count)d streams are live.", count)
        % {"count": count},
        empty=_("Nothing is live right now."),
        more=(_streams_url("?status__exact=active"), _("All live streams")) if count else None,
    )


@dashboard.panel(
    key="most-watched", title=_("Most watched now"), permission=VIEW, queries=2, order=20
)
def most_watched(request: HttpRequest) -> dashboard.Table:
    ranked = back_office.streams_most_watched(dashboard.ROWS)
    return dashboard.Table(
        headers=[_("stream"), _("viewers now"), _("creator")],
        rows=[(admin_link(s), number_format(n), s.creator.username) for s, n in ranked],
        column_classes=["", "numeric"],
        empty=_("Nobody is watching a live stream right now."),
    )


@dashboard.panel(
    key="starting-soon", title=_("Starting soon"), permission=VIEW, queries=1, order=30, css=CSS
)
def starting_soon(request: HttpRequest) -> dashboard.Table:
    streams = back_office.streams_starting_soon(timezone.now(), STARTING_WITHIN, dashboard.ROWS)
    return dashboard.Table(
        headers=[_("stream"), _("planned start"), _("status"), _("creator")],
        rows=[
            (admin_link(s), short_when(s.planned_start_date), status_badge(s), s.creator.username)
            for s in streams
        ],
        note=gettext("Planned to start within the next 24 hours, or late by less than the grace."),
        empty=_("No stream is planned to start within 24 hours."),
        more=(_streams_url("?status__exact=scheduled"), _("All scheduled streams")),
    )


def _funding_table(*, closest: bool) -> dashboard.Table:
    streams = back_office.streams_by_funding(closest=closest, limit=dashboard.ROWS)
    return dashboard.Table(
        headers=[_("stream"), _("funding"), _("planned start")],
        rows=[
            (
                admin_link(s),
                funding_bar_html(s.collected_funding, s.funding_goal),
                short_when(s.planned_start_date),
            )
            for s in streams
        ],
        empty=_("No scheduled stream is collecting funds."),
        more=(reverse("admin:livestreams_livestream_funding"), _("Funding progress")),
    )


@dashboard.panel(
    key="funding-close",
    title=_("Close to their funding goal"),
    permission=VIEW,
    queries=1,
    order=40,
    css=CSS,
)
def funding_close(request: HttpRequest) -> dashboard.Table:
    return _funding_table(closest=True)


@dashboard.panel(
    key="funding-far",
    title=_("Far from their funding goal"),
    permission=VIEW,
    queries=1,
    order=50,
    css=CSS,
)
def funding_far(request: HttpRequest) -> dashboard.Table:
    return _funding_table(closest=False)


@dashboard.panel(
    key="open-reports",
    title=_("Open user reports"),
    permission="livestreams.view_streamreport",
    queries=2,
    order=35,
)
def open_reports(request: HttpRequest) -> dashboard.Table:
    count = back_office.open_reports_count()
    reports = back_office.reports_open(dashboard.ROWS)
    now = timezone.now()
    return dashboard.Table(
        headers=[_("report"), _("stream"), _("reported by"), _("waiting for")],
        rows=[
            (
                admin_link(r, str(r.get_type_display())),
                admin_link(r.live_stream, r.live_stream.title),
                r.reporter.username,
                timesince(r.created_at, now),
            )
            for r in reports
        ],
        note=ngettext("%(count)d report is open.", "%(count)d reports are open.", count)
        % {"count": count},
        empty=_("No report is waiting."),
        more=(
            reverse("admin:livestreams_streamreport_changelist") + "?status__exact=open",
            _("The reports' queue"),
        )
        if count
        else None,
    )


def _job_name(job: AgoraKick | Recording) -> str:
    status = job.get_status_display()
    if isinstance(job, AgoraKick):
        who = gettext("everyone") if job.uid is None else str(job.uid)
        return gettext("Kick of %(who)s (%(status)s)") % {"who": who, "status": status}
    return gettext("Recording (%(status)s)") % {"status": status}


@dashboard.panel(
    key="agora-jobs",
    title=_("Agora jobs needing attention"),
    permission="livestreams.moderate_livestream",
    queries=2,
    order=36,
)
def agora_jobs(request: HttpRequest) -> dashboard.Table:
    now = timezone.now()
    kicks = agora_jobs_selectors.kicks_needing_attention(now, dashboard.ROWS)
    recordings = agora_jobs_selectors.recordings_needing_attention(now, dashboard.ROWS)
    jobs: list[AgoraKick | Recording] = sorted(
        [*kicks, *recordings], key=lambda job: job.updated_at, reverse=True
    )
    return dashboard.Table(
        headers=[_("job"), _("stream"), _("attempts"), _("last error")],
        rows=[
            (
                admin_link(job, _job_name(job)),
                admin_link(job.live_stream, job.live_stream.title) if job.live_stream else "—",
                number_format(job.attempts),
                (job.last_error[:80] + "…") if len(job.last_error) > 80 else job.last_error or "—",
            )
            for job in jobs[: dashboard.ROWS]
        ],
        note=gettext("Kicks and cloud recordings that failed, were given up or wait for a worker."),
        empty=_("Every Agora job is on track."),
        more=(
            reverse("admin:livestreams_agorakick_changelist") + "?attention=failing",
            _("Kicks needing attention"),
        ),
    )
