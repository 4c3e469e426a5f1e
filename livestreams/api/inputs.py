"""What the live-stream API accepts: one input serializer per body or query;
anything a client sends beyond these fields is ignored."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from allmine.core.fields import (
    EARLIEST_ACCEPTED,
    FormInputSerializer,
    FormNullMixin,
    ImageUploadField,
    MoneyField,
    ObjectIdInputField,
    StrictCharField,
    TextField,
    TimestampField,
)
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import BanAction, LiveStreamType


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
    recording = serializers.BooleanField(required=False, default=False)
    isActiveReplayOnCreatorProfile = serializers.BooleanField(
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


class StreamListFilterSerializer(serializers.Serializer):
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

    isActiveReplayOnCreatorProfile = serializers.BooleanField(
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


class BanListFilterSerializer(serializers.Serializer):
    liveStreamId = ObjectIdInputField(source="live_stream_id")


class LiveStreamCreateJsonInputSerializer(LiveStreamCreateInputSerializer):
    """The create body as JSON: the same fields, without the thumbnail file."""

    thumbnail = None
