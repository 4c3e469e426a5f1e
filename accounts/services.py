"""Writes for accounts: registration, JWT pairs, profile photos, credits."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.storage import default_storage
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
    profile_photo_path,
)
from accounts.selectors import users_by_email, users_by_username
from allmine.exceptions import AuthenticationRequired, Conflict, NotFound, ValidationFailed
from allmine.ids import is_object_id, new_object_id
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
        token = RefreshToken(raw)  # checks signature, expiry, type and the blacklist
    except TokenError:
        raise AuthenticationRequired("The refresh token is invalid, expired or revoked.") from None
    if not is_object_id(token.payload.get(jwt_settings.USER_ID_CLAIM)):
        # Never looked up (PostgreSQL refuses a NUL in text): no user has such an id.
        raise AuthenticationRequired("The refresh token is invalid, expired or revoked.")
    return token


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
    """The amount as a Decimal of cents; more than 2 decimals is refused, never rounded."""
    value = Decimal(amount)
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationFailed.field("amount", "Use at most 2 decimals.")
    return value.quantize(CENT)


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
    # Stamped once the user's row is locked, so the ledger's order is the order
    # in which the entries took effect.
    entry.created_at = entry.completed_at = timezone.now()
    entry.status = TransactionStatus.COMPLETED
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


# --- Moderation of accounts --------------------------------------------------------
# The back office's user actions. Each checks who may do it, locks the user's row,
# and leaves an audit record in the same transaction. (Imports are local to keep
# this section self-contained; they may move to the top of the module.)


def can_moderate_users(actor) -> bool:
    """Who may deactivate and reactivate accounts: account administrators
    (`accounts.change_user`) and moderators (`livestreams.moderate_livestream`;
    shutting an abusive account is a moderation act, editing it is not)."""
    return bool(
        actor is not None
        and actor.is_active
        and (
            actor.has_perm("accounts.change_user")
            or actor.has_perm("livestreams.moderate_livestream")
        )
    )


def _user_to_moderate(*, actor, user: User, reason: str) -> tuple[User, str]:
    from allmine.exceptions import InsufficientPermissions

    if not can_moderate_users(actor):
        raise InsufficientPermissions("You may not deactivate or reactivate accounts.")
    if not reason or not reason.strip():
        raise ValidationFailed.field("reason", "A reason is required.")
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        raise NotFound("No user has this id.")
    if locked.is_superuser and not actor.is_superuser:
        raise InsufficientPermissions("Only a superuser may deactivate or reactivate a superuser.")
    return locked, reason.strip()


def refresh_tokens_revoke(*, user: User) -> int:
    """Blacklist every unexpired refresh token of `user` that is not blacklisted
    yet; returns how many were. (Access tokens die with `is_active`.)"""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    outstanding = list(
        OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        ).only("pk")
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(outstanding)


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reason: str) -> User:
    """Shut an account: it can no longer sign in, use its access tokens or
    refresh them. Its data (streams, ledger) stay as they are."""
    from allmine.audit import audit_record

    locked, reason = _user_to_moderate(actor=actor, user=user, reason=reason)
    if locked.pk == actor.pk:
        raise Conflict("You cannot deactivate your own account.")
    if not locked.is_active:
        raise Conflict(f"{locked.username} is already inactive.")
    locked.is_active = False
    locked.save(update_fields=["is_active", "updated_at"])
    refresh_tokens_revoke(user=locked)
    audit_record(
        actor=actor,
        action="deactivate",
        target=locked,
        reason=reason,
        changes={"is_active": (True, False)},
    )
    user.is_active = False
    return locked


@transaction.atomic
def user_reactivate(*, actor: User, user: User, reason: str) -> User:
    """Open a deactivated account again; its owner signs in anew (the refresh
    tokens revoked on deactivation stay revoked)."""
    from allmine.audit import audit_record

    locked, reason = _user_to_moderate(actor=actor, user=user, reason=reason)
    if locked.is_active:
        raise Conflict(f"{locked.username} is already active.")
    locked.is_active = True
    locked.save(update_fields=["is_active", "updated_at"])
    audit_record(
        actor=actor,
        action="reactivate",
        target=locked,
        reason=reason,
        changes={"is_active": (False, True)},
    )
    user.is_active = True
    return locked


@transaction.atomic
def user_credits_adjust(*, actor: User, user: User, amount, reason: str) -> CreditTransaction:
    """A superuser's credit adjustment from the back office: `credits_grant`
    (the same rules as the API), audited. A take-back below zero writes nothing."""
    from allmine.audit import audit_record
    from allmine.exceptions import InsufficientPermissions

    if actor is None or not actor.is_active or not actor.is_superuser:
        raise InsufficientPermissions("Only a superuser may adjust credit balances.")
    entry = credits_grant(user=user, amount=amount, reason=reason, actor=actor)
    audit_record(
        actor=actor,
        action="adjust_credits",
        target=user,
        reason=entry.reason,
        changes={"credit_balance": (entry.balance_after - entry.amount, entry.balance_after)},
    )
    user.credit_balance = entry.balance_after
    return entry


# --- Profile photo variants ---------------------------------------------------------
# Rebuilt from the stored original when PROFILE_PHOTO_VARIANT_SIZES changes (the
# `regenerate_image_variants` command).


@dataclass(frozen=True)
class VariantPlan:
    """What bringing a photo's variants to the configured sizes takes."""

    build: tuple[int, ...]  # edges to (re)encode from the original
    remove: tuple[str, ...]  # variant keys no longer configured

    def __bool__(self) -> bool:
        return bool(self.build or self.remove)


