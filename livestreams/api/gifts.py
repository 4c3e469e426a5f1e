"""Gifts (API-more §12): the gift types on offer, and sending one to a live stream."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core import examples as ex
from livestreams.api.common import valid
from livestreams.api.inputs import GiftCreateInputSerializer
from livestreams.api.room_serializers import GiftCreatedSerializer, GiftTypeSerializer
from livestreams.api.throttles import GiftThrottle
from livestreams.selectors.room import gift_types_offered
from livestreams.services.gifts import gift_send


class GiftTypesView(APIView):
    @extend_schema(
        operation_id="giftTypes",
        summary="Gift types",
        description="The gift types on offer (active), the cheapest first, then the oldest.",
        responses={200: GiftTypeSerializer(many=True)},
        examples=[ex.response_example("Three gift types", 200, ex.GIFT_TYPES)],
    )
    def get(self, request):
        return Response(GiftTypeSerializer(gift_types_offered(), many=True).data)


class GiftCreateView(APIView):
    throttle_classes = [GiftThrottle]

    @extend_schema(
        operation_id="giftCreate",
        summary="Send a gift",
        description=(
            "Sends one gift to an active stream the caller watches: its price is debited "
            "from the caller's credits (`gift_spend`) and shared with the creator and the "
            "guests (`gift_revenue`). A chat-only ban does not stop gifts."
        ),
        request=GiftCreateInputSerializer,
        responses={
            201: GiftCreatedSerializer,
            403: OpenApiResponse(
                description="The caller is banned (BLOCK), is the creator or a guest, or has "
                "not joined the stream."
            ),
            404: OpenApiResponse(description="No live stream or no gift type has this id."),
            409: OpenApiResponse(
                description="The stream is not active, the gift type is deactivated, or the "
                "caller's credits do not cover its price."
            ),
        },
        examples=[
            ex.request_example("A heart to the stream", ex.GIFT_REQUEST),
            ex.response_example("The gift sent", 201, ex.GIFT_CREATED),
        ],
    )
    def post(self, request):
        data = valid(GiftCreateInputSerializer, request.data)
        gift = gift_send(user=request.user, **data)
        return Response(GiftCreatedSerializer(gift).data, status=status.HTTP_201_CREATED)
