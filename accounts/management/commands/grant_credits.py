from decimal import Decimal

from django.core.management.base import CommandError
from django.db import transaction

from accounts.models import User
from accounts.selectors import users_by_username
from accounts.services.credits import credits_grant
from allmine.core.commands import StaffCommand
from allmine.core.errors import ApiError
from allmine.core.ids import is_object_id


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

    def run(self, *, dry_run: bool, user, amount, reason, key, **options) -> str:  # type: ignore[override]  # its own arguments
        target = self._user(user)
        try:
            with transaction.atomic():
                grant = credits_grant(
                    user=target, amount=amount, reason=reason, idempotency_key=key
                )
                # A dry run makes every check of a real grant, then undoes it.
                transaction.set_rollback(dry_run)
        except ApiError as exc:
            raise CommandError("; ".join(exc.details)) from None
        if grant.replayed:
            return f"A grant with the key {key!r} was already made; nothing done."
        entry = grant.entry
        if dry_run:
            return (
                f"Would change {target.username}'s balance by {amount} "
                f"({target.credit_balance} now)."
            )
        return f"{target.username}: {Decimal(amount):+} credits, balance now {entry.balance_after}."

    def _user(self, ref: str) -> User:
        found = User.objects.filter(pk=ref).first() if is_object_id(ref) else None
        found = found or users_by_username(ref).first()
        if found is None:
            raise CommandError(f"No user has the id or username {ref!r}.")
        return found
