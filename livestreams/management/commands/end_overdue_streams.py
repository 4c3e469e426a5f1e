from django.utils import timezone

from allmine.core.commands import StaffCommand
from livestreams.services.jobs import livestream_end_overdue, overdue_streams


class Command(StaffCommand):
    help = (
        "End active streams more than LIVESTREAM_OVERDUE_GRACE_MINUTES past their "
        "planned end (or LIVESTREAM_MAX_DURATION_HOURS after their start without one)."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        now = timezone.now()
        candidates = list(overdue_streams(now).values_list("pk", "title"))
        if dry_run:
            for pk, title in candidates:
                self.stdout.write(f"would end {pk}  {title}")
            return f"{len(candidates)} stream(s) would be ended."
        ended = sum(
            livestream_end_overdue(live_stream_id=pk, now=now)
            for pk, _title in self.progress(candidates, what="streams")
        )
        return f"Ended {ended} stream(s); {len(candidates) - ended} no longer qualified."
