"""The live stream API. Each view parses, calls a service or a selector, and renders."""

from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.exceptions import ValidationFailed
from allmine.http import client_ip
from allmine.ids import is_object_id
from allmine.images import process_uploaded_image
from allmine.pagination import paginate
from allmine.throttling import CreateThrottle, JoinThrottle, RenewThrottle
from livestreams import selectors, services
from livestreams.models import LiveStreamBan
from livestreams.serializers import (
    AudienceJoinInputSerializer,
    BanCreateInputSerializer,
    BanListFilterSerializer,
    BanSerializer,
    ContributionSerializer,
    FundInputSerializer,
    LiveStreamCreateInputSerializer,
    LiveStreamIdInputSerializer,
    LiveStreamSerializer,
    ReplayAccessSerializer,
    ReplaySettingsInputSerializer,
    StreamListFilterSerializer,
)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _path_id(value: str, name: str = "id") -> str:
    if not is_object_id(value):
        raise ValidationFailed.field(name, "Must be a 24-character hexadecimal id.")
    return value


def _stream_data(stream) -> dict:
    return LiveStreamSerializer(stream).data


def _stream_page(request, queryset) -> Response:
    page = paginate(queryset, request.query_params)
    streams = selectors.prepare_for_viewer(page.items, request.user, timezone.now())
    return Response(page.as_data(LiveStreamSerializer(streams, many=True).data))


def _join_response(result: services.JoinResult) -> Response:
    return Response({"liveStream": _stream_data(result.live_stream), **result.credentials})


# --- Broadcasters and audience ------------------------------------------------------


class LiveStreamCreateView(APIView):
    throttle_classes = [CreateThrottle]

    def post(self, request):
        data = _valid(LiveStreamCreateInputSerializer, request.data)
        upload = data.pop("thumbnail", None)
        thumbnail = process_uploaded_image(upload, "thumbnail") if upload is not None else None
        stream = services.livestream_create(creator=request.user, thumbnail=thumbnail, **data)
        return Response(_stream_data(stream), status=status.HTTP_201_CREATED)


class JoinAsCreatorView(APIView):
    throttle_classes = [JoinThrottle]

    def post(self, request):
        data = _valid(LiveStreamIdInputSerializer, request.data)
        return _join_response(services.livestream_join_as_creator(user=request.user, **data))


class JoinAsGuestView(APIView):
    throttle_classes = [JoinThrottle]

    def post(self, request):
        data = _valid(LiveStreamIdInputSerializer, request.data)
        return _join_response(services.livestream_join_as_guest(user=request.user, **data))


class JoinAsAudienceView(APIView):
    throttle_classes = [JoinThrottle]

    def post(self, request):
        data = _valid(AudienceJoinInputSerializer, request.data)
        stream_id = data.pop("live_stream_id")
        result = services.livestream_join_as_audience(
            user=request.user, live_stream_id=stream_id, device=data, ip_address=client_ip(request)
        )
        return _join_response(result)


class RenewTokenView(APIView):
    throttle_classes = [RenewThrottle]

    def post(self, request):
        data = _valid(LiveStreamIdInputSerializer, request.data)
        return Response(services.livestream_renew_token(user=request.user, **data))


class LeaveView(APIView):
    def post(self, request):
        data = _valid(LiveStreamIdInputSerializer, request.data)
        return Response(services.livestream_leave(user=request.user, **data))


# --- Reading streams ----------------------------------------------------------------


class LiveStreamListView(APIView):
    def get(self, request):
        filters = _valid(StreamListFilterSerializer, request.query_params)
        return _stream_page(request, selectors.streams_filtered(**filters))


class FundedStreamsView(APIView):
    def get(self, request):
        return _stream_page(request, selectors.streams_funded_by(request.user))


class MyReplayRentalsView(APIView):
    def get(self, request):
        return _stream_page(request, selectors.streams_rented_by(request.user))


class LiveStreamDetailView(APIView):
    def get(self, request, live_stream_id):
        stream = selectors.stream_visible(_path_id(live_stream_id))
        selectors.prepare_for_viewer([stream], request.user, timezone.now())
        return Response(_stream_data(stream))

    def delete(self, request, live_stream_id):
        services.livestream_remove(actor=request.user, live_stream_id=_path_id(live_stream_id))
        return Response({"id": live_stream_id, "deleted": True})


class ViewerCountView(APIView):
    def get(self, request, live_stream_id):
        stream = selectors.stream_visible(_path_id(live_stream_id))
        return Response({"streamId": stream.pk, "viewerCount": selectors.viewer_count(stream)})


class ReplayStatusView(APIView):
    def get(self, request, live_stream_id):
        stream = selectors.stream_visible(_path_id(live_stream_id))
        selectors.prepare_for_viewer([stream], request.user, timezone.now())
        return Response(ReplayAccessSerializer(stream.viewer_replay).data)


# --- The creator's and the moderators' actions ----------------------------------------


class EndView(APIView):
    def post(self, request, live_stream_id):
        stream = services.livestream_end(
            actor=request.user, live_stream_id=_path_id(live_stream_id)
        )
        return Response(_stream_data(stream))


class CancelView(APIView):
    def post(self, request, live_stream_id):
        stream = services.livestream_cancel(
            actor=request.user, live_stream_id=_path_id(live_stream_id)
        )
        return Response(_stream_data(stream))


class ReplaySettingsView(APIView):
    def patch(self, request, live_stream_id):
        changes = _valid(ReplaySettingsInputSerializer, request.data)
        stream = services.livestream_update_replay_settings(
            actor=request.user, live_stream_id=_path_id(live_stream_id), **changes
        )
        return Response(_stream_data(stream))


class FundView(APIView):
    def post(self, request, live_stream_id):
        data = _valid(FundInputSerializer, request.data)
        contribution, stream = services.livestream_fund(
            user=request.user, live_stream_id=_path_id(live_stream_id), amount=data["amount"]
        )
        return Response(
            {
                "contribution": ContributionSerializer(contribution).data,
                "liveStream": _stream_data(stream),
            },
            status=status.HTTP_201_CREATED,
        )


class ReplayRentalsView(APIView):
    def post(self, request, live_stream_id):
        stream = services.replay_rent(user=request.user, live_stream_id=_path_id(live_stream_id))
        return Response(ReplayAccessSerializer(stream.viewer_replay).data)


# --- Bans -------------------------------------------------------------------------


class BansView(APIView):
    def get(self, request):
        data = _valid(BanListFilterSerializer, request.query_params)
        stream = selectors.stream_visible(data["live_stream_id"])
        services.ensure_can_manage(request.user, stream)
        bans = LiveStreamBan.objects.in_force().filter(live_stream=stream).order_by("-created_at")
        return Response(BanSerializer(bans, many=True).data)

    def post(self, request):
        data = _valid(BanCreateInputSerializer, request.data)
        ban = services.ban_create(actor=request.user, **data)
        return Response(BanSerializer(ban).data, status=status.HTTP_201_CREATED)


class BanDetailView(APIView):
    def delete(self, request, ban_id):
        ban = services.ban_lift(actor=request.user, ban_id=_path_id(ban_id))
        return Response(BanSerializer(ban).data)
