"""What the live-stream API accepts: one input serializer per body or query;
anything a client sends beyond these fields is ignored."""

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from allmine.core.fields import (
    CONTROL_CHARACTER_CLASS,
    EARLIEST_ACCEPTED,
    DayOrTimestampField,
    FormInputSerializer,
    FormNullMixin,
    ImageUploadField,
    MoneyField,
    ObjectIdInputField,
    StrictBooleanField,
    StrictCharField,
    TextField,
    TimestampField,
)
from allmine.core.pagination import MAX_LIMIT
from allmine.core.queries import QueryParametersSerializer
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    CHAT_MESSAGE_MAX_CHARACTERS,
    BanAction,
    LiveStreamType,
    ReportType,
)
from livestreams.selectors.discovery import GUEST_STREAM_SORTS


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

    def openapi_facts(self, direction: str) -> dict:
        # Checked by the service (livestreams.services.creation): each guest once,
        # at most LIVESTREAM_MAX_GUESTS.
        if direction != "request":
            return {}
        return {"maxItems": settings.LIVESTREAM_MAX_GUESTS, "uniqueItems": True}


class NullableIntegerField(FormNullMixin, serializers.IntegerField):
    """An integer that may be null (`null` or empty in a form)."""


class NullableChoiceField(FormNullMixin, serializers.ChoiceField):
    def validate_empty_values(self, data):
        if data == "" and self.allow_null:
            return (True, None)
        return super().validate_empty_values(data)


def latest_planned_date() -> datetime:
    """The latest planned start or end a stream may have: LIVESTREAM_MAX_SCHEDULE_DAYS
    from now."""
    return timezone.now() + timedelta(days=settings.LIVESTREAM_MAX_SCHEDULE_DAYS)


def planned_date_field(source: str, help_text: str = "") -> TimestampField:
    return TimestampField(
        source=source,
        required=False,
        allow_null=True,
        help_text=help_text or None,
        earliest=EARLIEST_ACCEPTED,
        latest=latest_planned_date,
        window_text=(
            "from 2000-01-01T00:00:00.000Z to LIVESTREAM_MAX_SCHEDULE_DAYS "
            f"({settings.LIVESTREAM_MAX_SCHEDULE_DAYS}) days from now"
        ),
    )


class LiveStreamCreateInputSerializer(FormInputSerializer):
    """What a client may send to create a stream; anything else is ignored.
    `plannedEndDate` must be after `plannedStartDate` (or, without one, in the future).
    A solo stream takes no guests; a duo stream needs at least one, each an active
    user other than the creator."""

    # Stated in the schema (allmine.apidocs.schema reads it): solo (the default)
    # without guests, or a duo type with at least one.
    openapi_object_facts = {
        "anyOf": [
            {
                "properties": {
                    "liveStreamType": {"enum": [LiveStreamType.SOLO]},
                    "guests": {"maxItems": 0},
                }
            },
            {
                "required": ["liveStreamType", "guests"],
                "properties": {
                    "liveStreamType": {"enum": [LiveStreamType.DUOCROWD, LiveStreamType.DUOSELF]},
                    "guests": {"minItems": 1},
                },
            },
        ]
    }

    title = TextField(max_length=100)
    liveStreamType = serializers.ChoiceField(
        source="live_stream_type", choices=LiveStreamType.values, default=LiveStreamType.SOLO
    )
    guests = GuestIdsField(required=False, default=list)
    # Checked by decoding it in the service (allmine.core.images), not by its name.
    thumbnail = ImageUploadField(
        required=False, allow_null=True, allow_empty_file=True, max_length=255
    )
    price = MoneyField(
        required=False, allow_null=True, min_value=Decimal(0), max_value="LIVESTREAM_MAX_PRICE"
    )
    interest = NullableChoiceField(
        choices=settings.LIVESTREAM_INTERESTS, required=False, allow_null=True
    )
    durationGoal = NullableIntegerField(
        source="duration_goal", required=False, allow_null=True, min_value=1, max_value=24 * 60
    )
    motivation = TextField(required=False, allow_null=True, allow_blank=True, max_length=1000)
    plannedStartDate = planned_date_field("planned_start_date")
    plannedEndDate = planned_date_field(
        "planned_end_date",
        "After plannedStartDate; without a plannedStartDate, in the future (else a 400).",
    )
    fundingGoal = MoneyField(
        source="funding_goal",
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        max_value="LIVESTREAM_MAX_FUNDING_GOAL",
    )
    recording = StrictBooleanField(required=False, default=False)
    isActiveReplayOnCreatorProfile = StrictBooleanField(
        source="is_active_replay_on_creator_profile", required=False, allow_null=True
    )
    replayCreditPrice = MoneyField(
        source="replay_credit_price",
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        max_value="LIVESTREAM_MAX_PRICE",
    )


