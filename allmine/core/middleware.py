"""Keeps the envelope on `/api/` responses that never reach a DRF view."""

import logging
import re
import time
import uuid

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation

from allmine.core.envelope import envelope_response

logger = logging.getLogger("allmine.api")


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


class ApiEnvelopeMiddleware:
    """Refuses oversized API requests before their body is read (413), and turns
    an unexpected exception outside a DRF view into a 500 envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path_info):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return envelope_response(400, ["Validation failed", "Invalid Content-Length."])
            if length > settings.MAX_REQUEST_BYTES:
                limit_mb = settings.MAX_REQUEST_BYTES // (1024 * 1024)
                return envelope_response(
                    413, ["Payload too large", f"The request body exceeds {limit_mb} MB."]
                )
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api_path(request.path_info):
            return None
        if isinstance(exception, (OperationalError, InterfaceError)):
            logger.error("Database unavailable: %s", type(exception).__name__)
            return envelope_response(503, ["Service unavailable", "The database is unavailable."])
        logger.exception("Unhandled error outside the API views", exc_info=exception)
        return envelope_response(500)


_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
request_logger = logging.getLogger("allmine.request")


class RequestLogMiddleware:
    """One log line per request: request id, user id, method, path, status and
    duration. Never a header, a body, a token or a password. The request id comes
    from the load balancer's X-Request-ID when it is sane, and is echoed back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        user = getattr(request, "user", None)
        request_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": request.request_id,
                "user_id": getattr(user, "pk", None)
                if getattr(user, "is_authenticated", False)
                else None,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response


class LocaleMiddleware(DjangoLocaleMiddleware):
    """The back office follows the browser's language; the API always speaks the
    contract's English, whatever the app's Accept-Language says."""

    def process_request(self, request):
        if is_api_path(request.path_info):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            return
        super().process_request(request)

    def process_response(self, request, response):
        if is_api_path(request.path_info):
            return response
        return super().process_response(request, response)
