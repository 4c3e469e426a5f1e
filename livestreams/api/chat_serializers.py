"""What the chat's endpoints render (API-more §8), and what the server publishes
into a stream's Signaling channel: the same objects, so an app reads one shape
from the API and from the channel."""

import json

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from allmine.core.fields import IdField, MoneyField, TimestampField, UrlField
from allmine.core.media import media_url
from allmine.core.pagination import MAX_LIMIT
from livestreams.models import RtmEvent, RtmMessage

# The profile photo variant a superlike's sender snapshot shows (§8.3).
SNAPSHOT_PHOTO_EDGE = "76"


# Renders a `ChatMessage` (its sender loaded with the sender's photo).
class ChatMessageSerializer(serializers.Serializer):
    _id = IdField(source="id")
    streamId = IdField(source="live_stream_id")
    content = serializers.CharField(help_text="Plain text as sent, trimmed; render no markup.")
    sender = UserSummarySerializer()
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")


# Renders `allmine.core.pagination.Page` of `ChatMessage` in §8.2's own shape.
class ChatPageSerializer(serializers.Serializer):
    messages = ChatMessageSerializer(many=True, source="items")
    page = serializers.IntegerField(source="number", min_value=1)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT)
    total = serializers.IntegerField(min_value=0, help_text="Messages shown in the history.")
    totalPages = serializers.IntegerField(source="total_pages", min_value=0)
    hasNextPage = serializers.BooleanField(source="has_next", help_text="Older messages follow.")
    hasPreviousPage = serializers.BooleanField(source="has_prev")


class SenderSnapshotSerializer(serializers.Serializer):
    _id = IdField(source="id")
    username = serializers.CharField()
    name = serializers.CharField()
    surname = serializers.CharField()
    profilePhoto = serializers.SerializerMethodField()

    @extend_schema_field(
        UrlField(
            allow_null=True,
            help_text=f'The "{SNAPSHOT_PHOTO_EDGE}" variant, else the original, else null.',
        )
    )
    def get_profilePhoto(self, user) -> str | None:
        try:
            photo = user.profile_photo
        except ObjectDoesNotExist:
            return None
        name = (photo.variants or {}).get(SNAPSHOT_PHOTO_EDGE) or photo.original
        return media_url(name) if name else None


# Renders a `Superlike` (its sender loaded with the sender's photo).
class SuperlikeSerializer(serializers.Serializer):
    streamId = IdField(source="live_stream_id")
    senderId = IdField(source="sender_id")
    senderSnapshot = SenderSnapshotSerializer(source="sender")
    price = MoneyField(help_text="Credits debited (SUPERLIKE_PRICE).")
    timestamp = TimestampField(source="created_at")


# Renders a removed `ChatMessage` as the channel announces it.
class ChatMessageRemovedSerializer(serializers.Serializer):
    _id = IdField(source="id")
    streamId = IdField(source="live_stream_id")


RTM_RENDERERS = {
    RtmEvent.CHAT_MESSAGE: (ChatMessageSerializer, "chat_message"),
    RtmEvent.CHAT_MESSAGE_REMOVED: (ChatMessageRemovedSerializer, "chat_message"),
    RtmEvent.SUPERLIKE: (SuperlikeSerializer, "superlike"),
}


def rtm_payload(message: RtmMessage) -> str:
    """The JSON published in the stream's Signaling channel:
    `{"type": "chatMessage" | "chatMessageRemoved" | "superlike", "data": {...}}`,
    `data` being the object as the API returns it."""
    serializer, subject = RTM_RENDERERS[RtmEvent(message.event)]
    data = serializer(getattr(message, subject)).data
    return json.dumps({"type": message.event, "data": data}, ensure_ascii=False)