class LiveStreamIdInputSerializer(serializers.Serializer):
    liveStreamId = ObjectIdInputField(source="live_stream_id")


class AudienceJoinInputSerializer(LiveStreamIdInputSerializer):
    deviceType = StrictCharField(
        source="device_type", required=False, allow_blank=True, max_length=32
    )
    deviceModel = StrictCharField(
        source="device_model", required=False, allow_blank=True, max_length=100
    )
    osVersion = StrictCharField(
        source="os_version", required=False, allow_blank=True, max_length=50
    )
    appVersion = StrictCharField(
        source="app_version", required=False, allow_blank=True, max_length=50
    )
    country = StrictCharField(required=False, allow_blank=True, max_length=64)


class StreamListFilterSerializer(QueryParametersSerializer):
    """Each filter at most once; empty means no filter (allow_blank says so in the
    schema)."""

    status = serializers.ChoiceField(
        choices=LiveStreamStatus.values, required=False, allow_blank=True
    )
    interest = serializers.ChoiceField(
        choices=settings.LIVESTREAM_INTERESTS, required=False, allow_blank=True
    )
    creator = ObjectIdInputField(required=False, allow_blank=True)


class FundInputSerializer(serializers.Serializer):
    amount = MoneyField(min_value=Decimal("0.01"), max_value="LIVESTREAM_MAX_FUNDING_GOAL")


class ReplaySettingsInputSerializer(serializers.Serializer):
    """At least one of the two fields."""

    isActiveReplayOnCreatorProfile = StrictBooleanField(
        source="is_active_replay_on_creator_profile", required=False, allow_null=True
    )
    replayCreditPrice = MoneyField(
        source="replay_credit_price",
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        max_value="LIVESTREAM_MAX_PRICE",
    )

    # Stated in the schema (allmine.apidocs.schema reads it).
    openapi_object_facts = {
        "anyOf": [
            {"required": ["isActiveReplayOnCreatorProfile"]},
            {"required": ["replayCreditPrice"]},
        ]
    }

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError(
                "Send isActiveReplayOnCreatorProfile and/or replayCreditPrice."
            )
        return attrs


class BanCreateInputSerializer(serializers.Serializer):
    liveStreamId = ObjectIdInputField(source="live_stream_id")
    targetUserId = ObjectIdInputField(
        source="target_user_id",
        help_text="The user to ban: not the caller, not the stream's creator (else a 400).",
    )
    actionType = serializers.ChoiceField(source="action_type", choices=BanAction.values)
    reason = TextField(required=False, allow_blank=True, max_length=500, default="")


class BanListFilterSerializer(QueryParametersSerializer):
    """The page's filters (API-more §14); `page` and `limit` are read by `paginate`."""

    liveStreamId = ObjectIdInputField(
        source="live_stream_id",
        required=False,
        help_text="Without it: the bans of the streams the caller created (a moderator: all).",
    )
    targetUserId = ObjectIdInputField(source="target_user_id", required=False)
    targetUser = TextField(
        source="target_user",
        required=False,
        max_length=254,
        help_text="The banned user's id or username.",
    )
    actionType = serializers.ChoiceField(
        source="action_type", choices=BanAction.values, required=False
    )
    startDate = DayOrTimestampField(
        source="start", required=False, help_text="Banned at or after (a bare date: its start)."
    )
    endDate = DayOrTimestampField(
        source="end",
        required=False,
        end_of_day=True,
        help_text="Banned at or before (a bare date: its end).",
    )

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"startDate": "Must not be after endDate."})
        return attrs


class BanCheckQuerySerializer(QueryParametersSerializer):
    liveStreamId = ObjectIdInputField(source="live_stream_id")


# --- Lists of API-more §7 -------------------------------------------------------------


