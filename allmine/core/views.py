import functools
import logging

from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core.envelope import envelope_response
from allmine.core.errors import ServiceUnavailable, error_text
from allmine.core.media import StoredFiles
from allmine.core.middleware import is_api_path

logger = logging.getLogger("allmine.health")
PROBE_STATES = ["ok", "unavailable"]


def atomic_response(handler):
    """For a write view whose response echoes what the client sent: the work and
    the rendering of its result happen in one transaction (and one unit of stored
    files), so a response that cannot be rendered rolls the work back instead of
    failing after the commit (a 500 over a row that was stored anyway)."""

    @functools.wraps(handler)
    def wrapped(view, request, *args, **kwargs):
        with StoredFiles(), transaction.atomic():
            return handler(view, request, *args, **kwargs)

    return wrapped


@extend_schema(exclude=True)
class UnknownApiUrlView(APIView):
    """Answers every unknown URL under /api/ with a 404 envelope, whatever the method."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def _not_found(self, request, *args, **kwargs):
        raise NotFound("No API endpoint has this URL.")

    get = post = put = patch = delete = head = options = _not_found


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])
    database = serializers.ChoiceField(choices=["ok"])
    cache = serializers.ChoiceField(choices=PROBE_STATES)
    storage = serializers.ChoiceField(choices=PROBE_STATES)


class HealthView(APIView):
    """For load balancers and uptime checks: 200 while the database answers (the
    cache and the object store are reported, not required); 503 without it."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Health",
        responses={
            200: HealthSerializer,
            503: OpenApiResponse(description="The database does not answer."),
        },
    )
    def get(self, request):
        checks = {
            "database": _probe(_database_ok),
            "cache": _probe(_cache_ok),
            "storage": _probe(_storage_ok),
        }
        if checks["database"] != "ok":
            raise ServiceUnavailable("The database is unavailable.")
        return Response(HealthSerializer({"status": "ok", **checks}).data)


def _probe(check) -> str:
    try:
        check()
    except Exception:
        logger.warning("Health probe %s failed", check.__name__, exc_info=True)
        return "unavailable"
    return "ok"


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache_ok() -> None:
    cache.set("health-probe", "1", timeout=10)
    if cache.get("health-probe") != "1":
        raise RuntimeError("the cache did not keep a value")


def _storage_ok() -> None:
    default_storage.exists("health-probe")


# --- Errors before a view: Django's handler400/403/404/500 (allmine/urls.py) ---------
# A request Django refuses before any view runs (a Host header not in ALLOWED_HOSTS,
# a body it cannot read) gets the envelope under /api/, and Django's own page
# elsewhere (the admin).


def _api_error(request, status: int, detail: str | None = None):
    return envelope_response(status, [error_text(status), *([detail] if detail else [])])


def bad_request(request, exception=None):
    if is_api_path(request.path_info):
        if isinstance(exception, DisallowedHost):
            detail = "The Host header names no host this service answers to."
        else:
            detail = "The request could not be read."
        return _api_error(request, 400, detail)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api_path(request.path_info):
        return _api_error(request, 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if is_api_path(request.path_info):
        return _api_error(request, 404, "No API endpoint has this URL.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_path(request.path_info):
        return _api_error(request, 500)
    return defaults.server_error(request)
