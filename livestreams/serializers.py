import json

from django.conf import settings
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from allmine.fields import (
    MoneyField,
    ObjectIdInputField,
    TimestampField,
    money_to_json,
    no_control_characters,
)
from allmine.media import media_url, static_file_url
from livestreams.models import BanAction, LiveStreamStatus, LiveStreamType
from livestreams.selectors import funding_percentage

# --- Output -------------------------------------------------------------------


class ReplayAccessSerializer(serializers.Serializer):
    status = serializers.CharField()
    canRent = serializers.BooleanField(source="can_rent")
    canViewRecording = serializers.BooleanField(source="can_view_recording")
    price = MoneyField(allow_null=True)
    rentedAt = TimestampField(source="rented_at", allow_null=True)
    expiresAt = TimestampField(source="expires_at", allow_null=True)
    remainingSeconds = serializers.IntegerField(source="remaining_seconds", allow_null=True)


class MiniCrowdFundingSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    goal = MoneyField()
    collected = MoneyField()
    percentage = serializers.SerializerMethodField()
    status = serializers.CharField()

    def get_percentage(self, funding) -> float:
        return money_to_json(funding_percentage(funding.collected, funding.goal))


class LiveStreamSerializer(serializers.Serializer):
    """The LiveStream object of §2, in the seed's field order.

    Expects a stream passed through `selectors.prepare_for_viewer`."""

    id = serializers.CharField()
    title = serializers.CharField()
    liveStreamType = serializers.CharField(source="live_stream_type")
    channelName = serializers.CharField(source="channel_name")
    broadcasters = serializers.SerializerMethodField()
    guests = serializers.SerializerMethodField()
    creator = UserSummarySerializer()
    thumbnailUrl = serializers.SerializerMethodField()
    recording = serializers.BooleanField()
    recordingUrl = serializers.SerializerMethodField()
    replayAccess = ReplayAccessSerializer(source="viewer_replay")
    status = serializers.CharField()
    accessType = serializers.CharField(source="access_type")
    price = MoneyField(allow_null=True)
    interest = serializers.CharField(allow_null=True)
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
    role = serializers.CharField(source="viewer_role", allow_null=True)
    miniCrowdFundings = MiniCrowdFundingSerializer(source="funding_rows", many=True)

    def get_broadcasters(self, stream) -> list[dict]:
        host_joined = stream.host_joined_at is not None
        host = {
            "user": stream.creator_id,
            "role": "host",
            "uid": stream.creator.agora_uid if host_joined else None,
            "hasJoined": stream.host_present,
            "joinedAt": TimestampField().to_representation(stream.host_joined_at)
            if host_joined
            else None,
        }
        guests = [
            {
                "user": guest.user_id,
                "role": "guest",
                "uid": guest.uid,
                "hasJoined": guest.has_joined,
                "joinedAt": TimestampField().to_representation(guest.joined_at)
                if guest.joined_at
                else None,
            }
            for guest in stream.guest_rows
        ]
        return [host, *guests]

    def get_guests(self, stream) -> list[str]:
        return [guest.user_id for guest in stream.guest_rows]

    def get_thumbnailUrl(self, stream) -> str:
        if stream.thumbnail:
            return media_url(stream.thumbnail)
        return static_file_url(settings.LIVESTREAM_DEFAULT_THUMBNAIL)

    def get_recordingUrl(self, stream) -> str | None:
        return stream.recording_url if stream.viewer_replay.can_view_recording else None

    def get_fundingPercentage(self, stream) -> float:
        return money_to_json(funding_percentage(stream.collected_funding, stream.funding_goal))


# --- Input --------------------------------------------------------------------


class GuestIdsField(serializers.ListField):
    """`guests` as a JSON array, a JSON array string (multipart), or a repeated field."""

    child = ObjectIdInputField()

    def __init__(self, **kwargs):
        kwargs.setdefault("child", ObjectIdInputField())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], str):
            text = data[0].strip()
            if text == "":
                data = []
            elif text.startswith("["):
                try:
                    data = json.loads(text)
                except (ValueError, RecursionError):
                    self.fail("not_a_list", input_type="malformed JSON")
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class NullableChoiceField(serializers.ChoiceField):
    def validate_empty_values(self, data):
        if data == "" and self.allow_null:
            return (True, None)
        return super().validate_empty_values(data)


