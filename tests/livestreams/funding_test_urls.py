"""A test-only urlconf: the admin with the funding pages mounted where
LiveStreamAdmin.get_urls puts them, so the tests do not depend on that hook."""

from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.urls import path

from livestreams.admin.funding import funding_progress_csv, funding_progress_view
from livestreams.models import LiveStream

model_admin = ModelAdmin(LiveStream, admin.site)

admin_patterns = [
    path(
        "livestreams/livestream/funding/",
        admin.site.admin_view(funding_progress_view(model_admin)),
        name="livestreams_livestream_funding",
    ),
    path(
        "livestreams/livestream/funding.csv",
        admin.site.admin_view(funding_progress_csv(model_admin)),
        name="livestreams_livestream_funding_csv",
    ),
    *admin.site.get_urls(),
]

urlpatterns = [path("admin/", (admin_patterns, "admin", admin.site.name))]
