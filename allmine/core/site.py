"""The back office's site: Allmine's name, no link to a public site (there is
none behind the back office), and the dashboard as its front page."""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from allmine.core import dashboard

BRAND = "Allmine"


class AllmineAdminSite(admin.AdminSite):
    site_title = BRAND
    site_header = BRAND  # the header shows it as a brand (templates/admin/base_site.html)
    index_title = _("Dashboard")
    site_url = None  # no "View site" link
    # The dashboard lists every table; the pages keep their width for the data
    # (the stream list's columns fit a 1440 px screen).
    enable_nav_sidebar = False
    empty_value_display = "—"
    index_template = "admin/dashboard.html"

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        panels = dashboard.panels_for(request)
        context = {
            "panels": panels,
            "panel_stylesheets": dashboard.stylesheets(panels),
            **(extra_context or {}),
        }
        return super().index(request, context)