class LiveStreamCreateInputSerializer(serializers.Serializer):
    """What a client may send to create a stream; anything else is ignored."""

    title = serializers.CharField(max_length=100, validators=[no_control_characters])
    liveStreamType = serializers.ChoiceField(
        source="live_stream_type", choices=LiveStreamType.values, default=LiveStreamType.SOLO
    )
    guests = GuestIdsField(required=False, default=list)
    # Checked by decoding it in the service (allmine.images), not by its name.
    thumbnail = serializers.FileField(
        required=False, allow_null=True, allow_empty_file=True, max_length=255
    )
    price = MoneyField(required=False, allow_null=True)
    interest = NullableChoiceField(
        choices=settings.LIVESTREAM_INTERESTS, required=False, allow_null=True
    )
    durationGoal = serializers.IntegerField(
        source="duration_goal", required=False, allow_null=True, min_value=1, max_value=24 * 60
    )
    motivation = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=1000,
        validators=[no_control_characters],
    )
    plannedStartDate = TimestampField(source="planned_start_date", required=False, allow_null=True)
    plannedEndDate = TimestampField(source="planned_end_date", required=False, allow_null=True)
    fundingGoal = MoneyField(source="funding_goal", required=False, allow_null=True)
    recording = serializers.BooleanField(required=False, default=False)
    isActiveReplayOnCreatorProfile = serializers.BooleanField(
        source="is_active_replay_on_creator_profile", required=False, allow_null=True
    )
    replayCreditPrice = MoneyField(source="replay_credit_price", required=False, allow_null=True)


class LiveStreamIdInputSerializer(serializers.Serializer):
    liveStreamId = ObjectIdInputField(source="live_stream_id")


class ContributionSerializer(serializers.Serializer):
    id = serializers.CharField()
    liveStreamId = serializers.CharField(source="live_stream_id")
    amount = MoneyField()
    status = serializers.CharField()
    createdAt = TimestampField(source="created_at")
    refundedAt = TimestampField(source="refunded_at", allow_null=True)


class BanSerializer(serializers.Serializer):
    id = serializers.CharField()
    liveStreamId = serializers.CharField(source="live_stream_id")
    targetUserId = serializers.CharField(source="user_id")
    actionType = serializers.CharField(source="action_type")
    reason = serializers.CharField()
    createdBy = serializers.CharField(source="created_by_id", allow_null=True)
    createdAt = TimestampField(source="created_at")
    isActive = serializers.SerializerMethodField()
    liftedAt = TimestampField(source="lifted_at", allow_null=True)
    liftedBy = serializers.CharField(source="lifted_by_id", allow_null=True)

    def get_isActive(self, ban) -> bool:
        return ban.lifted_at is None


# --- Input (the rest of a stream's life) ---------------------------------------------


class AudienceJoinInputSerializer(LiveStreamIdInputSerializer):
    deviceType = serializers.CharField(
        source="device_type", required=False, allow_blank=True, max_length=32
    )
    deviceModel = serializers.CharField(
        source="device_model", required=False, allow_blank=True, max_length=100
    )
    osVersion = serializers.CharField(
        source="os_version", required=False, allow_blank=True, max_length=50
    )
    appVersion = serializers.CharField(
        source="app_version", required=False, allow_blank=True, max_length=50
    )
    country = serializers.CharField(required=False, allow_blank=True, max_length=64)


class StreamListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LiveStreamStatus.values, required=False)
    interest = serializers.ChoiceField(choices=settings.LIVESTREAM_INTERESTS, required=False)
    creator = ObjectIdInputField(required=False)


class FundInputSerializer(serializers.Serializer):
    amount = MoneyField()


class ReplaySettingsInputSerializer(serializers.Serializer):
    isActiveReplayOnCreatorProfile = serializers.BooleanField(
        source="is_active_replay_on_creator_profile", required=False, allow_null=True
    )
    replayCreditPrice = MoneyField(source="replay_credit_price", required=False, allow_null=True)


class BanCreateInputSerializer(serializers.Serializer):
    liveStreamId = ObjectIdInputField(source="live_stream_id")
    targetUserId = ObjectIdInputField(source="target_user_id")
    actionType = serializers.ChoiceField(source="action_type", choices=BanAction.values)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        default="",
        validators=[no_control_characters],
    )


class BanListFilterSerializer(serializers.Serializer):
    liveStreamId = ObjectIdInputField(source="live_stream_id")
