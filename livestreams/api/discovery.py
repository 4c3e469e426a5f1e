"""The home screen's and the profiles' lists (API-more §7.1-§7.8), each a plain
array. Featured and catch-streamers are public and the profiles' lists take an
optional token: a token that is sent must be valid (401 otherwise)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_active
from allmine.core import examples as ex
from livestreams.api.common import path_id, valid
from livestreams.api.inputs import (
    GuestStreamsQuerySerializer,
    LimitQuerySerializer,
    PastStreamsQuerySerializer,
    UpcomingQuerySerializer,
    UpcomingV2QuerySerializer,
)
from livestreams.api.serializers import (
    CatchStreamerSerializer,
    CreatorCardSerializer,
    LiveStreamSerializer,
    UpcomingLiveStreamSerializer,
)
from livestreams.selectors.discovery import (
    creators_most_watched,
    mark_reminders,
    streams_as_guest,
    streams_catching,
    streams_featured,
    streams_past,
    streams_upcoming,
)
from livestreams.selectors.viewing import prepare_for_viewer

OPTIONAL_TOKEN = (
    "The token is optional; a token that is sent must be valid. Anonymous callers see "
    "`role` null and no replay access."
)
USER_NOT_FOUND = OpenApiResponse(description="No active user has this id.")


def _as_seen(request, streams: list) -> list:
    return prepare_for_viewer(streams, request.user, timezone.now())


class FeaturedView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Featured live streams",
        description=(
            "At most 10 active streams, the most viewers now first (the count the service "
            "keeps, as /viewer-count answers it), then the latest start, then the id. "
            + OPTIONAL_TOKEN
        ),
        responses={200: LiveStreamSerializer(many=True)},
        examples=[
            ex.response_example("Live now, as an anonymous caller sees it", 200, [ex.LIVE_STREAM])
        ],
    )
    def get(self, request):
        streams = _as_seen(request, streams_featured())
        return Response(LiveStreamSerializer(streams, many=True).data)


class CatchStreamersView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Catch the streamers",
        description=(
            "Each creator live now with their active stream, the latest start first. "
            + OPTIONAL_TOKEN
        ),
        parameters=[LimitQuerySerializer],
        responses={200: CatchStreamerSerializer(many=True)},
        examples=[ex.response_example("A creator live now", 200, ex.CATCH_STREAMERS)],
    )
    def get(self, request):
        query = valid(LimitQuerySerializer, request.query_params)
        streams = _as_seen(request, streams_catching(query["limit"]))
        return Response(CatchStreamerSerializer(streams, many=True).data)


class MostWatchedCreatorsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Most watched creators",
        description=(
            "Creators by the distinct viewers of their streams over the last 30 days (their "
            "last join), the most first. " + OPTIONAL_TOKEN
        ),
        parameters=[LimitQuerySerializer],
        responses={200: CreatorCardSerializer(many=True)},
        examples=[
            ex.response_example("As a signed-in caller sees it", 200, ex.MOST_WATCHED_CREATORS)
        ],
    )
    def get(self, request):
        query = valid(LimitQuerySerializer, request.query_params)
        creators = creators_most_watched(limit=query["limit"], now=timezone.now())
        context = {"signed_in": request.user is not None}
        return Response(CreatorCardSerializer(creators, many=True, context=context).data)


class GuestStreamsView(APIView):
    @extend_schema(
        summary="Streams I am invited to",
        description="Streams listing the caller among their guests (at most 100), sorted.",
        parameters=[GuestStreamsQuerySerializer],
        responses={200: LiveStreamSerializer(many=True)},
        examples=[ex.response_example("A duo stream planned", 200, [ex.SCHEDULED_STREAM])],
    )
    def get(self, request):
        query = valid(GuestStreamsQuerySerializer, request.query_params)
        streams = _as_seen(request, streams_as_guest(request.user, **query))
        return Response(LiveStreamSerializer(streams, many=True).data)


class MyPastStreamsView(APIView):
    @extend_schema(
        summary="My past streams",
        description="The caller's ended streams, the latest end first (at most 100).",
        parameters=[PastStreamsQuerySerializer],
        responses={200: LiveStreamSerializer(many=True)},
        examples=[ex.response_example("A recorded stream", 200, [ex.ENDED_STREAM])],
    )
    def get(self, request):
        query = valid(PastStreamsQuerySerializer, request.query_params)
        streams = _as_seen(request, streams_past(request.user.pk, limit=query["limit"]))
        return Response(LiveStreamSerializer(streams, many=True).data)


class UserPastStreamsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="A user's past streams",
        description="The user's ended streams, the latest end first (at most 100). "
        + OPTIONAL_TOKEN,
        parameters=[PastStreamsQuerySerializer],
        responses={200: LiveStreamSerializer(many=True), 404: USER_NOT_FOUND},
        examples=[
            ex.response_example(
                "A replay to rent, as another user sees it", 200, [ex.ENDED_STREAM_SEEN]
            )
        ],
    )
    def get(self, request, user_id):
        query = valid(PastStreamsQuerySerializer, request.query_params)
        owner = user_active(path_id(user_id, "userId"))
        streams = _as_seen(request, streams_past(owner.pk, limit=query["limit"]))
        return Response(LiveStreamSerializer(streams, many=True).data)


def _upcoming(request, user_id: str, query: dict, unit: str) -> Response:
    owner = user_active(path_id(user_id, "userId"))
    streams = streams_upcoming(
        owner.pk,
        before=timedelta(**{unit: query["before"]}),
        after=timedelta(**{unit: query["after"]}),
        now=timezone.now(),
        limit=query["limit"],
    )
    streams = mark_reminders(_as_seen(request, streams), request.user)
    return Response(UpcomingLiveStreamSerializer(streams, many=True).data)


UPCOMING_EXAMPLE = ex.response_example(
    "Planned tomorrow, the caller holds a reminder", 200, [ex.UPCOMING_STREAM]
)
UPCOMING = (
    "Streams the user creates or is invited to: active and preparing whatever their "
    "dates, then scheduled ones planned within the window around now, soonest first. "
)


class UpcomingStreamsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="userUpcomingLiveStreams",
        summary="A user's upcoming streams",
        description=UPCOMING + "The window is in hours. " + OPTIONAL_TOKEN,
        parameters=[UpcomingQuerySerializer],
        responses={200: UpcomingLiveStreamSerializer(many=True), 404: USER_NOT_FOUND},
        examples=[UPCOMING_EXAMPLE],
    )
    def get(self, request, user_id):
        query = valid(UpcomingQuerySerializer, request.query_params)
        return _upcoming(request, user_id, query, "hours")


class UpcomingStreamsV2View(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="userUpcomingLiveStreamsV2",
        summary="A user's upcoming streams (minutes)",
        description=UPCOMING + "The window is in minutes. " + OPTIONAL_TOKEN,
        parameters=[UpcomingV2QuerySerializer],
        responses={200: UpcomingLiveStreamSerializer(many=True), 404: USER_NOT_FOUND},
        examples=[UPCOMING_EXAMPLE],
    )
    def get(self, request, user_id):
        query = valid(UpcomingV2QuerySerializer, request.query_params)
        return _upcoming(request, user_id, query, "minutes")
