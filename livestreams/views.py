"""The live stream API. Each view parses, calls a service, and renders."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.images import process_uploaded_image
from livestreams import services
from livestreams.serializers import (
    LiveStreamCreateInputSerializer,
    LiveStreamIdInputSerializer,
    LiveStreamSerializer,
)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _join_response(result: services.JoinResult) -> Response:
    return Response(
        {"liveStream": LiveStreamSerializer(result.live_stream).data, **result.credentials}
    )


class LiveStreamCreateView(APIView):
    def post(self, request):
        data = dict(_valid(LiveStreamCreateInputSerializer, request))
        upload = data.pop("thumbnail", None)
        thumbnail = process_uploaded_image(upload, "thumbnail") if upload is not None else None
        stream = services.livestream_create(creator=request.user, thumbnail=thumbnail, **data)
        return Response(LiveStreamSerializer(stream).data, status=status.HTTP_201_CREATED)


class JoinAsCreatorView(APIView):
    def post(self, request):
        data = _valid(LiveStreamIdInputSerializer, request)
        return _join_response(services.livestream_join_as_creator(user=request.user, **data))


class JoinAsGuestView(APIView):
    def post(self, request):
        data = _valid(LiveStreamIdInputSerializer, request)
        return _join_response(services.livestream_join_as_guest(user=request.user, **data))
