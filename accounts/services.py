"""Writes for accounts: registration, JWT pairs, profile photos, credits."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import (
    CreditTransaction,
    ProfilePhoto,
    TransactionKind,
    TransactionStatus,
    User,
    new_agora_uid,
)
from accounts.selectors import users_by_email, users_by_username
from allmine.exceptions import AuthenticationRequired, Conflict, NotFound, ValidationFailed
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


@transaction.atomic
def user_sign_up(**fields) -> tuple[User, dict]:
    """Register a user and open their first session, as one unit: a user whose
    tokens could not be issued is not left behind."""
    user = user_register(**fields)
    return user, token_pair_issue(user=user)


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


# --- Credits ---------------------------------------------------------------------
# The balance is changed only here, with the user's row locked and the ledger entry
# written in the same transaction, so that it always equals the sum of the ledger.

CENT = Decimal("0.01")


def _cents(amount) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def lock_users(user_ids) -> None:
    """Lock several users' rows in one fixed order (by id), so that two
    transactions moving credits between the same users never deadlock."""
    ids = sorted({str(pk) for pk in user_ids})
    list(User.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def credit_post(
    *,
    user_id: str,
    amount,
    kind: str,
    live_stream=None,
    related: CreditTransaction | None = None,
    reason: str = "",
    actor: User | None = None,
    pending_until=None,
    idempotency_key: str | None = None,
) -> CreditTransaction:
    """Write one ledger entry and, unless it is pending, apply it to the balance.

    Runs inside the caller's transaction. A debit that would take the balance
    below zero raises a 409 and writes nothing.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("credit_post must run inside a transaction")
    amount = _cents(amount)
    if amount == 0:
        raise ValidationFailed.field("amount", "Must not be zero.")
    now = timezone.now()
    entry = CreditTransaction(
        user_id=user_id,
        kind=kind,
        amount=amount,
        live_stream=live_stream,
        related=related,
        reason=reason[:255],
        created_by=actor,
        created_at=now,
        idempotency_key=idempotency_key or None,
    )
    if pending_until is not None:
        entry.status = TransactionStatus.PENDING
        entry.available_at = pending_until
        entry.save(force_insert=True)
        return entry
    entry.balance_after = _apply_to_balance(user_id=user_id, amount=amount)
    entry.status = TransactionStatus.COMPLETED
    entry.completed_at = now
    entry.save(force_insert=True)
    return entry


def _apply_to_balance(*, user_id: str, amount: Decimal) -> Decimal:
    balance = (
        User.objects.select_for_update()
        .filter(pk=user_id)
        .values_list("credit_balance", flat=True)
        .first()
    )
    if balance is None:
        raise NotFound("No user has this id.")
    new_balance = balance + amount
    if new_balance < 0:
        raise Conflict(
            f"Insufficient credits: this needs {-amount} credits and the balance is {balance}."
        )
    User.objects.filter(pk=user_id).update(credit_balance=new_balance)
    return new_balance


def credit_settle(*, entry_id: str) -> CreditTransaction | None:
    """Complete one pending entry whose time has come; None if it was already
    settled (so running a settlement twice pays nothing twice)."""
    with transaction.atomic():
        entry = (
            CreditTransaction.objects.select_for_update()
            .filter(pk=entry_id, status=TransactionStatus.PENDING, available_at__lte=timezone.now())
            .first()
        )
        if entry is None:
            return None
        entry.balance_after = _apply_to_balance(user_id=entry.user_id, amount=entry.amount)
        entry.status = TransactionStatus.COMPLETED
        entry.completed_at = timezone.now()
        entry.save(update_fields=["balance_after", "status", "completed_at"])
        return entry


@transaction.atomic
def credits_grant(
    *,
    user: User,
    amount,
    reason: str,
    actor: User | None = None,
    idempotency_key: str | None = None,
) -> CreditTransaction:
    """An administrator's adjustment (positive grants, negative takes back)."""
    if not reason or not reason.strip():
        raise ValidationFailed.field("reason", "A reason is required.")
    return credit_post(
        user_id=user.pk,
        amount=amount,
        kind=TransactionKind.ADMIN_ADJUSTMENT,
        reason=reason.strip(),
        actor=actor,
        idempotency_key=idempotency_key,
    )
