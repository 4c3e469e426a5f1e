"""Signing up and in: registration, sign-in, and the JWT pairs."""

from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User, new_agora_uid
from accounts.selectors import users_by_email, users_by_username
from allmine.core.errors import AuthenticationRequired, Conflict, ValidationFailed
from allmine.core.ids import is_object_id

AGORA_UID_ATTEMPTS = 5


@dataclass(frozen=True)
class TokenPair:
    """A session's access and refresh tokens, and how long each lives (seconds)."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


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


@transaction.atomic
def user_sign_up(**fields) -> tuple[User, TokenPair]:
    """Register a user and open their first session, as one unit: a user whose
    tokens could not be issued is not left behind."""
    user = user_register(**fields)
    return user, token_pair_issue(user=user)


def user_login(*, login: str, password: str) -> User:
    user = authenticate(login=login, password=password)
    if user is None:
        raise AuthenticationRequired("Invalid login or password.")
    return user


def _token_pair(refresh: RefreshToken) -> TokenPair:
    return TokenPair(
        access_token=str(refresh.access_token),
        refresh_token=str(refresh),
        expires_in=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        refresh_expires_in=int(jwt_settings.REFRESH_TOKEN_LIFETIME.total_seconds()),
    )


def token_pair_issue(*, user: User) -> TokenPair:
    return _token_pair(RefreshToken.for_user(user))


def _valid_refresh_token(raw: str) -> RefreshToken:
    try:
        token = RefreshToken(raw)  # checks signature, expiry, type and the blacklist
    except TokenError:
        raise AuthenticationRequired("The refresh token is invalid, expired or revoked.") from None
    if not is_object_id(token.payload.get(jwt_settings.USER_ID_CLAIM)):
        # Never looked up (PostgreSQL refuses a NUL in text): no user has such an id.
        raise AuthenticationRequired("The refresh token is invalid, expired or revoked.")
    return token


@transaction.atomic
def token_pair_refresh(*, refresh_token: str) -> tuple[User, TokenPair]:
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
