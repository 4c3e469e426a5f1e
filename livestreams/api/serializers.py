"""What the live-stream API renders: each response shape has one serializer,
which both renders it and documents it in the OpenAPI schema."""

from typing import TypedDict

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserSummarySerializer
from allmine.core.fields import (
    IdField,
    MoneyField,
    TimestampField,
    UrlField,
    money_to_json,
)
from allmine.core.media import media_url, static_file_url
from allmine.core.pagination import page_serializer
from livestreams.lifecycle import AccessType, LiveStreamStatus, Role
from livestreams.models import BanAction, ContributionStatus, LiveStreamType, MiniCrowdFundingStatus
from livestreams.selectors.viewing import funding_percentage


class _UidRange(TypedDict):
    min_value: int
    max_value: int


AGORA_UID: _UidRange = {"min_value": 1, "max_value": 2**32 - 1}
REPLAY_ACCESS_STATUSES = ["owner", "guest", "rented", "expired", "none"]


# Renders `selectors.viewing.ReplayAccessState`.
class ReplayAccessSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=REPLAY_ACCESS_STATUSES)
    canRent = serializers.BooleanField(source="can_rent")
    canViewRecording = serializers.BooleanField(source="can_view_recording")
    price = MoneyField(allow_null=True)
    rentedAt = TimestampField(source="rented_at", allow_null=True)
    expiresAt = TimestampField(source="expires_at", allow_null=True)
    remainingSeconds = serializers.IntegerField(source="remaining_seconds", allow_null=True)


class MiniCrowdFundingSerializer(serializers.Serializer):
    id = IdField()
    title = serializers.CharField()
    goal = MoneyField()
    collected = MoneyField()
    percentage = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=MiniCrowdFundingStatus.values)

    @extend_schema_field({"type": "number", "minimum": 0})
    def get_percentage(self, funding) -> float:
        return money_to_json(funding_percentage(funding.collected, funding.goal))


# Renders `selectors.viewing.Broadcaster`.
class BroadcasterSerializer(serializers.Serializer):
    user = IdField(source="user_id", help_text="The broadcaster's user id.")
    role = serializers.ChoiceField(choices=[Role.HOST.value, Role.GUEST.value])
    uid = serializers.IntegerField(
        allow_null=True,
        help_text="The Agora uid; null until this broadcaster has joined.",
        **AGORA_UID,
    )
    hasJoined = serializers.BooleanField(source="has_joined")
    joinedAt = TimestampField(source="joined_at", allow_null=True)


