"""What the live room's endpoints render (API-more §7.9-§7.11, §10-§12): each
response shape has one serializer, which both renders it and documents it."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import ProfilePhotoSerializer, UserSummarySerializer
from allmine.core.fields import IdField, MoneyField, TimestampField, UrlField, money_to_json
from allmine.core.media import media_url
from allmine.core.pagination import PaginationSerializer
from livestreams.models import ReminderMode, ReportStatus, ReportType

# --- Reminders (§7.9) --------------------------------------------------------------------

REMINDER_STATUSES = {ReminderMode.ON_START: "ARMED_ON_START", ReminderMode.BEFORE_START: "ARMED"}


# Renders a `StreamReminder`.
class ReminderSerializer(serializers.Serializer):
    streamId = IdField(source="live_stream_id")
    minute = serializers.IntegerField(min_value=0, max_value=1440)
    mode = serializers.ChoiceField(choices=ReminderMode.values)
    scheduledFor = TimestampField(
        source="scheduled_for", allow_null=True, help_text="When it is expected to fire."
    )
    status = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=list(REMINDER_STATUSES.values())))
    def get_status(self, reminder) -> str:
        return REMINDER_STATUSES[reminder.mode]


# --- Viewers (§7.10) ---------------------------------------------------------------------


# Renders a `Participant` with its user (and the user's photo).
class ViewerSerializer(serializers.Serializer):
    _id = IdField(source="user.id")
    username = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.name")
    surname = serializers.CharField(source="user.surname")
    profilePhoto = serializers.SerializerMethodField()
    followersCount = serializers.SerializerMethodField()
    followingCount = serializers.SerializerMethodField()
    expertise = serializers.SerializerMethodField()
    isFollowing = serializers.SerializerMethodField()
    joinedAt = TimestampField(source="last_joined_at", help_text="Their latest join.")

    @extend_schema_field(ProfilePhotoSerializer(allow_null=True))
    def get_profilePhoto(self, participant) -> dict | None:
        return UserSummarySerializer().get_profilePhoto(participant.user)

    # No follows and no expertise yet (API-more §6.6): always present, empty.
    @extend_schema_field(serializers.IntegerField(min_value=0))
    def get_followersCount(self, participant) -> int:
        return 0

    @extend_schema_field(serializers.IntegerField(min_value=0))
    def get_followingCount(self, participant) -> int:
        return 0

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_expertise(self, participant) -> str | None:
        return None

    @extend_schema_field(serializers.BooleanField())
    def get_isFollowing(self, participant) -> bool:
        return False


# Renders `selectors.room.ViewersPage`: the page shape plus one field.
class ViewersPageSerializer(serializers.Serializer):
    list = ViewerSerializer(many=True, source="page.items")
    pagination = PaginationSerializer(source="page")
    participantAudienceTotal = serializers.IntegerField(
        source="audience_total",
        min_value=0,
        help_text="Distinct audience members who ever joined, present or not, whatever the search.",
    )


# --- Gifts (§7.11, §12) -------------------------------------------------------------------


class GiftTypeShortSerializer(serializers.Serializer):
    id = IdField()
    creditAmount = MoneyField(source="credit_amount")
    svgUrl = serializers.SerializerMethodField()
    isActive = serializers.BooleanField(source="is_active")

    @extend_schema_field(UrlField())
    def get_svgUrl(self, gift_type) -> str:
        return media_url(gift_type.svg)


class GiftTypeSerializer(GiftTypeShortSerializer):
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")


# Renders `selectors.room.GiftTypeCount`.
class GiftTypeCountSerializer(serializers.Serializer):
    giftType = GiftTypeShortSerializer(source="gift_type")
    count = serializers.IntegerField(min_value=0)


# Renders `selectors.room.GiftStatistics`.
class GiftStatisticsSerializer(serializers.Serializer):
    liveStreamId = IdField(source="live_stream_id")
    totalCount = serializers.IntegerField(source="total_count", min_value=0)
    giftTypeCounts = GiftTypeCountSerializer(source="gift_type_counts", many=True)


# Renders a `Gift` as the page shows it: a fixed message.
class GiftCreatedSerializer(serializers.Serializer):
    message = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=["Success"]))
    def get_message(self, gift) -> str:
        return "Success"


# --- Participant statistics (§11.1) ------------------------------------------------------


# Renders `selectors.room.ParticipantStatistics`.
class ParticipantStatisticsSerializer(serializers.Serializer):
    streamId = IdField(source="stream_id")
    totalViewers = serializers.IntegerField(source="total_viewers", min_value=0)
    averageWatchTimeMinutes = serializers.SerializerMethodField()
    totalWatchTimeMinutes = serializers.IntegerField(source="total_watch_minutes", min_value=0)
    peakConcurrentViewers = serializers.IntegerField(source="peak_concurrent_viewers", min_value=0)

    @extend_schema_field({"type": "number", "minimum": 0, "description": "2 decimals."})
    def get_averageWatchTimeMinutes(self, figures) -> float:
        return money_to_json(figures.average_watch_minutes)


# --- Reports (§10) -----------------------------------------------------------------------


# Renders a `StreamReport`.
class ReportSerializer(serializers.Serializer):
    _id = IdField(source="id")
    liveStreamId = IdField(source="live_stream_id")
    reporterId = IdField(source="reporter_id")
    type = serializers.ChoiceField(choices=ReportType.values)
    description = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=ReportStatus.values)
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")
