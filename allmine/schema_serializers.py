"""Serializers that only describe responses in the OpenAPI schema.

The views build these shapes as dicts (join credentials, renewals, leave, the
paginated lists, ...); these classes give them a name and types in the schema and
are never used to render a response. `allmine.openapi` wraps every one of them in
the envelope.
"""

from rest_framework import serializers

from accounts.serializers import CreditTransactionSerializer, MeSerializer
from allmine.fields import TimestampField
from allmine.pagination import DEFAULT_LIMIT, MAX_LIMIT
from livestreams.serializers import (
    ContributionSerializer,
    LiveStreamCreateInputSerializer,
    LiveStreamSerializer,
)

AGORA_ROLES = ["host", "audience"]
STREAM_ROLES = ["host", "guest", "audience"]
PROBE_STATES = ["ok", "unavailable"]


# --- Parts of a live stream ---------------------------------------------------------


class BroadcasterSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="The broadcaster's user id.")
    role = serializers.ChoiceField(choices=["host", "guest"])
    uid = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        max_value=2**32 - 1,
        help_text="The Agora uid; null until this broadcaster has joined.",
    )
    hasJoined = serializers.BooleanField()
    joinedAt = TimestampField(allow_null=True)


# --- Agora credentials (§2, in join and renew responses) ------------------------------


class AgoraCredentialsSerializer(serializers.Serializer):
    appId = serializers.CharField(help_text="The Agora App ID (32 hexadecimal characters).")
    channelName = serializers.CharField()
    token = serializers.CharField(help_text="An AccessToken (version 006) for RTC.")
    uid = serializers.IntegerField(min_value=1, max_value=2**32 - 1)
    role = serializers.ChoiceField(
        choices=AGORA_ROLES, help_text="host: a publisher token; audience: a subscriber token."
    )
    expiresAt = TimestampField(help_text="When the token's privileges end.")


class RtmCredentialsSerializer(serializers.Serializer):
    appId = serializers.CharField()
    channelName = serializers.CharField()
    userId = serializers.CharField(help_text="The caller's `_id`.")
    token = serializers.CharField(help_text="An AccessToken (version 006) for RTM.")
    expiresAt = TimestampField()


class CredentialsSerializer(serializers.Serializer):
    agora = AgoraCredentialsSerializer()
    rtm = RtmCredentialsSerializer()


class JoinResponseSerializer(serializers.Serializer):
    liveStream = LiveStreamSerializer()
    agora = AgoraCredentialsSerializer()
    rtm = RtmCredentialsSerializer()


class LeaveResponseSerializer(serializers.Serializer):
    liveStreamId = serializers.CharField()
    role = serializers.ChoiceField(choices=STREAM_ROLES)
    watchSeconds = serializers.IntegerField(
        allow_null=True, min_value=0, help_text="The audience's total watch time; null otherwise."
    )


class ViewerCountSerializer(serializers.Serializer):
    streamId = serializers.CharField()
    viewerCount = serializers.IntegerField(min_value=0)


class LiveStreamDeletedSerializer(serializers.Serializer):
    id = serializers.CharField()
    deleted = serializers.BooleanField()


class FundResponseSerializer(serializers.Serializer):
    contribution = ContributionSerializer()
    liveStream = LiveStreamSerializer()


class LiveStreamCreateJsonInputSerializer(LiveStreamCreateInputSerializer):
    """The create body as JSON: the same fields, without the thumbnail file."""

    thumbnail = None


# --- Paginated lists ------------------------------------------------------------------


class PaginationSerializer(serializers.Serializer):
    currentPage = serializers.IntegerField(min_value=1)
    totalPages = serializers.IntegerField(min_value=0)
    totalItems = serializers.IntegerField(min_value=0)
    itemsPerPage = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT)
    hasNextPage = serializers.BooleanField()
    hasPrevPage = serializers.BooleanField()


class PageQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(
        required=False, default=1, help_text="The page number (below 1 counts as 1)."
    )
    limit = serializers.IntegerField(
        required=False,
        default=DEFAULT_LIMIT,
        help_text=f"Items per page, {DEFAULT_LIMIT} by default, at most {MAX_LIMIT}.",
    )


class LiveStreamPageSerializer(serializers.Serializer):
    list = LiveStreamSerializer(many=True)
    pagination = PaginationSerializer()


class CreditTransactionPageSerializer(serializers.Serializer):
    list = CreditTransactionSerializer(many=True)
    pagination = PaginationSerializer()


# --- Accounts and operations ----------------------------------------------------------


class AuthSessionSerializer(serializers.Serializer):
    accessToken = serializers.CharField(help_text="A JWT; send it as `Authorization: Bearer`.")
    refreshToken = serializers.CharField(help_text="Exchange it at /auth/refresh; single use.")
    expiresIn = serializers.IntegerField(help_text="Seconds the access token lives.")
    refreshExpiresIn = serializers.IntegerField(help_text="Seconds the refresh token lives.")
    user = MeSerializer()


class LogoutResponseSerializer(serializers.Serializer):
    loggedOut = serializers.BooleanField()


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])
    database = serializers.ChoiceField(choices=["ok"])
    cache = serializers.ChoiceField(choices=PROBE_STATES)
    storage = serializers.ChoiceField(choices=PROBE_STATES)


# --- Agora's Notification Center (the webhook) -----------------------------------------


class AgoraNoticeSerializer(serializers.Serializer):
    noticeId = serializers.CharField(
        max_length=128, help_text="Unique per notice; retries repeat it."
    )
    productId = serializers.IntegerField(required=False, help_text="1 for RTC channel events.")
    eventType = serializers.IntegerField(
        help_text="101/102 channel created/destroyed, 103/104 broadcaster joined/left, "
        "105/106 audience joined/left, 111/112 became broadcaster/audience."
    )
    notifyMs = serializers.IntegerField(required=False, min_value=0)
    payload = serializers.DictField(
        help_text="channelName, uid, clientSeq (ordering per user), ts (seconds), ..."
    )


class AgoraNoticeResponseSerializer(serializers.Serializer):
    noticeId = serializers.CharField()
    outcome = serializers.CharField(help_text="What the notice did; `duplicate` if seen before.")
