"""Reports (API-more §10.1): a user reports a stream to the moderators."""

import re
import zoneinfo
from functools import lru_cache

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core import examples as ex
from livestreams.api.common import path_id, valid
from livestreams.api.inputs import ReportCreateInputSerializer
from livestreams.api.room_serializers import ReportSerializer
from livestreams.api.throttles import ReportThrottle
from livestreams.services.reports import ClientDetails, report_create

# The headers the apps send, each with the values we keep and the default that
# replaces any other value (our rule: an unknown value is never a 400).
PLATFORMS = ("ios", "android", "web")
DEFAULT_PLATFORM = "unknown"
APP_VERSION = re.compile(r"^\d{1,6}(\.\d{1,6}){0,3}([-+][0-9A-Za-z.]{1,20})?$")
DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def client_details(headers) -> ClientDetails:
    """The app's X-Language, X-Timezone, X-Platform, X-App-Version and X-Device-ID,
    each kept only when it is one of its known values, else its default."""
    languages = {code for code, _name in settings.LANGUAGES}
    language = (headers.get("X-Language") or "").strip().lower().replace("_", "-")
    language = language.split("-", 1)[0]
    zone = (headers.get("X-Timezone") or "").strip()
    platform = (headers.get("X-Platform") or "").strip().lower()
    version = (headers.get("X-App-Version") or "").strip()
    device = (headers.get("X-Device-ID") or "").strip()
    return ClientDetails(
        language=language if language in languages else settings.LANGUAGE_CODE,
        time_zone=zone if len(zone) <= 64 and zone in _time_zones() else "UTC",
        platform=platform if platform in PLATFORMS else DEFAULT_PLATFORM,
        app_version=version if APP_VERSION.fullmatch(version) else "",
        device_id=device if DEVICE_ID.fullmatch(device) else "",
    )


def _header(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False, description=description
    )


class ReportCreateView(APIView):
    throttle_classes = [ReportThrottle]

    @extend_schema(
        operation_id="liveStreamReportCreate",
        summary="Report a stream",
        description=(
            "Reports a stream (in any status) to the moderators. One open report per user "
            "and stream; once moderators have closed it, a new one may be filed. "
            "`description` is required when `type` is other. The optional headers are "
            "kept with the report; an unknown value becomes the header's default."
        ),
        parameters=[
            _header("X-Language", "en or tr (default en)."),
            _header("X-Timezone", "An IANA time zone such as Europe/Istanbul (default UTC)."),
            _header("X-Platform", "ios, android or web (default unknown)."),
            _header("X-App-Version", "Such as 2.4.0 (default empty)."),
            _header("X-Device-ID", "Letters, digits and . _ : - (default empty)."),
        ],
        request=ReportCreateInputSerializer,
        responses={
            201: ReportSerializer,
            403: OpenApiResponse(description="The creator cannot report their own stream."),
            409: OpenApiResponse(description="The caller's report on this stream is still open."),
        },
        examples=[
            ex.request_example("Harassment", ex.REPORT_REQUEST),
            ex.request_example("Other: a description is required", ex.REPORT_REQUEST_OTHER),
            ex.response_example("The report filed", 201, ex.REPORT),
        ],
    )
    def post(self, request, stream_id):
        data = valid(ReportCreateInputSerializer, request.data)
        report = report_create(
            user=request.user,
            live_stream_id=path_id(stream_id),
            client=client_details(request.headers),
            **data,
        )
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)
