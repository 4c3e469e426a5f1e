from decimal import Decimal, InvalidOperation

from django.core.management.base import CommandError

from accounts.models import CreditTransaction, User
from accounts.selectors import users_by_username
from accounts.services import credits_grant
from allmine.exceptions import ApiError
from allmine.ids import is_object_id
from allmine.management import StaffCommand

# What the ledger's and the balance's columns hold (12 digits, 2 of them decimals).
MAX_AMOUNT = Decimal("9999999999.99")


class Command(StaffCommand):
    help = (
        "Grant (or, with a negative amount, take back) credits as a logged "
        "admin_adjustment. With --key, running it again with the same key does nothing."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("user", help="The user's id or username.")
        parser.add_argument("amount", help="Credits, at most 2 decimals; negative to take back.")
        parser.add_argument("--reason", required=True, help="Why; kept in the ledger.")
        parser.add_argument(
            "--key", default=None, help="An idempotency key: a grant with this key happens once."
        )

    def run(self, *, dry_run: bool, user, amount, reason, key, **options) -> str:
        target = self._user(user)
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise CommandError(f"AMOUNT must be a number, not {amount!r}.") from None
        if value.is_finite() and abs(value) > MAX_AMOUNT:
            raise CommandError(f"AMOUNT must be at most {MAX_AMOUNT} either way.")
        if not value.is_finite() or value == 0 or value != value.quantize(Decimal("0.01")):
            raise CommandError("AMOUNT must be a non-zero number with at most 2 decimals.")
        if target.credit_balance + value > MAX_AMOUNT:
            raise CommandError(f"A balance holds at most {MAX_AMOUNT} credits.")
        if not reason.strip():
            raise CommandError("--reason must not be empty.")
        if key and len(key) > 64:
            raise CommandError("--key must be at most 64 characters.")
        if key:
            used_by = (
                CreditTransaction.objects.filter(idempotency_key=key)
                .values_list("user_id", flat=True)
                .first()
            )
            if used_by == target.pk:
                return f"A grant with the key {key!r} was already made; nothing done."
            if used_by is not None:
                raise CommandError(f"The key {key!r} was already used for another user.")
        if dry_run:
            return (
                f"Would change {target.username}'s balance by {value} "
                f"({target.credit_balance} now)."
            )
        try:
            entry = credits_grant(user=target, amount=value, reason=reason, idempotency_key=key)
        except ApiError as exc:
            raise CommandError("; ".join(exc.details)) from None
        return f"{target.username}: {value:+} credits, balance now {entry.balance_after}."

    def _user(self, ref: str) -> User:
        found = User.objects.filter(pk=ref).first() if is_object_id(ref) else None
        found = found or users_by_username(ref).first()
        if found is None:
            raise CommandError(f"No user has the id or username {ref!r}.")
        return found
