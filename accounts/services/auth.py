"""Signing up and in: registration, sign-in (with a limit on failed sign-ins per
account), and the JWT pairs."""

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User, new_agora_uid
from accounts.selectors import user_by_login, users_by_email, users_by_username
from allmine.core.errors import (
    AuthenticationRequired,
    Conflict,
    TooManyRequests,
    ValidationFailed,
)
from allmine.core.ids import is_object_id
from allmine.core.throttling import WindowCounter, cache_skipped

AGORA_UID_ATTEMPTS = 5
logger = logging.getLogger("allmine.auth")


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
    raise Conflict(_("Could not allocate an Agora uid; try again."))


@transaction.atomic
def user_sign_up(**fields: Any) -> tuple[User, TokenPair]:
    """Register a user and open their first session, as one unit: a user whose
    tokens could not be issued is not left behind."""
    user = user_register(**fields)
    return user, token_pair_issue(user=user)


# --- Failed sign-ins per account ---------------------------------------------------
#
# The sign-in rate is limited per client address (LoginThrottle); a guess spread
# over many addresses is slowed by this limit per account, which the API's sign-in
# and the admin's login form both keep: after LOGIN_ACCOUNT_MAX_FAILURES failed
# sign-ins to one account within LOGIN_ACCOUNT_FAILURE_WINDOW seconds, its sign-in
# is refused (429, Retry-After) until the window ends, the password unchecked. An
# attacker cannot lock the owner out for good: the lock ends with the window, and an
# address the account signed in from successfully (in the last
# LOGIN_KNOWN_ADDRESS_DAYS) is never locked out. Logins naming no account are
# counted the same way, so the limit tells nobody which accounts exist.
#
# Not django-axes (installed, and considered): its backend requires the HTTP request
# in authenticate(), which our services call with login= and password= only; it
# counts attempts per submitted field, so the username and the e-mail of one account
# would be counted apart; its lockout answer is its own page, not the envelope; and
# it has no exemption for the owner's known address. The counters here are the
# throttles' own (Redis, one round trip, failing open when the cache is down).


def _failures() -> WindowCounter:
    return WindowCounter("login_account_failures", settings.LOGIN_ACCOUNT_FAILURE_WINDOW)


def _account_key(login: str) -> str:
    """One key per account whichever of its names is typed; a login that names no
    account is a key of its own (hashed: it may be anything)."""
    user = user_by_login(login) if login else None
    if user is not None:
        return str(user.pk)
    return "unknown-" + hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]


def _known_address_key(account: str, client_address: str | None) -> str | None:
    if not client_address:
        return None
    digest = hashlib.sha256(f"{account}|{client_address}".encode()).hexdigest()[:32]
    return f"login_known_address_{digest}"


def _is_known_address(account: str, client_address: str | None) -> bool:
    key = _known_address_key(account, client_address)
    if key is None or cache_skipped():
        return False
    try:
        return bool(cache.get(key))
    except Exception:  # the cache is down: the limit fails open anyway
        return False


def login_ensure_allowed(*, login: str, client_address: str | None) -> str:
    """Refuse (429) a sign-in to an account that had too many failed ones lately,
    unless it comes from an address the account signed in from before. Returns the
    account's key for `login_failed` / `login_succeeded`."""
    account = _account_key(login)
    limit = settings.LOGIN_ACCOUNT_MAX_FAILURES
    if _failures().count(account) >= limit and not _is_known_address(account, client_address):
        wait = _failures().seconds_left()
        logger.warning("Sign-in refused: too many failed sign-ins to one account.")
        raise TooManyRequests(
            _("Too many failed sign-ins to this account; try again in %(minutes)s minute(s).")
            % {"minutes": -(-wait // 60)},
            retry_after=wait,
        )
    return account


def login_failed(*, account: str) -> None:
    _failures().hit(account)


def login_succeeded(*, account: str, client_address: str | None) -> None:
    """Remember the address the account signed in from: it is not locked out later."""
    key = _known_address_key(account, client_address)
    if key is None or cache_skipped():
        return
    try:
        cache.set(key, 1, timeout=settings.LOGIN_KNOWN_ADDRESS_DAYS * 86400)
    except Exception:
        logger.warning("Could not remember a sign-in address: the cache is unreachable.")


def user_login(*, login: str, password: str, client_address: str | None = None) -> User:
    account = login_ensure_allowed(login=login, client_address=client_address)
    user = authenticate(login=login, password=password)
    if user is None:
        login_failed(account=account)
        raise AuthenticationRequired(_("Invalid login or password."))
    login_succeeded(account=account, client_address=client_address)
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
        token = RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt annotates a Token, takes the encoded str
        # (it checks signature, expiry, type and the blacklist)
    except TokenError:
        raise AuthenticationRequired(
            _("The refresh token is invalid, expired or revoked.")
        ) from None
    if not is_object_id(token.payload.get(jwt_settings.USER_ID_CLAIM)):
        # Never looked up (PostgreSQL refuses a NUL in text): no user has such an id.
        raise AuthenticationRequired(_("The refresh token is invalid, expired or revoked."))
    return token


@transaction.atomic
def token_pair_refresh(*, refresh_token: str) -> tuple[User, TokenPair]:
    """A new pair for a valid refresh token; the old one is blacklisted."""
    old = _valid_refresh_token(refresh_token)
    user = User.objects.filter(
        pk=old.payload.get(jwt_settings.USER_ID_CLAIM), is_active=True
    ).first()
    if user is None:
        raise AuthenticationRequired(_("The account is not active."))
    # get_or_create's pair (simplejwt annotates one BlacklistedToken)
    _entry, newly_blacklisted = cast(tuple[BlacklistedToken, bool], old.blacklist())
    if not newly_blacklisted:  # a concurrent refresh with the same token won
        raise AuthenticationRequired(_("The refresh token is invalid, expired or revoked."))
    return user, token_pair_issue(user=user)


@transaction.atomic
def token_revoke(*, refresh_token: str) -> None:
    token = _valid_refresh_token(refresh_token)
    token.blacklist()