class PlainIntegerField(serializers.IntegerField):
    """A whole number written plainly (`1440`): no `1_440` or `1440.0`."""

    PLAIN = re.compile(r"^-?\d+$")

    def to_internal_value(self, data):
        if isinstance(data, str) and not self.PLAIN.fullmatch(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class ClampedLimitField(PlainIntegerField):
    """`limit`: a whole number (else 400), brought into 1..100 as `paginate()` does."""

    default_error_messages = {"negative": "Must not be negative."}

    def __init__(self, *, negative_is_error: bool = False, **kwargs):
        self.negative_is_error = negative_is_error
        if negative_is_error:
            kwargs.setdefault("min_value", 0)  # for the schema: a negative is refused
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", f"At most {MAX_LIMIT}; below 1 counts as 1.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if self.negative_is_error and value < 0:
            self.fail("negative")
        return min(MAX_LIMIT, max(1, value))


class LimitQuerySerializer(QueryParametersSerializer):
    limit = ClampedLimitField(default=10)


class PastStreamsQuerySerializer(QueryParametersSerializer):
    limit = ClampedLimitField(default=MAX_LIMIT)


class GuestStreamsQuerySerializer(QueryParametersSerializer):
    status = serializers.ChoiceField(choices=LiveStreamStatus.values, required=False)
    sortBy = serializers.ChoiceField(
        source="sort_by", choices=GUEST_STREAM_SORTS, required=False, default="createdAt"
    )
    sortOrder = serializers.ChoiceField(
        source="sort_order", choices=["asc", "desc"], required=False, default="desc"
    )


class PlainFloatField(serializers.FloatField):
    """A number in JSON's own notation (`24`, `0.5`, `3.2e-5`): no hex, `nan`,
    `inf` or digit separators, which Python's float() would take."""

    PLAIN = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")

    def to_internal_value(self, data):
        if isinstance(data, str) and not self.PLAIN.fullmatch(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class UpcomingQuerySerializer(QueryParametersSerializer):
    """§7.7: negative or non-numeric values are a 400."""

    limit = ClampedLimitField(default=10, negative_is_error=True)
    hoursBefore = PlainFloatField(
        source="before", required=False, default=24, min_value=0, max_value=8760
    )
    hoursAfter = PlainFloatField(
        source="after", required=False, default=24, min_value=0, max_value=8760
    )


class UpcomingV2QuerySerializer(QueryParametersSerializer):
    """§7.8: whole minutes instead of hours."""

    limit = ClampedLimitField(default=10, negative_is_error=True)
    minutesBefore = PlainIntegerField(
        source="before", required=False, default=1440, min_value=0, max_value=525600
    )
    minutesAfter = PlainIntegerField(
        source="after", required=False, default=1440, min_value=0, max_value=525600
    )


# --- The room ---------------------------------------------------------------------------


class ReminderInputSerializer(serializers.Serializer):
    minute = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=1440,
        help_text="Minutes before the planned start; 0, null or absent: when it starts.",
    )


class ViewersQuerySerializer(QueryParametersSerializer):
    search = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="In name, surname or username, in any case; blank: everyone.",
    )


class GiftCreateInputSerializer(serializers.Serializer):
    giftTypeId = ObjectIdInputField(source="gift_type_id")
    liveStreamId = ObjectIdInputField(source="live_stream_id")


class ReportCreateInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ReportType.values)
    description = TextField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=1000,
        help_text="Required (not blank) when type is other.",
    )


class LiveStreamCreateJsonInputSerializer(LiveStreamCreateInputSerializer):
    """The create body as JSON: the same fields, without the thumbnail file."""

    thumbnail = None  # type: ignore[assignment]  # DRF's way of dropping an inherited field


# A chat message may hold line breaks but no other control character, tab included
# (API-more §8.1); the schema's pattern says the same.
_CHAT_REFUSED_CLASS = CONTROL_CHARACTER_CLASS + r"\u0009"


def _no_tab(value: str) -> None:
    if "\t" in value:
        raise serializers.ValidationError(
            "Control characters other than line breaks are not allowed."
        )


class ChatContentField(TextField):
    def __init__(self, **kwargs):
        kwargs["validators"] = [*kwargs.get("validators", []), _no_tab]
        super().__init__(**kwargs)

    def openapi_facts(self, direction: str) -> dict:
        facts = super().openapi_facts(direction)
        if "pattern" in facts:
            facts["pattern"] = (
                rf"^[^{_CHAT_REFUSED_CLASS}]*[^\s{_CHAT_REFUSED_CLASS}][^{_CHAT_REFUSED_CLASS}]*$"
            )
        return facts


class ChatMessageInputSerializer(serializers.Serializer):
    content = ChatContentField(
        max_length=CHAT_MESSAGE_MAX_CHARACTERS,
        help_text=(
            f"Plain text, trimmed: 1 to {CHAT_MESSAGE_MAX_CHARACTERS} characters; line breaks "
            "are the only control characters allowed."
        ),
    )
