"""Writes for accounts: registration, JWT pairs, profile photos."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import ProfilePhoto, User, new_agora_uid
from accounts.selectors import users_by_email, users_by_username
from allmine.exceptions import AuthenticationRequired, Conflict, ValidationFailed
from allmine.ids import new_object_id
from allmine.images import process_uploaded_image
from allmine.media import StoredFiles, delete_files_on_commit

AGORA_UID_ATTEMPTS = 5


def user_register(*, username: str, email: str, password: str, name: str, surname: str) -> User:
    if users_by_username(username).exists():
        raise Conflict("username: A user with this username already exists.")
    if users_by_email(email).exists():
        raise Conflict("email: A user with this e-mail already exists.")
    user = User(username=username, email=email, name=name, surname=surname)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(*(f"password: {m}" for m in exc.messages)) from None
    user.set_password(password)

    for _attempt in range(AGORA_UID_ATTEMPTS):
        try:
            with transaction.atomic():
                user.save(force_insert=True)
            return user
        except IntegrityError:
            # A racing registration took the name, or (rarely) the random Agora uid
            # is taken: tell the two apart and retry only the latter.
            if users_by_username(username).exists():
                raise Conflict("username: A user with this username already exists.") from None
            if users_by_email(email).exists():
                raise Conflict("email: A user with this e-mail already exists.") from None
            user.agora_uid = new_agora_uid()
    raise Conflict("Could not allocate an Agora uid; try again.")


def user_login(*, login: str, password: str) -> User:
    user = authenticate(login=login, password=password)
    if user is None:
        raise AuthenticationRequired("Invalid login or password.")
    return user


def _token_pair(refresh: RefreshToken) -> dict:
    return {
        "accessToken": str(refresh.access_token),
        "refreshToken": str(refresh),
        "expiresIn": int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        "refreshExpiresIn": int(jwt_settings.REFRESH_TOKEN_LIFETIME.total_seconds()),
    }


def token_pair_issue(*, user: User) -> dict:
    return _token_pair(RefreshToken.for_user(user))


def _valid_refresh_token(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # checks signature, expiry, type and the blacklist
    except TokenError:
        raise AuthenticationRequired("The refresh token is invalid, expired or revoked.") from None


@transaction.atomic
def token_pair_refresh(*, refresh_token: str) -> tuple[User, dict]:
    """A new pair for a valid refresh token; the old one is blacklisted."""
    old = _valid_refresh_token(refresh_token)
    user = User.objects.filter(
        pk=old.payload.get(jwt_settings.USER_ID_CLAIM), is_active=True
    ).first()
    if user is None:
        raise AuthenticationRequired("The account is not active.")
    _entry, newly_blacklisted = old.blacklist()
    if not newly_blacklisted:  # a concurrent refresh with the same token won
        raise AuthenticationRequired("The refresh token is invalid, expired or revoked.")
    return user, token_pair_issue(user=user)


@transaction.atomic
def token_revoke(*, refresh_token: str) -> None:
    token = _valid_refresh_token(refresh_token)
    token.blacklist()


def profile_photo_set(*, user: User, upload) -> ProfilePhoto:
    """Replace the user's profile photo with `upload` and its square WebP variants."""
    image = process_uploaded_image(upload, "file")
    photo = ProfilePhoto(id=new_object_id(), user=user)
    with StoredFiles() as files, transaction.atomic():
        old = ProfilePhoto.objects.select_for_update().filter(user=user).first()
        photo.original = files.save(
            f"profiles/{user.pk}/{photo.id}/original.{image.extension}", image.encode()
        )
        photo.variants = {
            str(edge): files.save(
                f"profiles/{user.pk}/{photo.id}/{edge}.webp", image.square_webp(edge)
            )
            for edge in settings.PROFILE_PHOTO_VARIANT_SIZES
        }
        if old is not None:
            old.delete()
            delete_files_on_commit(old.stored_names())
        photo.save(force_insert=True)
    user.profile_photo = photo
    return photo