# Renders a stream passed through `selectors.viewing.prepare_for_viewer`, in the
# seed's field order.
class LiveStreamSerializer(serializers.Serializer):
    """A live stream (§2 of the contract), as the caller sees it."""

    id = IdField()
    title = serializers.CharField()
    liveStreamType = serializers.ChoiceField(
        source="live_stream_type", choices=LiveStreamType.values
    )
    channelName = serializers.CharField(source="channel_name")
    broadcasters = BroadcasterSerializer(many=True)
    guests = serializers.ListField(child=IdField(), source="guest_ids")
    creator = UserSummarySerializer()
    thumbnailUrl = serializers.SerializerMethodField()
    recording = serializers.BooleanField()
    recordingUrl = serializers.SerializerMethodField()
    replayAccess = ReplayAccessSerializer(source="viewer_replay")
    status = serializers.ChoiceField(choices=LiveStreamStatus.values)
    accessType = serializers.ChoiceField(source="access_type", choices=AccessType.values)
    price = MoneyField(allow_null=True)
    interest = serializers.ChoiceField(choices=settings.LIVESTREAM_INTERESTS, allow_null=True)
    durationGoal = serializers.IntegerField(source="duration_goal", allow_null=True)
    motivation = serializers.CharField(allow_null=True)
    isActiveReplayOnCreatorProfile = serializers.BooleanField(
        source="is_active_replay_on_creator_profile", allow_null=True
    )
    replayCreditPrice = MoneyField(source="replay_credit_price", allow_null=True)
    startedAt = TimestampField(source="started_at", allow_null=True)
    plannedStartDate = TimestampField(source="planned_start_date", allow_null=True)
    endedAt = TimestampField(source="ended_at", allow_null=True)
    plannedEndDate = TimestampField(source="planned_end_date", allow_null=True)
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")
    fundingGoal = MoneyField(source="funding_goal", allow_null=True)
    collectedFunding = MoneyField(source="collected_funding")
    fundingPercentage = serializers.SerializerMethodField()
    role = serializers.ChoiceField(
        source="viewer_role", choices=[role.value for role in Role], allow_null=True
    )
    miniCrowdFundings = MiniCrowdFundingSerializer(source="funding_rows", many=True)

    @extend_schema_field(UrlField(help_text="The uploaded thumbnail, or the default thumbnail."))
    def get_thumbnailUrl(self, stream) -> str:
        if stream.thumbnail:
            return media_url(stream.thumbnail)
        return static_file_url(settings.LIVESTREAM_DEFAULT_THUMBNAIL)

    @extend_schema_field(
        UrlField(allow_null=True, help_text="Only when replayAccess.canViewRecording is true.")
    )
    def get_recordingUrl(self, stream) -> str | None:
        return stream.recording_url if stream.viewer_replay.can_view_recording else None

    @extend_schema_field(
        {
            "type": "number",
            "minimum": 0,
            "description": "collectedFunding / fundingGoal x 100, 2 decimals; may exceed 100.",
        }
    )
    def get_fundingPercentage(self, stream) -> float:
        return money_to_json(funding_percentage(stream.collected_funding, stream.funding_goal))


LiveStreamPageSerializer = page_serializer(LiveStreamSerializer)


# --- Agora credentials (§2, in join and renew responses) -----------------------------


# Renders `agora.tokens.RtcCredentials`.
class AgoraCredentialsSerializer(serializers.Serializer):
    appId = serializers.CharField(
        source="app_id", help_text="The Agora App ID (32 hexadecimal characters)."
    )
    channelName = serializers.CharField(source="channel_name")
    token = serializers.CharField(help_text="An AccessToken (version 006) for RTC.")
    uid = serializers.IntegerField(**AGORA_UID)
    role = serializers.ChoiceField(
        choices=["host", "audience"],
        help_text="host: a publisher token; audience: a subscriber token.",
    )
    expiresAt = TimestampField(source="expires_at", help_text="When the token's privileges end.")


# Renders `agora.tokens.RtmCredentials`.
class RtmCredentialsSerializer(serializers.Serializer):
    appId = serializers.CharField(source="app_id")
    channelName = serializers.CharField(source="channel_name")
    userId = IdField(source="user_id", help_text="The caller's `_id`.")
    token = serializers.CharField(help_text="An AccessToken (version 006) for RTM.")
    expiresAt = TimestampField(source="expires_at")


# Renders `agora.tokens.Credentials`.
class CredentialsSerializer(serializers.Serializer):
    agora = AgoraCredentialsSerializer()
    rtm = RtmCredentialsSerializer()


# Renders `services.results.JoinResult`.
class JoinResponseSerializer(serializers.Serializer):
    liveStream = LiveStreamSerializer(source="live_stream")
    agora = AgoraCredentialsSerializer(source="credentials.agora")
    rtm = RtmCredentialsSerializer(source="credentials.rtm")


# Renders `services.results.LeaveResult`.
class LeaveResponseSerializer(serializers.Serializer):
    liveStreamId = IdField(source="live_stream_id")
    role = serializers.ChoiceField(choices=[role.value for role in Role])
    watchSeconds = serializers.IntegerField(
        source="watch_seconds",
        allow_null=True,
        min_value=0,
        help_text="The audience's total watch time; null otherwise.",
    )


