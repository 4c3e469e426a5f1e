"""What the accounts API renders and accepts: each response shape has one
serializer, which both renders it and documents it in the OpenAPI schema."""

from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AvailabilityStatus, TransactionKind, TransactionStatus
from allmine.core.fields import (
    IdField,
    MoneyField,
    TextField,
    TimestampField,
    UrlField,
    money_to_json,
)
from allmine.core.media import media_url
from allmine.core.pagination import page_serializer

USERNAME_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9._-]{3,30}$", "Use 3 to 30 letters, digits, dots, dashes or underscores."
)


# --- Output -------------------------------------------------------------------


class ProfilePhotoSerializer(serializers.Serializer):
    _id = IdField(source="id")
    url = serializers.SerializerMethodField()
    type = serializers.SerializerMethodField()
    variants = serializers.SerializerMethodField()
    createdAt = TimestampField(source="created_at")
    updatedAt = TimestampField(source="updated_at")

    @extend_schema_field(UrlField(help_text="The stored original (re-encoded, metadata stripped)."))
    def get_url(self, photo) -> str:
        return media_url(photo.original)

    @extend_schema_field(serializers.ChoiceField(choices=["image"]))
    def get_type(self, photo) -> str:
        return "image"

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "string", "format": "uri"},
            "description": "Edge in pixels (as a string) -> URL of a square WebP of that size.",
            "example": {
                "40": "https://cdn.example.com/profiles/user/40.webp",
                "76": "https://cdn.example.com/profiles/user/76.webp",
            },
        }
    )
    def get_variants(self, photo) -> dict[str, str]:
        return {edge: media_url(name) for edge, name in photo.variants.items()}


class UserSummarySerializer(serializers.Serializer):
    _id = IdField(source="id")
    username = serializers.CharField()
    name = serializers.CharField()
    surname = serializers.CharField()
    profilePhoto = serializers.SerializerMethodField()
    availabilityStatus = serializers.ChoiceField(
        source="availability_status", choices=AvailabilityStatus.values
    )

    @extend_schema_field(ProfilePhotoSerializer(allow_null=True))
    def get_profilePhoto(self, user) -> dict | None:
        try:
            photo = user.profile_photo
        except ObjectDoesNotExist:
            return None
        return ProfilePhotoSerializer(photo).data


class MeSerializer(UserSummarySerializer):
    email = serializers.EmailField()
    creditBalance = serializers.SerializerMethodField()

    @extend_schema_field({"type": "number", "minimum": 0})
    def get_creditBalance(self, user) -> float:
        return money_to_json(user.credit_balance)


# --- Input --------------------------------------------------------------------


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=30, validators=[USERNAME_VALIDATOR])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    name = TextField(max_length=100)
    surname = TextField(max_length=100)


class LoginInputSerializer(serializers.Serializer):
    login = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshTokenInputSerializer(serializers.Serializer):
    refreshToken = serializers.CharField(max_length=4096)


class ProfilePhotoInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, max_length=255)


class CreditTransactionSerializer(serializers.Serializer):
    id = IdField()
    kind = serializers.ChoiceField(choices=TransactionKind.values)
    status = serializers.ChoiceField(choices=TransactionStatus.values)
    amount = MoneyField()
    balanceAfter = MoneyField(source="balance_after", allow_null=True)
    liveStreamId = IdField(source="live_stream_id", allow_null=True)
    relatedTransactionId = IdField(source="related_id", allow_null=True)
    reason = serializers.CharField()
    createdAt = TimestampField(source="created_at")
    availableAt = TimestampField(source="available_at", allow_null=True)
    completedAt = TimestampField(source="completed_at", allow_null=True)


CreditTransactionPageSerializer = page_serializer(CreditTransactionSerializer)


# Renders `{"tokens": services.auth.TokenPair, "user": User}`.
class AuthSessionSerializer(serializers.Serializer):
    accessToken = serializers.CharField(
        source="tokens.access_token", help_text="A JWT; send it as `Authorization: Bearer`."
    )
    refreshToken = serializers.CharField(
        source="tokens.refresh_token", help_text="Exchange it at /auth/refresh; single use."
    )
    expiresIn = serializers.IntegerField(
        source="tokens.expires_in", help_text="Seconds the access token lives."
    )
    refreshExpiresIn = serializers.IntegerField(
        source="tokens.refresh_expires_in", help_text="Seconds the refresh token lives."
    )
    user = MeSerializer()


class LogoutResponseSerializer(serializers.Serializer):
    loggedOut = serializers.BooleanField(source="logged_out")
