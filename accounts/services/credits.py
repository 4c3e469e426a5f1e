"""Credits: the balance is changed only here, with the user's row locked and the
ledger entry written in the same transaction, so that it always equals the sum of
the ledger and is never negative."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus, User
from allmine.core.errors import Conflict, NotFound, ValidationFailed

CENT = Decimal("0.01")
# What the ledger's and the balance's columns hold (12 digits, 2 of them decimals).
MAX_AMOUNT = Decimal("9999999999.99")
IDEMPOTENCY_KEY_MAX = 64


def _cents(amount: Decimal | int | str) -> Decimal:
    """The amount as a Decimal of cents; more than 2 decimals is refused, never rounded."""
    value = Decimal(amount)
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationFailed.field("amount", _("Use at most 2 decimals."))
    return value.quantize(CENT)


def lock_users(user_ids: Iterable[str]) -> None:
    """Lock several users' rows in one fixed order (by id), so that two
    transactions moving credits between the same users never deadlock."""
    ids = sorted({str(pk) for pk in user_ids})
    list(User.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def credit_post(
    *,
    user_id: str,
    amount: Decimal | int | str,
    kind: str,
    live_stream: Any = None,  # a livestreams LiveStream (accounts does not import livestreams)
    related: CreditTransaction | None = None,
    reason: str = "",
    actor: User | None = None,
    pending_until: datetime | None = None,
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
        raise ValidationFailed.field("amount", _("Must not be zero."))
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
        raise NotFound(_("No user has this id."))
    new_balance = balance + amount
    if new_balance < 0:
        raise Conflict(
            _("Insufficient credits: this needs %(needed)s credits and the balance is %(balance)s.")
            % {"needed": -amount, "balance": balance}
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


@dataclass(frozen=True)
class CreditGrant:
    entry: CreditTransaction
    # True when the idempotency key was used before for this user: `entry` is
    # that earlier grant, and nothing was done now.
    replayed: bool = False


@transaction.atomic
def credits_grant(
    *,
    user: User,
    amount: Decimal | int | str,
    reason: str,
    actor: User | None = None,
    idempotency_key: str | None = None,
) -> CreditGrant:
    """An administrator's adjustment (positive grants, negative takes back): a
    non-zero amount with at most 2 decimals, within what a balance holds. With an
    `idempotency_key`, a grant happens once: repeating it for the same user
    replays the first (nothing changes); the key names one user only."""
    if not reason or not reason.strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    value = grant_amount(amount)
    if idempotency_key:
        if len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
            raise ValidationFailed.field(
                "key", _("At most %(count)s characters.") % {"count": IDEMPOTENCY_KEY_MAX}
            )
        earlier = CreditTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if earlier is not None and earlier.user_id == user.pk:
            return CreditGrant(entry=earlier, replayed=True)
        if earlier is not None:
            raise Conflict(
                _("The key %(key)r was already used for another user.") % {"key": idempotency_key}
            )
    balance = User.objects.filter(pk=user.pk).values_list("credit_balance", flat=True).first()
    if balance is not None and balance + value > MAX_AMOUNT:
        raise ValidationFailed.field(
            "amount", _("A balance holds at most %(maximum)s credits.") % {"maximum": MAX_AMOUNT}
        )
    entry = credit_post(
        user_id=user.pk,
        amount=value,
        kind=TransactionKind.ADMIN_ADJUSTMENT,
        reason=reason.strip(),
        actor=actor,
        idempotency_key=idempotency_key,
    )
    return CreditGrant(entry=entry)


def grant_amount(amount: Decimal | int | str) -> Decimal:
    """An adjustment's amount: a non-zero number with at most 2 decimals, at most
    MAX_AMOUNT either way."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed.field("amount", _("Must be a number.")) from None
    if value.is_finite() and abs(value) > MAX_AMOUNT:
        raise ValidationFailed.field(
            "amount", _("Must be at most %(maximum)s either way.") % {"maximum": MAX_AMOUNT}
        )
    if not value.is_finite() or value == 0 or value != value.quantize(CENT):
        raise ValidationFailed.field(
            "amount", _("Must be a non-zero number with at most 2 decimals.")
        )
    return value.quantize(CENT)
