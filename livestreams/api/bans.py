"""Bans: the list, banning a user from a stream, lifting a ban, and checking
whether a user is banned (API-more §9, §14). Every answer is the Ban object."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_active
from allmine.core import examples as ex
from allmine.core.pagination import PageQuerySerializer, paginate
from allmine.core.views import atomic_response
from livestreams.api.common import path_id, valid, valid_query
from livestreams.api.inputs import (
    BanCheckQuerySerializer,
    BanCreateInputSerializer,
    BanListFilterSerializer,
)
from livestreams.api.serializers import BanCheckSerializer, BanPageSerializer, BanSerializer
from livestreams.selectors.bans import BanFilters, ban_in_force, bans_listed, bans_with_people
from livestreams.selectors.streams import stream_visible
from livestreams.services.access import ensure_can_manage, is_moderator
from livestreams.services.bans import ban_create, ban_lift

MANAGERS_ONLY = OpenApiResponse(description="Only the stream's creator or a moderator.")


class BansView(APIView):
    @extend_schema(
        operation_id="liveStreamBanList",
        summary="Bans",
        description=(
            "The bans in force, newest first, one page at a time. With `liveStreamId`: that "
            "stream's (its creator or a moderator); without: those of the streams the "
            "caller created (a moderator: every stream's)."
        ),
        parameters=[BanListFilterSerializer, PageQuerySerializer],
        responses={
            200: BanPageSerializer,
            403: MANAGERS_ONLY,
            404: OpenApiResponse(description="No live stream has this id."),
        },
        examples=[ex.response_example("A stream's bans", 200, ex.BAN_PAGE)],
    )
    def get(self, request):
        data = valid_query(BanListFilterSerializer, request.query_params)
        stream = None
        if data.get("live_stream_id"):
            stream = stream_visible(data["live_stream_id"])
            ensure_can_manage(request.user, stream)
        owner = None if stream is not None or is_moderator(request.user) else request.user
        filters = BanFilters(
            target_user=data.get("target_user_id") or data.get("target_user"),
            action_type=data.get("action_type"),
            start=data.get("start"),
            end=data.get("end"),
        )
        bans = bans_listed(stream=stream, owner=owner, filters=filters)
        page = paginate(bans, request.query_params)
        return Response(BanPageSerializer(page).data)

    @extend_schema(
        operation_id="liveStreamBanCreate",
        summary="Ban a user from a stream",
        description=(
            "BLOCK: no joining at all (the user is removed from the stream at once); "
            "CHAT_ONLY: may watch, may not chat. Its creator or a moderator."
        ),
        request=BanCreateInputSerializer,
        responses={
            200: BanSerializer,
            403: MANAGERS_ONLY,
            404: OpenApiResponse(description="No live stream or no user has this id."),
            409: OpenApiResponse(description="The user is already banned from this stream."),
        },
        examples=[
            ex.request_example("No chat for a viewer", ex.BAN_REQUEST),
            ex.response_example("The ban in force", 200, ex.BAN),
        ],
    )
    @atomic_response
    def post(self, request):
        data = valid(BanCreateInputSerializer, request.data)
        ban = ban_create(actor=request.user, **data)
        return Response(BanSerializer(bans_with_people().get(pk=ban.pk)).data)


class BanDetailView(APIView):
    @extend_schema(
        operation_id="liveStreamBanLift",
        summary="Lift a ban",
        description="Lifts a ban (it stays on record). Its stream's creator or a moderator.",
        responses={
            200: BanSerializer,
            403: MANAGERS_ONLY,
            409: OpenApiResponse(description="The ban has already been lifted."),
        },
        examples=[ex.response_example("The ban lifted", 200, ex.BAN_LIFTED)],
    )
    def delete(self, request, ban_id):
        ban = ban_lift(actor=request.user, ban_id=path_id(ban_id))
        return Response(BanSerializer(bans_with_people().get(pk=ban.pk)).data)


class BanCheckView(APIView):
    @extend_schema(
        operation_id="liveStreamBanCheck",
        summary="Is a user banned?",
        description=(
            "Whether the user is banned from the stream now, with the ban in force (BLOCK or "
            "CHAT_ONLY). Users may check themselves; checking another user takes the "
            "stream's creator or a moderator."
        ),
        parameters=[BanCheckQuerySerializer],
        responses={
            200: BanCheckSerializer,
            403: OpenApiResponse(
                description="Checking another user takes the stream's creator or a moderator."
            ),
            404: OpenApiResponse(description="No live stream or no user has this id."),
        },
        examples=[
            ex.response_example("Banned from the chat", 200, ex.BAN_CHECK),
            ex.response_example("Not banned", 200, ex.BAN_CHECK_NOT_BANNED),
        ],
    )
    def get(self, request, target_user_id):
        target_id = path_id(target_user_id, "targetUserId")
        data = valid(BanCheckQuerySerializer, request.query_params)
        stream = stream_visible(data["live_stream_id"])
        target = user_active(target_id) if target_id != request.user.pk else request.user
        if target.pk != request.user.pk:
            ensure_can_manage(request.user, stream)
        ban = ban_in_force(user_id=target.pk, stream=stream)
        return Response(BanCheckSerializer({"ban": ban}).data)
