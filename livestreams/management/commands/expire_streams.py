from django.utils import timezone

from allmine.core.commands import StaffCommand
from livestreams.services.jobs import expirable_streams, livestream_expire


class Command(StaffCommand):
    help = (
        "Expire scheduled streams nobody started once their planned start plus "
        "LIVESTREAM_START_GRACE_MINUTES has passed, refunding their funding."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        now = timezone.now()
        candidates = list(expirable_streams(now).values_list("pk", "title"))
        if dry_run:
            for pk, title in candidates:
                self.stdout.write(f"would expire {pk}  {title}")
            return f"{len(candidates)} stream(s) would expire."
        expired = sum(
            livestream_expire(live_stream_id=pk, now=now)
            for pk, _title in self.progress(candidates, what="streams")
        )
        return f"Expired {expired} stream(s); {len(candidates) - expired} no longer qualified."
