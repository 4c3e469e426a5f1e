"""Joining a stream: as its creator, as an invited guest, as audience; renewing
the Agora tokens; leaving the channel."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core.http import client_ip
from allmine.core.representation import represent
from allmine.core.throttling import JoinThrottle, RenewThrottle
from livestreams.api.common import SnapshotStreamField, valid
from livestreams.api.inputs import AudienceJoinInputSerializer, LiveStreamIdInputSerializer
from livestreams.api.serializers import (
    CredentialsSerializer,
    JoinResponseSerializer,
    LeaveResponseSerializer,
)
from livestreams.services.audience import (
    livestream_join_as_audience,
    livestream_leave,
    livestream_renew_token,
)
from livestreams.services.broadcasting import livestream_join_as_creator, livestream_join_as_guest


class JoinAsCreatorView(APIView):
    throttle_classes = [JoinThrottle]

    @extend_schema(
        summary="Join as the creator",
        description=(
            "The creator joins as broadcaster: a scheduled or preparing stream becomes "
            "active; joining again while active returns fresh tokens with the same uid. "
            "Returns the stream and a publisher token.\n\n"
            "Yayıncı olarak belirli bir canlı yayına katılması için gerekli Agora "
            "tokenını döndürür."
        ),
        request=LiveStreamIdInputSerializer,
        responses={
            200: JoinResponseSerializer,
            403: OpenApiResponse(
                description="The caller is not the creator of this stream, or is banned from it."
            ),
            404: OpenApiResponse(description="No live stream has this id (or it was removed)."),
            409: OpenApiResponse(
                description="The stream has ended, expired, was cancelled or was removed."
            ),
        },
    )
    def post(self, request):
        data = valid(LiveStreamIdInputSerializer, request.data)
        return Response(
            JoinResponseSerializer(livestream_join_as_creator(user=request.user, **data)).data
        )


class JoinAsGuestView(APIView):
    throttle_classes = [JoinThrottle]

    @extend_schema(
        summary="Join as an invited guest",
        description=(
            "An invited guest joins a duo stream as a second broadcaster and gets a "
            "publisher token.\n\n"
            "Misafir olarak belirli bir canlı yayına katılması için gerekli Agora "
            "tokenını döndürür."
        ),
        request=LiveStreamIdInputSerializer,
        responses={
            200: JoinResponseSerializer,
            403: OpenApiResponse(
                description="The caller is not an invited guest, or is banned from the stream."
            ),
            404: OpenApiResponse(description="No live stream has this id (or it was removed)."),
            409: OpenApiResponse(description="The stream is not scheduled, preparing or active."),
        },
    )
    def post(self, request):
        data = valid(LiveStreamIdInputSerializer, request.data)
        return Response(
            JoinResponseSerializer(livestream_join_as_guest(user=request.user, **data)).data
        )


class AudienceJoinResponseSerializer(JoinResponseSerializer):
    """Renders `services.results.AudienceJoinResult`: JoinResponseSerializer's
    shape, the stream rendered from its cached snapshot."""

    liveStream = SnapshotStreamField()  # type: ignore[assignment]  # DRF: a declared field replaces the parent's


class JoinAsAudienceView(APIView):
    throttle_classes = [JoinThrottle]

    @extend_schema(
        summary="Join as audience",
        description=(
            "Joins an active stream as audience and returns a subscriber token. A paid "
            "stream charges its price in credits on the first join only."
        ),
        request=AudienceJoinInputSerializer,
        responses={
            200: JoinResponseSerializer,
            403: OpenApiResponse(
                description="The caller is a broadcaster of this stream, or is banned from it."
            ),
            404: OpenApiResponse(description="No live stream has this id (or it was removed)."),
            409: OpenApiResponse(
                description="The stream is not active, or the caller's credits do not cover "
                "its price."
            ),
        },
    )
    def post(self, request):
        data = valid(AudienceJoinInputSerializer, request.data)
        stream_id = data.pop("live_stream_id")
        result = livestream_join_as_audience(
            user=request.user, live_stream_id=stream_id, device=data, ip_address=client_ip(request)
        )
        return Response(represent(AudienceJoinResponseSerializer, result))


class RenewTokenView(APIView):
    throttle_classes = [RenewThrottle]

    @extend_schema(
        summary="Renew the Agora tokens",
        description="Fresh RTC and RTM tokens for the caller's current role in the stream.",
        request=LiveStreamIdInputSerializer,
        responses={
            200: CredentialsSerializer,
            403: OpenApiResponse(
                description="The caller has not joined this stream, or is banned from it."
            ),
            404: OpenApiResponse(description="No live stream has this id (or it was removed)."),
            409: OpenApiResponse(description="The stream no longer issues tokens."),
        },
    )
    def post(self, request):
        data = valid(LiveStreamIdInputSerializer, request.data)
        credentials = livestream_renew_token(user=request.user, **data)
        return Response(represent(CredentialsSerializer, credentials))


class LeaveView(APIView):
    @extend_schema(
        summary="Leave a stream",
        description="Records that the caller left the channel (broadcaster state, watch time).",
        request=LiveStreamIdInputSerializer,
        responses={
            200: LeaveResponseSerializer,
            403: OpenApiResponse(description="The caller has not joined this stream."),
            404: OpenApiResponse(description="No live stream has this id (or it was removed)."),
        },
    )
    def post(self, request):
        data = valid(LiveStreamIdInputSerializer, request.data)
        return Response(LeaveResponseSerializer(livestream_leave(user=request.user, **data)).data)
