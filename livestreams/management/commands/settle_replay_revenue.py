from decimal import Decimal

from django.db.models import Sum

from allmine.core.commands import StaffCommand
from livestreams.services.jobs import replay_revenue_due, replay_revenue_settle


class Command(StaffCommand):
    help = (
        "Pay creators and guests their share of replay rentals whose 24 h window "
        "has closed. Each share is paid once, however often this runs."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        due = replay_revenue_due()
        if dry_run:
            total = due.aggregate(total=Sum("amount"))["total"] or Decimal("0")
            total = total.quantize(Decimal("0.01"))  # SQLite's sum drops the decimals
            return f"{due.count()} share(s) would be paid, {total} credits in all."
        ids = list(due.values_list("pk", flat=True))
        paid, total = 0, Decimal("0.00")
        for pk in self.progress(ids, what="shares"):
            amount = replay_revenue_settle(entry_id=pk)
            if amount is not None:
                paid += 1
                total += amount
        return f"Paid {paid} share(s), {total} credits in all."
