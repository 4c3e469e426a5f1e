from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionKind, TransactionStatus
from accounts.services.credits import credit_settle
from allmine.core.commands import StaffCommand


class Command(StaffCommand):
    help = (
        "Pay creators and guests their share of replay rentals whose 24 h window "
        "has closed. Each share is paid once, however often this runs."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        due = CreditTransaction.objects.filter(
            kind=TransactionKind.REPLAY_REVENUE,
            status=TransactionStatus.PENDING,
            available_at__lte=timezone.now(),
        )
        if dry_run:
            total = due.aggregate(total=Sum("amount"))["total"] or Decimal("0")
            total = total.quantize(Decimal("0.01"))  # SQLite's sum drops the decimals
            return f"{due.count()} share(s) would be paid, {total} credits in all."
        ids = list(due.order_by("available_at").values_list("pk", flat=True))
        paid, total = 0, Decimal("0.00")
        for pk in self.progress(ids, what="shares"):
            entry = credit_settle(entry_id=pk)
            if entry is not None:
                paid += 1
                total += entry.amount
        return f"Paid {paid} share(s), {total} credits in all."
