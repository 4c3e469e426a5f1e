from django.contrib.auth import get_user_model
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from allmine.core.ids import is_object_id


class BearerAuthentication(JWTAuthentication):
    """simplejwt's check, loading the caller with their profile photo in the
    same single query (every response that shows the caller needs it)."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError:
            raise InvalidToken("The token carries no user.") from None
        if not is_object_id(user_id):  # never queried: PostgreSQL refuses a NUL in text
            raise InvalidToken("The token carries no valid user id.")
        user = (
            get_user_model()
            .objects.select_related("profile_photo")
            .filter(**{api_settings.USER_ID_FIELD: user_id})
            .first()
        )
        if user is None:
            raise AuthenticationFailed("User not found.", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive.", code="user_inactive")
        return user
