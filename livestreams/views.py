"""The live stream API. Each view parses, calls a service or a selector, and renders."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.exceptions import ValidationFailed
from allmine.http import client_ip
from allmine.ids import is_object_id
from allmine.images import process_uploaded_image
from allmine.pagination import paginate
from allmine.schema_serializers import (
    CredentialsSerializer,
    FundResponseSerializer,
    JoinResponseSerializer,
    LeaveResponseSerializer,
    LiveStreamCreateJsonInputSerializer,
    LiveStreamDeletedSerializer,
    LiveStreamPageSerializer,
    PageQuerySerializer,
    ViewerCountSerializer,
)
from allmine.throttling import CreateThrottle, JoinThrottle, RenewThrottle
from livestreams import selectors, services
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

    @extend_schema(
        summary="Create a live stream",
        description=(
            "Creates a stream owned by the caller and returns it (`role` host). "
            "Multipart (with an optional `thumbnail` image file) or JSON. Without a "
            "thumbnail the default one is used; with a `price` above 0 the stream is "
            "paid, else free. `guests` is a JSON array string or the field repeated.\n\n"
            "Canlı yayın kaydını döner. Thumbnail dosyası opsiyoneldir, gönderilmezse "
            "varsayılan thumbnail kullanılır. Price varsa yayın ücretli, yoksa ücretsiz olur."
        ),
        request={
            "multipart/form-data": LiveStreamCreateInputSerializer,
            "application/json": LiveStreamCreateJsonInputSerializer,
        },
        responses={
            201: LiveStreamSerializer,
            409: OpenApiResponse(
                description="The caller already has a stream that is preparing or active."
            ),
        },
    )
    def post(self, request):
        data = _valid(LiveStreamCreateInputSerializer, request.data)
        upload = data.pop("thumbnail", None)
        thumbnail = process_uploaded_image(upload, "thumbnail") if upload is not None else None
        stream = services.livestream_create(creator=request.user, thumbnail=thumbnail, **data)
        return Response(_stream_data(stream), status=status.HTTP_201_CREATED)


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
        data = _valid(LiveStreamIdInputSerializer, request.data)
        return _join_response(services.livestream_join_as_creator(user=request.user, **data))


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
        data = _valid(LiveStreamIdInputSerializer, request.data)
        return _join_response(services.livestream_join_as_guest(user=request.user, **data))


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
        data = _valid(AudienceJoinInputSerializer, request.data)
        stream_id = data.pop("live_stream_id")
        result = services.livestream_join_as_audience(
            user=request.user, live_stream_id=stream_id, device=data, ip_address=client_ip(request)
        )
        return _join_response(result)


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
        data = _valid(LiveStreamIdInputSerializer, request.data)
        return Response(services.livestream_renew_token(user=request.user, **data))


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
        data = _valid(LiveStreamIdInputSerializer, request.data)
        return Response(services.livestream_leave(user=request.user, **data))


# --- Reading streams ----------------------------------------------------------------


class LiveStreamListView(APIView):
    @extend_schema(
        summary="List live streams",
        description="Streams, newest first, filtered by status, interest or creator.",
        parameters=[StreamListFilterSerializer, PageQuerySerializer],
        responses={200: LiveStreamPageSerializer},
    )
    def get(self, request):
        filters = _valid(StreamListFilterSerializer, request.query_params)
        return _stream_page(request, selectors.streams_filtered(**filters))


class FundedStreamsView(APIView):
    @extend_schema(
        summary="Streams I funded",
        description="Scheduled streams the caller has funded, soonest first.",
        parameters=[PageQuerySerializer],
        responses={200: LiveStreamPageSerializer},
    )
    def get(self, request):
        return _stream_page(request, selectors.streams_funded_by(request.user))


class MyReplayRentalsView(APIView):
    @extend_schema(
        summary="My replay rentals",
        description="Streams whose replay the caller has rented, latest rental first.",
        parameters=[PageQuerySerializer],
        responses={200: LiveStreamPageSerializer},
    )
    def get(self, request):
        return _stream_page(request, selectors.streams_rented_by(request.user))


class LiveStreamDetailView(APIView):
    @extend_schema(
        operation_id="liveStreamRetrieve",
        summary="A live stream",
        responses={200: LiveStreamSerializer},
    )
    def get(self, request, live_stream_id):
        stream = selectors.stream_visible(_path_id(live_stream_id))
        selectors.prepare_for_viewer([stream], request.user, timezone.now())
        return Response(_stream_data(stream))

    @extend_schema(
        operation_id="liveStreamDelete",
        summary="Delete a live stream",
        description=(
            "Removes the stream (a soft delete); funding of a stream that has not started is "
            "refunded. Its creator or a moderator."
        ),
        responses={
            200: LiveStreamDeletedSerializer,
            403: OpenApiResponse(description="Only the creator or a moderator."),
            409: OpenApiResponse(
                description="An active stream cannot be deleted by its creator; end it first."
            ),
        },
    )
    def delete(self, request, live_stream_id):
        services.livestream_remove(actor=request.user, live_stream_id=_path_id(live_stream_id))
        return Response({"id": live_stream_id, "deleted": True})


class ViewerCountView(APIView):
    @extend_schema(
        summary="Viewer count",
        description="How many audience members are watching now.",
        responses={200: ViewerCountSerializer},
    )
    def get(self, request, live_stream_id):
        stream = selectors.stream_visible(_path_id(live_stream_id))
        return Response({"streamId": stream.pk, "viewerCount": selectors.viewer_count(stream)})


class ReplayStatusView(APIView):
    @extend_schema(
        summary="My replay access",
        description="The caller's replay access to this stream.",
        responses={200: ReplayAccessSerializer},
    )
    def get(self, request, live_stream_id):
        stream = selectors.stream_visible(_path_id(live_stream_id))
        selectors.prepare_for_viewer([stream], request.user, timezone.now())
        return Response(ReplayAccessSerializer(stream.viewer_replay).data)


# --- The creator's and the moderators' actions ----------------------------------------


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
        stream = services.livestream_end(
            actor=request.user, live_stream_id=_path_id(live_stream_id)
        )
        return Response(_stream_data(stream))


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
        stream = services.livestream_cancel(
            actor=request.user, live_stream_id=_path_id(live_stream_id)
        )
        return Response(_stream_data(stream))


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
    def patch(self, request, live_stream_id):
        changes = _valid(ReplaySettingsInputSerializer, request.data)
        stream = services.livestream_update_replay_settings(
            actor=request.user, live_stream_id=_path_id(live_stream_id), **changes
        )
        return Response(_stream_data(stream))


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
        stream = services.replay_rent(user=request.user, live_stream_id=_path_id(live_stream_id))
        return Response(ReplayAccessSerializer(stream.viewer_replay).data)


# --- Bans -------------------------------------------------------------------------


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
        data = _valid(BanListFilterSerializer, request.query_params)
        stream = selectors.stream_visible(data["live_stream_id"])
        services.ensure_can_manage(request.user, stream)
        bans = selectors.bans_in_force(stream)
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
    def post(self, request):
        data = _valid(BanCreateInputSerializer, request.data)
        ban = services.ban_create(actor=request.user, **data)
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
        ban = services.ban_lift(actor=request.user, ban_id=_path_id(ban_id))
        return Response(BanSerializer(ban).data)
