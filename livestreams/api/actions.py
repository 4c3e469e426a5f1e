"""What the creator, the guests, the moderators and the audience do to a stream:
end, cancel, replay settings, fund, rent the replay."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core.views import atomic_response
from livestreams.api.common import path_id, valid
from livestreams.api.inputs import FundInputSerializer, ReplaySettingsInputSerializer
from livestreams.api.serializers import (
    FundResponseSerializer,
    LiveStreamSerializer,
    ReplayAccessSerializer,
)
from livestreams.services.moderation import (
    livestream_cancel,
    livestream_end,
    livestream_update_replay_settings,
)
from livestreams.services.money import livestream_fund, replay_rent


class EndView(APIView):
    @extend_schema(
        operation_id="liveStreamEnd",
        summary="End a live stream",
        description="Ends an active stream. Its creator or a moderator.",
        request=None,
        responses={
            200: LiveStreamSerializer,
            403: OpenApiResponse(description="Only the creator or a moderator."),
            409: OpenApiResponse(description="The stream is not active."),
        },
    )
    def post(self, request, live_stream_id):
        stream = livestream_end(actor=request.user, live_stream_id=path_id(live_stream_id))
        return Response(LiveStreamSerializer(stream).data)


class CancelView(APIView):
    @extend_schema(
        operation_id="liveStreamCancel",
        summary="Cancel a live stream",
        description=(
            "Cancels a stream before it starts (cancelled_by_host, or cancelled_by_guest "
            "for an invited guest); every contribution is refunded."
        ),
        request=None,
        responses={
            200: LiveStreamSerializer,
            403: OpenApiResponse(description="Only the creator, an invited guest or a moderator."),
            409: OpenApiResponse(description="The stream is not scheduled or preparing."),
        },
    )
    def post(self, request, live_stream_id):
        stream = livestream_cancel(actor=request.user, live_stream_id=path_id(live_stream_id))
        return Response(LiveStreamSerializer(stream).data)


class ReplaySettingsView(APIView):
    @extend_schema(
        summary="Change the replay settings",
        description="The creator shows the replay on their profile or not, and sets its price.",
        request=ReplaySettingsInputSerializer,
        responses={
            200: LiveStreamSerializer,
            403: OpenApiResponse(description="Only the creator of the stream."),
        },
    )
    @atomic_response
    def patch(self, request, live_stream_id):
        changes = valid(ReplaySettingsInputSerializer, request.data)
        stream = livestream_update_replay_settings(
            actor=request.user, live_stream_id=path_id(live_stream_id), **changes
        )
        return Response(LiveStreamSerializer(stream).data)


class FundView(APIView):
    @extend_schema(
        operation_id="liveStreamFund",
        summary="Fund a live stream",
        description="A contribution towards a scheduled stream's funding goal, in credits.",
        request=FundInputSerializer,
        responses={
            201: FundResponseSerializer,
            403: OpenApiResponse(
                description="The creator cannot fund their own stream; a banned user cannot."
            ),
            409: OpenApiResponse(
                description="The stream is not scheduled or has no funding goal, or the "
                "caller's credits do not cover the amount."
            ),
        },
    )
    @atomic_response
    def post(self, request, live_stream_id):
        data = valid(FundInputSerializer, request.data)
        contribution, stream = livestream_fund(
            user=request.user, live_stream_id=path_id(live_stream_id), amount=data["amount"]
        )
        funded = {"contribution": contribution, "live_stream": stream}
        return Response(FundResponseSerializer(funded).data, status=status.HTTP_201_CREATED)


class ReplayRentalsView(APIView):
    @extend_schema(
        operation_id="replayRent",
        summary="Rent the replay",
        description=(
            "Rents the replay for 24 h (again while active: no charge; an expired rental is "
            "renewed). Returns the caller's replay access."
        ),
        request=None,
        responses={
            200: ReplayAccessSerializer,
            409: OpenApiResponse(
                description="The replay cannot be rented, the caller is its creator or a "
                "guest, or the caller's credits do not cover the price."
            ),
        },
    )
    def post(self, request, live_stream_id):
        stream = replay_rent(user=request.user, live_stream_id=path_id(live_stream_id))
        return Response(ReplayAccessSerializer(stream.viewer_replay).data)
