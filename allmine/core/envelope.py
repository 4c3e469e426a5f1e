"""The response envelope of the contract (§1), built in one place.

`envelope()` is the shape; the renderer wraps what every DRF view returns in it
(errors come to it from `allmine.core.exception_handler`); `envelope_response()`
serves the middleware for requests that never reach a view.
"""

import json

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from allmine.core.errors import error_text
from allmine.core.timestamps import now_timestamp


def envelope(status_code: int, data=None, errors=None) -> dict:
    success = status_code < 400
    if not success and not errors:
        errors = [error_text(status_code)]
    return {
        "isSuccess": success,
        "statusCode": status_code,
        "data": data if success else None,
        "errors": [] if success else list(errors),
        "timestamp": now_timestamp(),
    }


class EnvelopeJSONRenderer(JSONRenderer):
    """Wraps whatever a view returns in the envelope.

    Error responses come from `api_exception_handler` as `{"errors": [...]}`;
    successful ones carry their payload as `data`.
    """

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        status_code = response.status_code if response is not None else 200
        if status_code >= 400:
            errors = data.get("errors") if isinstance(data, dict) else None
            body = envelope(status_code, errors=errors)
        else:
            body = envelope(status_code, data=data)
        return super().render(body, accepted_media_type, renderer_context)


def envelope_response(status_code: int, errors=None, headers=None) -> HttpResponse:
    """An enveloped error for a request that never reached a DRF view."""
    return HttpResponse(
        json.dumps(envelope(status_code, errors=errors), separators=(",", ":")),
        status=status_code,
        content_type="application/json",
        headers=headers,
    )
