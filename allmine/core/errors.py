"""One error hierarchy for the whole API.

Services raise the domain errors below; `allmine.core.envelope` renders them (and
DRF's own exceptions) as the envelope of the contract (§1). Each status has the
contract's fixed first `errors` entry and a stable machine-readable code, for
logs, tests and the back office, which never parse the English texts.
"""

from rest_framework import status

ERROR_TEXTS = {
    400: "Validation failed",
    401: "Authentication required",
    403: "Insufficient permissions",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Resource already exists or cannot be changed in its current state",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

ERROR_CODES = {
    400: "validation_failed",
    401: "authentication_required",
    403: "insufficient_permissions",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


# Statuses the contract does not list, that a proxy or the HTTP server in front of
# Django may answer with: a gateway that cannot reach the app says what 503 says.
GATEWAY_STATUSES = frozenset({502, 504})


def error_text(status_code: int) -> str:
    """The contract's fixed text for a status (that of 503 for a gateway error, of
    400 or 500 for another status it does not list)."""
    if status_code in GATEWAY_STATUSES:
        return ERROR_TEXTS[503]
    return ERROR_TEXTS.get(status_code) or ERROR_TEXTS[500 if status_code >= 500 else 400]


class ApiError(Exception):
    """A domain error: an HTTP status, a stable code and, optionally, what exactly
    was wrong (each detail becomes one more entry of the envelope's `errors`)."""

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, *details: str, code: str | None = None):
        super().__init__(*details)
        self.details = [str(d) for d in details]
        self.code = code or ERROR_CODES[self.status_code]


class ValidationFailed(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST

    @classmethod
    def field(cls, field: str, message: str) -> "ValidationFailed":
        return cls(f"{field}: {message}")


class AuthenticationRequired(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED


class InsufficientPermissions(ApiError):
    status_code = status.HTTP_403_FORBIDDEN


class NotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class TooManyRequests(ApiError):
    """A limit a service keeps (not a view's throttle); the response carries
    `Retry-After: retry_after` seconds."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, *details: str, retry_after: int, code: str | None = None):
        super().__init__(*details, code=code)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
