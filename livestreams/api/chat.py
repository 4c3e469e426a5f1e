"""A stream's chat (API-more §8): sending a message, reading the history, sending
a superlike. Who may do what is the policy of `livestreams.policy`; the services
of `livestreams.services.chat` enforce it, and publish each message into the
stream's Signaling (RTM) channel after the commit."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from allmine.core.examples import STREAM_ID, VIEWER, enveloped
from allmine.core.fields import TIMESTAMP_EXAMPLE
from allmine.core.pagination import MAX_LIMIT, PageQuerySerializer, page_request
from allmine.core.views import atomic_response
from livestreams.api.chat_serializers import (
    SNAPSHOT_PHOTO_EDGE,
    ChatMessageSerializer,
    ChatPageSerializer,
    SuperlikeSerializer,
)
from livestreams.api.common import path_id, valid
from livestreams.api.inputs import ChatMessageInputSerializer
from livestreams.api.throttles import ChatThrottle, SuperlikeThrottle
from livestreams.policy import StreamAction
from livestreams.selectors.chat import chat_history
from livestreams.services.access import stream_where_may
from livestreams.services.chat import chat_message_send, superlike_send

# §8.2: the history's own default.
CHAT_PAGE_LIMIT = 30

_MESSAGE = {
    "_id": "65f1c2a9e4b0a1b2c3d4e5b2",
    "streamId": STREAM_ID,
    "content": "Merhaba!",
    "sender": VIEWER,
    "createdAt": TIMESTAMP_EXAMPLE,
    "updatedAt": TIMESTAMP_EXAMPLE,
}


CHANNEL = (
    "Live delivery goes over the stream's Signaling (RTM) channel, not this API: after "
    "the commit the server publishes "
    '`{"type": "chatMessage", "data": <the message as answered here>}` there, and '
    '`{"type": "chatMessageRemoved", "data": {"_id", "streamId"}}` when a moderator '
    "removes one."
)
BANNED_OR_NOT_A_MEMBER = OpenApiResponse(
    description="The caller is banned (BLOCK or CHAT_ONLY) or is not the creator, a guest or "
    "an audience member (who joined) of the stream."
)


class ChatMessagesView(APIView):
    def get_throttles(self):
        # §6.5 limits sending; reading the history is not throttled.
        return [ChatThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        operation_id="liveStreamChatMessages",
        summary="Chat history",
        description=(
            "The stream's chat messages, the newest first (page 1 is the latest; ties by "
            f"`_id`), `limit` {CHAT_PAGE_LIMIT} by default (at most {MAX_LIMIT}); messages a "
            "moderator removed are not shown. In any status; not to a user banned (BLOCK) "
            "from the stream. This page has its own shape, not `{list, pagination}`."
        ),
        parameters=[PageQuerySerializer],
        responses={
            200: ChatPageSerializer,
            403: OpenApiResponse(description="The caller is banned (BLOCK) from this stream."),
        },
        examples=[
            OpenApiExample(
                "A page of the history",
                value=enveloped(
                    200,
                    {
                        "messages": [_MESSAGE],
                        "page": 1,
                        "limit": CHAT_PAGE_LIMIT,
                        "total": 1,
                        "totalPages": 1,
                        "hasNextPage": False,
                        "hasPreviousPage": False,
                    },
                ),
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request, stream_id):
        stream_id = path_id(stream_id, "streamId")
        number, limit = page_request(request.query_params, CHAT_PAGE_LIMIT)
        stream = stream_where_may(request.user, stream_id, StreamAction.READ_ROOM)
        page = chat_history(stream, page=number, limit=limit)
        return Response(ChatPageSerializer(page).data)

    @extend_schema(
        operation_id="liveStreamChatSend",
        summary="Send a chat message",
        description=(
            "Stores a chat message from the caller in an active stream they are a member of "
            "(the creator, a guest, or an audience member who joined), as plain text. " + CHANNEL
        ),
        request=ChatMessageInputSerializer,
        responses={
            201: ChatMessageSerializer,
            403: BANNED_OR_NOT_A_MEMBER,
            409: OpenApiResponse(description="The stream is not active."),
        },
        examples=[
            OpenApiExample("A message", value={"content": "Merhaba!"}, request_only=True),
            OpenApiExample(
                "The message stored",
                value=enveloped(201, _MESSAGE),
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @atomic_response
    def post(self, request, stream_id):
        stream_id = path_id(stream_id, "streamId")
        data = valid(ChatMessageInputSerializer, request.data)
        message = chat_message_send(
            user=request.user, live_stream_id=stream_id, content=data["content"]
        )
        return Response(ChatMessageSerializer(message).data, status=status.HTTP_201_CREATED)


class SuperlikeView(APIView):
    throttle_classes = [SuperlikeThrottle]

    @extend_schema(
        operation_id="liveStreamChatSuperlike",
        summary="Send a superlike",
        description=(
            "A paid message: SUPERLIKE_PRICE credits (10 by default) are debited from the "
            "caller (`superlike_spend`) and shared with the creator and the guests "
            "(`superlike_revenue`), as gifts are. Each call is a new, charged superlike (apps "
            "debounce taps). An audience member of an active stream only: not the creator, a "
            "guest, or a user banned (BLOCK or CHAT_ONLY). No body; one that is sent is "
            "ignored. `senderSnapshot.profilePhoto` is a URL string (the "
            f'"{SNAPSHOT_PHOTO_EDGE}" variant, else the original) or null. After the commit '
            'the server publishes `{"type": "superlike", "data": <this object>}` in the '
            "stream's Signaling channel."
        ),
        request=None,
        responses={
            201: SuperlikeSerializer,
            403: OpenApiResponse(
                description="The caller is banned (BLOCK or CHAT_ONLY), is the creator or a "
                "guest, or has not joined the stream."
            ),
            409: OpenApiResponse(
                description="The stream is not active, or the caller's credits do not cover "
                "the price."
            ),
        },
        examples=[
            OpenApiExample(
                "The superlike sent",
                value=enveloped(
                    201,
                    {
                        "streamId": STREAM_ID,
                        "senderId": VIEWER["_id"],
                        "senderSnapshot": {
                            key: VIEWER[key] for key in ("_id", "username", "name", "surname")
                        }
                        | {"profilePhoto": None},
                        "price": 10,
                        "timestamp": TIMESTAMP_EXAMPLE,
                    },
                ),
                response_only=True,
                status_codes=["201"],
            )
        ],
    )
    @atomic_response
    def post(self, request, stream_id):
        superlike = superlike_send(user=request.user, live_stream_id=path_id(stream_id, "streamId"))
        return Response(SuperlikeSerializer(superlike).data, status=status.HTTP_201_CREATED)
