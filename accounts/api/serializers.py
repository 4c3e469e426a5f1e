"""What the accounts API renders and accepts: each response shape has one
serializer, which both renders it and documents it in the OpenAPI schema."""

from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import (
    AvailabilityStatus,
    TransactionDirection,
    TransactionKind,
    TransactionStatus,
)
from allmine.core.fields import (
    DayOrTimestampField,
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
from allmine.core.queries import QueryParametersSerializer

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


class CsvChoicesField(serializers.ListField):
    """A list given as repeated parameters, comma-separated values, or both
    (`?types=a,b&types=c`); each value one of `choices`."""

    default_error_messages = {"unknown": "{value} is not one of: {choices}."}

    def __init__(self, *, choices, **kwargs):
        self.choices = list(choices)
        kwargs.setdefault("child", serializers.ChoiceField(choices=self.choices))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 50)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = [data] if isinstance(data, str) else data
        if isinstance(values, list):
            values = [part.strip() for v in values if isinstance(v, str) for part in v.split(",")]
            values = [v for v in values if v]
            for value in values:
                if value not in self.choices:
                    self.fail("unknown", value=repr(value)[:60], choices=", ".join(self.choices))
        return super().to_internal_value(values)


class TransactionQuerySerializer(QueryParametersSerializer):
    """The filters of GET /users/me/transactions (API-more §13.1); `page` and
    `limit` are read by `paginate`."""

    types = CsvChoicesField(
        choices=TransactionKind.values, help_text="Comma-separated or repeated."
    )
    statuses = CsvChoicesField(
        choices=TransactionStatus.values,
        help_text="The statuses shown (a contribution shows completed, its refund refunded).",
    )
    direction = serializers.ChoiceField(choices=TransactionDirection.values, required=False)
    dateFrom = DayOrTimestampField(
        source="date_from",
        required=False,
        help_text="From this time (inclusive); a bare date: the start of that UTC day.",
    )
    dateTo = DayOrTimestampField(
        source="date_to",
        required=False,
        end_of_day=True,
        help_text="Up to this time (inclusive); a bare date: the end of that UTC day.",
    )
    sort = serializers.ChoiceField(
        choices=["asc", "desc"], required=False, default="desc", help_text="On occurredAt."
    )

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"dateFrom": "Must not be after dateTo."})
        return attrs


# Renders a CreditTransaction annotated with `shown_status` (`selectors.transactions_filtered`).
class CreditTransactionSerializer(serializers.Serializer):
    id = IdField()
    type = serializers.ChoiceField(source="kind", choices=TransactionKind.values)
    kind = serializers.ChoiceField(
        choices=TransactionKind.values, help_text="The same as `type` (kept for a while)."
    )
    direction = serializers.SerializerMethodField()
    status = serializers.ChoiceField(source="shown_status", choices=TransactionStatus.values)
    amount = serializers.SerializerMethodField()
    occurredAt = TimestampField(source="created_at", help_text="When the entry was made.")
    balanceAfter = MoneyField(source="balance_after", allow_null=True)
    liveStreamId = IdField(source="live_stream_id", allow_null=True)
    relatedTransactionId = IdField(source="related_id", allow_null=True)
    reason = serializers.CharField()
    createdAt = TimestampField(source="created_at")
    availableAt = TimestampField(source="available_at", allow_null=True)
    completedAt = TimestampField(source="completed_at", allow_null=True)

    @extend_schema_field(
        serializers.ChoiceField(
            choices=TransactionDirection.values, help_text="A credit raises the balance."
        )
    )
    def get_direction(self, entry) -> str:
        return TransactionDirection.CREDIT if entry.amount > 0 else TransactionDirection.DEBIT

    @extend_schema_field(
        {
            "type": "number",
            "minimum": 0,
            "exclusiveMinimum": True,
            "description": "The size; `direction` signs it.",
        }
    )
    def get_amount(self, entry) -> float:
        return money_to_json(abs(entry.amount))


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
