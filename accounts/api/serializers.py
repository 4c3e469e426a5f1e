"""What the accounts API renders and accepts: each response shape has one
serializer, which both renders it and documents it in the OpenAPI schema."""

from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AvailabilityStatus, TransactionKind, TransactionStatus
from allmine.core.fields import (
    FormInputSerializer,
    IdField,
    ImageUploadField,
    MoneyField,
    StrictCharField,
    StrictEmailField,
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


# Where a value must hold a character that is not white space (a CharField trims and
# refuses what is left blank) and no NUL (DRF refuses it in any CharField).
NOT_BLANK_NO_NUL = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
NO_NUL = r"^[^\u0000]*$"
# A JWT in its compact form: three base64url parts.
JWT_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$"


class PatternField(StrictCharField):
    """A string whose rule is stated in the schema as `openapi_pattern`."""

    def __init__(self, *, openapi_pattern: str, **kwargs) -> None:
        self.openapi_pattern = openapi_pattern
        super().__init__(**kwargs)

    def openapi_facts(self, direction: str) -> dict:
        return {"pattern": self.openapi_pattern} if direction == "request" else {}


class NewPasswordField(StrictCharField):
    """A new password; Django's password validators (settings.AUTH_PASSWORD_VALIDATORS)
    judge it in the service. What JSON Schema can say of them is in the schema."""

    def openapi_facts(self, direction: str) -> dict:
        if direction != "request":
            return {}
        return {
            "minLength": 8,
            # Not digits only, and no NUL.
            "pattern": r"^[^\u0000]*[^0-9\u0000][^\u0000]*$",
            "description": "At least 8 characters, not all digits, not a common password, "
            "not too similar to the username, e-mail or name.",
        }


class RegisterInputSerializer(serializers.Serializer):
    username = StrictCharField(max_length=30, validators=[USERNAME_VALIDATOR])
    email = StrictEmailField(max_length=254)
    password = NewPasswordField(max_length=128, trim_whitespace=False)
    name = TextField(max_length=100)
    surname = TextField(max_length=100)


class LoginInputSerializer(serializers.Serializer):
    login = PatternField(max_length=254, openapi_pattern=NOT_BLANK_NO_NUL)
    password = PatternField(max_length=128, trim_whitespace=False, openapi_pattern=NO_NUL)


class RefreshTokenInputSerializer(serializers.Serializer):
    refreshToken = PatternField(max_length=4096, openapi_pattern=JWT_PATTERN)


class ProfilePhotoInputSerializer(FormInputSerializer):
    file = ImageUploadField(allow_empty_file=True, max_length=255)


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