class ViewerCountSerializer(serializers.Serializer):
    streamId = IdField(source="stream_id")
    viewerCount = serializers.IntegerField(source="viewer_count", min_value=0)


class LiveStreamDeletedSerializer(serializers.Serializer):
    id = IdField()
    deleted = serializers.BooleanField()


# --- Money and bans ---------------------------------------------------------------


class ContributionSerializer(serializers.Serializer):
    id = IdField()
    liveStreamId = IdField(source="live_stream_id")
    amount = MoneyField()
    status = serializers.ChoiceField(choices=ContributionStatus.values)
    createdAt = TimestampField(source="created_at")
    refundedAt = TimestampField(source="refunded_at", allow_null=True)


class FundResponseSerializer(serializers.Serializer):
    contribution = ContributionSerializer()
    liveStream = LiveStreamSerializer(source="live_stream")


class BanSerializer(serializers.Serializer):
    """The Ban object of API-more §6.6; `id`, `isActive`, `liftedAt` and `liftedBy`
    are kept beside `_id`, `deletedAt` and `deletedBy` (lifting is the deletion)."""

    _id = IdField(source="id")
    targetUserId = IdField(source="user_id")
    liveStreamId = IdField(source="live_stream_id")
    targetUser = UserSummarySerializer(source="user")
    actionType = serializers.ChoiceField(source="action_type", choices=BanAction.values)
    reason = serializers.CharField()
    createdBy = IdField(source="created_by_id", allow_null=True)
    deletedAt = TimestampField(source="lifted_at", allow_null=True)
    deletedBy = IdField(source="lifted_by_id", allow_null=True)
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")
    id = IdField()
    isActive = serializers.SerializerMethodField()
    liftedAt = TimestampField(source="lifted_at", allow_null=True)
    liftedBy = IdField(source="lifted_by_id", allow_null=True)

    def get_isActive(self, ban) -> bool:
        return ban.lifted_at is None


BanPageSerializer = page_serializer(BanSerializer)


# Renders `{"ban": LiveStreamBan | None}`.
class BanCheckSerializer(serializers.Serializer):
    isBanned = serializers.SerializerMethodField()
    ban = BanSerializer(allow_null=True, help_text="The ban in force, of either action type.")

    def get_isBanned(self, checked) -> bool:
        return checked["ban"] is not None


# --- The lists of API-more §7 ------------------------------------------------------------


# Renders a user with `unique_viewers` (`selectors.discovery.creators_most_watched`).
class CreatorCardSerializer(UserSummarySerializer):
    expertise = serializers.SerializerMethodField()
    isFollowing = serializers.SerializerMethodField()
    uniqueViewers = serializers.IntegerField(
        source="unique_viewers",
        min_value=1,
        help_text="Distinct audience members of their streams over the last 30 days.",
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_expertise(self, user) -> str | None:
        return None  # no expertise yet (API-more §6.6)

    @extend_schema_field(
        serializers.BooleanField(allow_null=True, help_text="Null for an anonymous caller.")
    )
    def get_isFollowing(self, user) -> bool | None:
        return False if self.context.get("signed_in") else None  # no follows yet


# Renders an active stream passed through `prepare_for_viewer`.
class CatchStreamerSerializer(serializers.Serializer):
    creator = UserSummarySerializer()
    activeLiveStream = LiveStreamSerializer(source="*")


# Renders a stream passed through `prepare_for_viewer` with `viewer_reminder_active`.
class UpcomingLiveStreamSerializer(LiveStreamSerializer):
    isReminderActive = serializers.BooleanField(
        source="viewer_reminder_active",
        allow_null=True,
        help_text="The caller holds an armed reminder of it; null when anonymous.",
    )


# --- Agora's Notification Center (the webhook) -------------------------------------


# Documentation only: the webhook parses the raw body itself
# (`agora.notices.parse_notice`).
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
    noticeId = serializers.CharField(source="notice_id")
    outcome = serializers.CharField(help_text="What the notice did; `duplicate` if seen before.")
