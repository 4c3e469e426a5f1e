from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from allmine.core.views import HealthView, UnknownApiUrlView
from livestreams.api.urls import urlpatterns_v2 as livestreams_v2

api_v1: list[URLPattern | URLResolver] = [
    path("health", HealthView.as_view()),
    path("", include("accounts.api.urls")),
    path("", include("livestreams.api.urls")),
]

api_v2 = [
    path("", include(livestreams_v2)),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/v2/", include(api_v2)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema", template_name="apidocs/swagger_ui.html"
        ),  # its inline blocks carry the CSP nonce
        name="api-docs",
    ),
    re_path(r"^api/", UnknownApiUrlView.as_view()),
]

if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    # Local media (development and single-machine installs); S3 serves its own.
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns.append(
        re_path(rf"^{media_prefix}(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )

# Errors raised before a view (a Host not in ALLOWED_HOSTS, ...): the envelope under
# /api/, Django's pages elsewhere.
handler400 = "allmine.core.views.bad_request"
handler403 = "allmine.core.views.permission_denied"
handler404 = "allmine.core.views.page_not_found"
handler500 = "allmine.core.views.server_error"
