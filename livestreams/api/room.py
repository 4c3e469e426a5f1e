"""A stream's room and its surroundings: reminders (§7.9), who watches (§7.10),
the gifts sent (§7.11) and the audience's figures for the creator (§11.1). Who may
do what is the policy of `livestreams.policy`."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core import examples as ex
from livestreams.api.common import (
    ARRAY_PAGE_LIMIT,
    ArrayPageQuerySerializer,
    path_id,
    valid,
    with_default_limit,
)
from livestreams.api.inputs import ReminderInputSerializer, ViewersQuerySerializer
from livestreams.api.room_serializers import (
    GiftStatisticsSerializer,
    ParticipantStatisticsSerializer,
    ReminderSerializer,
    ViewersPageSerializer,
)
from livestreams.policy import StreamAction
from livestreams.selectors.room import gift_statistics, participant_statistics, viewers_page
from livestreams.services.access import stream_where_may
from livestreams.services.reminders import reminder_set

BLOCKED = OpenApiResponse(description="The caller is banned (BLOCK) from this stream.")


class ReminderView(APIView):
    @extend_schema(
        operation_id="liveStreamReminder",
        summary="Set a reminder",
        description=(
            "Arms the caller's reminder of a stream that has not started (one per user and "
            "stream; calling again replaces it). `minute` 0, null or absent: when the stream "
            "goes live (ON_START); above 0: that many minutes before the planned start "
            "(BEFORE_START), if that is still ahead, else ON_START. It fires once."
        ),
        request=ReminderInputSerializer,
        responses={
            200: ReminderSerializer,
            403: BLOCKED,
            409: OpenApiResponse(description="The stream is not scheduled or preparing."),
        },
        examples=[
            ex.request_example("15 minutes before the planned start", ex.REMINDER_REQUEST),
            ex.request_example("When the stream goes live", {"minute": 0}),
            ex.response_example("Armed 15 minutes before the start", 200, ex.REMINDER),
        ],
    )
    def post(self, request, live_stream_id):
        data = valid(ReminderInputSerializer, request.data)
        reminder = reminder_set(
            user=request.user, live_stream_id=path_id(live_stream_id), minute=data["minute"]
        )
        return Response(ReminderSerializer(reminder).data)


class ViewersView(APIView):
    @extend_schema(
        operation_id="liveStreamViewers",
        summary="Who is watching",
        description=(
            "Audience members watching now (not the creator or the guests), the latest join "
            "first; empty unless the stream is active. `participantAudienceTotal`: everyone "
            f"who ever joined as audience. `limit` is {ARRAY_PAGE_LIMIT} by default."
        ),
        parameters=[ViewersQuerySerializer, ArrayPageQuerySerializer],
        responses={200: ViewersPageSerializer, 403: BLOCKED},
        examples=[ex.response_example("One viewer watching now", 200, ex.VIEWERS_PAGE)],
    )
    def get(self, request, live_stream_id):
        query = valid(ViewersQuerySerializer, request.query_params)
        stream = stream_where_may(request.user, path_id(live_stream_id), StreamAction.READ_ROOM)
        viewers = viewers_page(
            stream,
            search=query["search"].strip(),
            params=with_default_limit(request.query_params, ARRAY_PAGE_LIMIT),
        )
        return Response(ViewersPageSerializer(viewers).data)


class GiftStatisticsView(APIView):
    @extend_schema(
        operation_id="liveStreamGiftStatistics",
        summary="Gifts sent to a stream",
        description=(
            "How many gifts were sent to the stream, per gift type: every active type (0 "
            "too) and every deactivated one sent here, the cheapest first."
        ),
        responses={200: GiftStatisticsSerializer, 403: BLOCKED},
        examples=[
            ex.response_example("Nine gifts; every active type listed", 200, ex.GIFT_STATISTICS)
        ],
    )
    def get(self, request, live_stream_id):
        stream = stream_where_may(request.user, path_id(live_stream_id), StreamAction.READ_ROOM)
        return Response(GiftStatisticsSerializer(gift_statistics(stream)).data)


class ParticipantStatisticsView(APIView):
    @extend_schema(
        operation_id="participantStreamStatistics",
        summary="The audience's figures",
        description=(
            "Distinct viewers, their watch time (those still watching counted up to now), "
            "the average per viewer and the peak of concurrent viewers. The creator, the "
            "guests and the moderators."
        ),
        responses={
            200: ParticipantStatisticsSerializer,
            403: OpenApiResponse(
                description="Only the creator, the guests of the stream or a moderator."
            ),
        },
        examples=[ex.response_example("The audience's figures", 200, ex.PARTICIPANT_STATISTICS)],
    )
    def get(self, request, stream_id):
        stream = stream_where_may(request.user, path_id(stream_id), StreamAction.READ_STATISTICS)
        figures = participant_statistics(stream, now=timezone.now())
        return Response(ParticipantStatisticsSerializer(figures).data)
