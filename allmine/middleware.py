"""Keeps the envelope on `/api/` responses that never reach a DRF view."""

import json
import logging

from django.conf import settings
from django.http import HttpResponse

from allmine.envelope import envelope

logger = logging.getLogger("allmine.api")


def envelope_response(status_code: int, errors=None, headers=None) -> HttpResponse:
    body = envelope(status_code, errors=errors)
    response = HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status=status_code,
        content_type="application/json",
        headers=headers,
    )
    return response


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
        logger.exception("Unhandled error outside the API views", exc_info=exception)
        return envelope_response(500)
