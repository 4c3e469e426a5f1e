"""The one exception handler of the API (DRF's EXCEPTION_HANDLER).

It maps the domain errors (`allmine.core.errors`), DRF's own exceptions and
anything unexpected onto the envelope of the contract (§1), and marks the
transaction for rollback so that a failed request changes nothing. (A module of
its own: it imports `rest_framework.views`, which reads the renderer setting, so
the renderer's module must not.)
"""

import logging

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from allmine.core.errors import ApiError, error_text

logger = logging.getLogger("allmine.api")


def flatten_validation_errors(detail, prefix: str = "") -> list[str]:
    """DRF's nested error structure as flat `"<field>: <message>"` lines."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            if key in ("non_field_errors", api_settings.NON_FIELD_ERRORS_KEY):
                lines += flatten_validation_errors(value, prefix)
            else:
                lines += flatten_validation_errors(value, f"{prefix}.{key}" if prefix else str(key))
        return lines
    if isinstance(detail, list):
        lines = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                lines += flatten_validation_errors(
                    value, f"{prefix}.{index}" if prefix else str(index)
                )
            else:
                lines += flatten_validation_errors(value, prefix)
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _details_of(exc: drf.APIException) -> list[str]:
    if isinstance(exc, drf.ValidationError):
        return flatten_validation_errors(exc.detail)
    detail: object = exc.detail
    if isinstance(detail, dict):  # simplejwt's InvalidToken carries a dict
        detail = detail.get("detail", "")
    if isinstance(detail, list):
        return [str(d) for d in detail]
    return [str(detail)] if detail else []


def error_response(status_code: int, details=(), headers=None) -> Response:
    text = error_text(status_code)
    errors = [text, *(d for d in details if d and d != text)]
    return Response({"errors": errors}, status=status_code, headers=headers)


def api_exception_handler(exc, context):
    """Render every exception raised in an API view as an envelope."""
    if isinstance(exc, ApiError):
        set_rollback()
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return error_response(exc.status_code, exc.details, headers=headers)

    if isinstance(exc, RequestDataTooBig):
        set_rollback()
        return error_response(413, ["The request body is too large."])
    if isinstance(exc, TooManyFieldsSent):
        set_rollback()
        return error_response(413, ["The request has too many fields."])

    if isinstance(exc, (Http404, DjangoPermissionDenied, drf.APIException)):
        response = drf_exception_handler(exc, context)  # headers, set_rollback()
        if isinstance(exc, drf.ParseError):
            details = ["The request body could not be parsed."]
        elif isinstance(exc, drf.APIException):
            details = _details_of(exc)
        else:
            details = []
        headers = {
            k: v for k, v in response.headers.items() if k in ("WWW-Authenticate", "Retry-After")
        }
        return error_response(response.status_code, details, headers=headers)

    set_rollback()
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("Database unavailable: %s", type(exc).__name__)
        return error_response(503, ["The database is unavailable; try again shortly."])
    if isinstance(exc, DatabaseError):
        logger.exception("Database error in %s", _view_name(context))
        return error_response(500)
    if isinstance(exc, (BotoCoreError, ClientError, OSError)):
        # The media storage (S3 or the file system) failed to store or read a file.
        logger.error("File storage unavailable in %s: %s", _view_name(context), _storage_error(exc))
        return error_response(503, ["The file storage is unavailable; try again shortly."])
    logger.exception("Unhandled error in %s", _view_name(context))
    return error_response(500)


def _view_name(context) -> str:
    view = context.get("view") if context else None
    return type(view).__name__ if view is not None else "unknown view"


def _storage_error(exc) -> str:
    """What failed, without the message (it may carry a bucket, a path or a key)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{type(exc).__name__} {error.get('Code', '')} in {exc.operation_name}"
    return type(exc).__name__