def profile_photo_variant_plan(*, photo: ProfilePhoto, sizes, force: bool = False) -> VariantPlan:
    """Which variants of `photo` are missing (not recorded, or recorded but not in
    the storage), and which are no longer wanted. With `force`, every configured
    size is rebuilt."""
    wanted = [int(edge) for edge in dict.fromkeys(sizes)]
    build = tuple(
        edge
        for edge in wanted
        if force
        or str(edge) not in photo.variants
        or not default_storage.exists(photo.variants[str(edge)])
    )
    keys = {str(edge) for edge in wanted}
    return VariantPlan(build=build, remove=tuple(k for k in photo.variants if k not in keys))


def profile_photo_regenerate_variants(*, photo: ProfilePhoto, sizes, force: bool = False) -> bool:
    """Bring the square WebP variants of `photo` to `sizes`: encode the missing ones
    from the stored original, drop the ones no longer configured. Returns whether
    anything changed. New files are written under fresh names and the replaced ones
    deleted after commit, so a failure leaves the photo as it was.

    Raises FileNotFoundError if the original is gone, ValidationFailed if it no
    longer decodes, and the storage's own errors if the storage fails."""
    plan = profile_photo_variant_plan(photo=photo, sizes=sizes, force=force)
    if not plan:
        return False
    image = None
    if plan.build:  # decoding and encoding before any lock is taken
        with default_storage.open(photo.original, "rb") as original:
            image = process_uploaded_image(original, "original")
    with StoredFiles() as files, transaction.atomic():
        locked = ProfilePhoto.objects.select_for_update().filter(pk=photo.pk).first()
        if locked is None or locked.original != photo.original:
            return False  # replaced meanwhile: the new photo has its own variants
        variants = dict(locked.variants)
        obsolete = [variants.pop(key) for key in plan.remove if key in variants]
        for edge in plan.build:
            old = variants.get(str(edge))
            new = files.save(profile_photo_path(locked, f"{edge}.webp"), image.square_webp(edge))
            variants[str(edge)] = new
            if old and old != new:
                obsolete.append(old)
        locked.variants = dict(sorted(variants.items(), key=lambda item: int(item[0])))
        locked.save(update_fields=["variants", "updated_at"])
        delete_files_on_commit(obsolete)
    photo.variants = locked.variants
    photo.updated_at = locked.updated_at
    return True
