from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import RegexValidator
from rest_framework import serializers

from allmine.fields import MoneyField, TimestampField, money_to_json, no_control_characters
from allmine.media import media_url

USERNAME_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9._-]{3,30}$", "Use 3 to 30 letters, digits, dots, dashes or underscores."
)


# --- Output -------------------------------------------------------------------


class ProfilePhotoSerializer(serializers.Serializer):
    _id = serializers.CharField(source="id")
    url = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    variants = serializers.SerializerMethodField()
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")

    def get_url(self, photo) -> str:
        return media_url(photo.original)

    def get_type(self, photo) -> str:
        return "image"

    def get_variants(self, photo) -> dict[str, str]:
        return {edge: media_url(name) for edge, name in photo.variants.items()}


class UserSummarySerializer(serializers.Serializer):
    _id = serializers.CharField(source="id")
    username = serializers.CharField()
    name = serializers.CharField()
    surname = serializers.CharField()
    profilePhoto = serializers.SerializerMethodField()
    availabilityStatus = serializers.CharField(source="availability_status")

    def get_profilePhoto(self, user) -> dict | None:
        try:
            photo = user.profile_photo
        except ObjectDoesNotExist:
            return None
        return ProfilePhotoSerializer(photo).data


class MeSerializer(UserSummarySerializer):
    email = serializers.EmailField()
    creditBalance = serializers.SerializerMethodField()

    def get_creditBalance(self, user) -> float:
        return money_to_json(user.credit_balance)


# --- Input --------------------------------------------------------------------


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=30, validators=[USERNAME_VALIDATOR])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    name = serializers.CharField(max_length=100, validators=[no_control_characters])
    surname = serializers.CharField(max_length=100, validators=[no_control_characters])


class LoginInputSerializer(serializers.Serializer):
    login = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshTokenInputSerializer(serializers.Serializer):
    refreshToken = serializers.CharField(max_length=4096)


class ProfilePhotoInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, max_length=255)


class CreditTransactionSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    amount = MoneyField()
    balanceAfter = MoneyField(source="balance_after", allow_null=True)
    liveStreamId = serializers.CharField(source="live_stream_id", allow_null=True)
    relatedTransactionId = serializers.CharField(source="related_id", allow_null=True)
    reason = serializers.CharField()
    createdAt = TimestampField(source="created_at")
    availableAt = TimestampField(source="available_at", allow_null=True)
    completedAt = TimestampField(source="completed_at", allow_null=True)
