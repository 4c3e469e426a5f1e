from django.utils import timezone

from allmine.core.commands import StaffCommand
from livestreams.models import StreamReminder
from livestreams.services.reminders import reminders_due, reminders_run_due, stale_filter


class Command(StaffCommand):
    help = (
        "Send the stream reminders that are due (through REMINDER_NOTIFIER), each once, "
        "and drop those whose stream went by without them."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        now = timezone.now()
        if dry_run:
            due = reminders_due(now)
            stale = StreamReminder.objects.filter(stale_filter()).count()
            for reminder_id in due:
                self.stdout.write(f"would send {reminder_id}")
            return f"{len(due)} reminder(s) would be sent; {stale} would be dropped."
        run = reminders_run_due(now=now, progress=lambda ids: self.progress(ids, what="reminders"))
        return (
            f"Sent {run.fired} reminder(s); {run.failed} failed (kept for the next run); "
            f"{run.dropped} dropped; {run.skipped} no longer due."
        )
