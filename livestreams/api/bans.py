"""Bans: the bans of a stream, banning a user from it, lifting a ban."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core.views import atomic_response
from livestreams.api.common import path_id, valid, valid_query
from livestreams.api.inputs import BanCreateInputSerializer, BanListFilterSerializer
from livestreams.api.serializers import BanSerializer
from livestreams.selectors.streams import bans_in_force, stream_visible
from livestreams.services.access import ensure_can_manage
from livestreams.services.bans import ban_create, ban_lift


class BansView(APIView):
    @extend_schema(
        operation_id="liveStreamBanList",
        summary="Bans of a stream",
        description="The bans in force on a stream. Its creator or a moderator.",
        parameters=[BanListFilterSerializer],
        responses={
            200: BanSerializer(many=True),
            403: OpenApiResponse(description="Only the creator or a moderator."),
            404: OpenApiResponse(description="No live stream has this id."),
        },
    )
    def get(self, request):
        data = valid_query(BanListFilterSerializer, request.query_params)
        stream = stream_visible(data["live_stream_id"])
        ensure_can_manage(request.user, stream)
        bans = bans_in_force(stream)
        return Response(BanSerializer(bans, many=True).data)

    @extend_schema(
        operation_id="liveStreamBanCreate",
        summary="Ban a user from a stream",
        description=(
            "BLOCK: no joining at all (the user is removed from the stream at once); "
            "CHAT_ONLY: may watch, may not chat. Its creator or a moderator."
        ),
        request=BanCreateInputSerializer,
        responses={
            201: BanSerializer,
            403: OpenApiResponse(description="Only the creator or a moderator."),
            404: OpenApiResponse(description="No live stream or no user has this id."),
            409: OpenApiResponse(description="The user is already banned from this stream."),
        },
    )
    @atomic_response
    def post(self, request):
        data = valid(BanCreateInputSerializer, request.data)
        ban = ban_create(actor=request.user, **data)
        return Response(BanSerializer(ban).data, status=status.HTTP_201_CREATED)


class BanDetailView(APIView):
    @extend_schema(
        operation_id="liveStreamBanLift",
        summary="Lift a ban",
        description="Lifts a ban (it stays on record). Its stream's creator or a moderator.",
        responses={
            200: BanSerializer,
            403: OpenApiResponse(description="Only the creator or a moderator."),
            409: OpenApiResponse(description="The ban has already been lifted."),
        },
    )
    def delete(self, request, ban_id):
        ban = ban_lift(actor=request.user, ban_id=path_id(ban_id))
        return Response(BanSerializer(ban).data)
