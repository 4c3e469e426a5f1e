"""POST /api/v1/agora/events: the webhook of Agora's Notification Center (NCS).

A notice that is not signed with `AGORA_NCS_SECRET` is a 401 and changes nothing;
a signed notice is applied once (`services.agora_notices.agora_notice_apply`)
and answered 200, also when it names an unknown channel, user or event type,
since Agora retries anything else. The request makes no network call: Agora
gives up after 10 s.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core.errors import AuthenticationRequired
from livestreams.agora.notices import SIGNATURE_HEADER, parse_notice, signature_is_valid
from livestreams.api.serializers import AgoraNoticeResponseSerializer, AgoraNoticeSerializer
from livestreams.services.agora_notices import agora_notice_apply


class AgoraEventsView(APIView):
    """Agora's Notification Center: signed by Agora, not by a user's token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        operation_id="agoraEvents",
        summary="Agora Notification Center events",
        description=(
            "Called by Agora's Notification Center (NCS), not by the apps. The body is "
            "signed: `Agora-Signature-V2` is the hex HMAC-SHA256 of the raw body with the "
            "NCS secret. Each `noticeId` is applied once; a repeated notice is answered "
            "200 with outcome `duplicate` and changes nothing."
        ),
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="Hex HMAC-SHA256 of the raw body with the NCS secret.",
            )
        ],
        request=AgoraNoticeSerializer,
        responses={
            200: AgoraNoticeResponseSerializer,
            401: OpenApiResponse(
                description="The signature header is missing or does not match the body."
            ),
        },
    )
    def post(self, request):
        body = request.body  # the exact bytes Agora signed
        if not signature_is_valid(body, request.headers.get(SIGNATURE_HEADER)):
            raise AuthenticationRequired(
                f"The {SIGNATURE_HEADER} header is missing or does not match the body."
            )
        notice = parse_notice(body)
        outcome = agora_notice_apply(**notice)
        answer = {"notice_id": notice["notice_id"], "outcome": outcome}
        return Response(AgoraNoticeResponseSerializer(answer).data)
