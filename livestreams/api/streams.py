"""Creating and reading streams: create, the lists, a stream, its viewer count,
the caller's replay access, and deleting it."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core.images import process_uploaded_image
from allmine.core.pagination import PageQuerySerializer
from allmine.core.representation import represent
from allmine.core.throttling import UPLOAD_THROTTLES, CreateThrottle
from allmine.core.views import atomic_response
from livestreams.api.common import (
    ARRAY_HEADERS,
    ArrayPageQuerySerializer,
    path_id,
    render_snapshot,
    stream_array,
    stream_page,
    valid,
    valid_query,
)
from livestreams.api.inputs import (
    LiveStreamCreateInputSerializer,
    LiveStreamCreateJsonInputSerializer,
    StreamListFilterSerializer,
)
from livestreams.api.serializers import (
    LiveStreamDeletedSerializer,
    LiveStreamPageSerializer,
    LiveStreamSerializer,
    ReplayAccessSerializer,
    ViewerCountSerializer,
)
from livestreams.selectors.snapshots import (
    caller_view,
    stream_snapshot,
    viewer_count_now,
)
from livestreams.selectors.streams import (
    stream_visible,
    streams_filtered,
    streams_funded_by,
    streams_rented_by,
)
from livestreams.selectors.viewing import prepare_for_viewer
from livestreams.services.creation import livestream_create
from livestreams.services.moderation import livestream_remove


class LiveStreamCreateView(APIView):
    throttle_classes = [CreateThrottle, *UPLOAD_THROTTLES]

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
    @atomic_response
    def post(self, request):
        data = valid(LiveStreamCreateInputSerializer, request.data)
        upload = data.pop("thumbnail", None)
        thumbnail = process_uploaded_image(upload, "thumbnail") if upload is not None else None
        stream = livestream_create(creator=request.user, thumbnail=thumbnail, **data)
        return Response(LiveStreamSerializer(stream).data, status=status.HTTP_201_CREATED)


class LiveStreamListView(APIView):
    @extend_schema(
        summary="List live streams",
        description=(
            "Streams, newest first, filtered by status, interest or creator: an array of "
            "one page; the total is in `X-Total-Count` and the neighbouring pages in `Link`."
        ),
        parameters=[StreamListFilterSerializer, ArrayPageQuerySerializer, *ARRAY_HEADERS],
        responses={200: LiveStreamSerializer(many=True)},
    )
    def get(self, request):
        filters = valid_query(StreamListFilterSerializer, request.query_params)
        return stream_array(request, streams_filtered(**filters))


class FundedStreamsView(APIView):
    @extend_schema(
        summary="Streams I funded",
        description=(
            "Scheduled streams the caller has funded, soonest first: an array of one page; "
            "the total is in `X-Total-Count` and the neighbouring pages in `Link`."
        ),
        parameters=[ArrayPageQuerySerializer, *ARRAY_HEADERS],
        responses={200: LiveStreamSerializer(many=True)},
    )
    def get(self, request):
        return stream_array(request, streams_funded_by(request.user))


class MyReplayRentalsView(APIView):
    @extend_schema(
        summary="My replay rentals",
        description="Streams whose replay the caller has rented, latest rental first.",
        parameters=[PageQuerySerializer],
        responses={200: LiveStreamPageSerializer},
    )
    def get(self, request):
        return stream_page(request, streams_rented_by(request.user))


class LiveStreamDetailView(APIView):
    @extend_schema(
        operation_id="liveStreamRetrieve",
        summary="A live stream",
        responses={200: LiveStreamSerializer},
    )
    def get(self, request, live_stream_id):
        # The cached snapshot, and the caller's part on top: one query on a hit.
        snapshot = stream_snapshot(path_id(live_stream_id))
        view = caller_view(snapshot, request.user, timezone.now())
        return Response(render_snapshot(snapshot, view))

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
        livestream_remove(actor=request.user, live_stream_id=path_id(live_stream_id))
        return Response(LiveStreamDeletedSerializer({"id": live_stream_id, "deleted": True}).data)


class ViewerCountView(APIView):
    @extend_schema(
        summary="Viewer count",
        description="How many audience members are watching now.",
        responses={200: ViewerCountSerializer},
    )
    def get(self, request, live_stream_id):
        stream_id = path_id(live_stream_id)
        # The kept count, cached: no query on a hit.
        counted = {"stream_id": stream_id, "viewer_count": viewer_count_now(stream_id)}
        return Response(represent(ViewerCountSerializer, counted))


class ReplayStatusView(APIView):
    @extend_schema(
        summary="My replay access",
        description="The caller's replay access to this stream.",
        responses={200: ReplayAccessSerializer},
    )
    def get(self, request, live_stream_id):
        stream = stream_visible(path_id(live_stream_id))
        prepare_for_viewer([stream], request.user, timezone.now())
        return Response(ReplayAccessSerializer(stream.viewer_replay).data)
