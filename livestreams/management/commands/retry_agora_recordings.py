from collections import Counter

from django.utils import timezone

from allmine.core.commands import StaffCommand
from livestreams.agora.recording import is_configured
from livestreams.models import Recording, RecordingStatus
from livestreams.services.recording import recording_run, recordings_due


class Command(StaffCommand):
    help = (
        "Work now on the cloud recordings that are due (what the retry_agora_recordings "
        "task does every minute): start the ones that failed to start, check running "
        "ones, stop those of streams that are over, and give up on uploads Agora never "
        "confirmed."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        due = list(
            recordings_due(timezone.now()).values_list("pk", "status", "channel_name", "attempts")
        )
        failed = Recording.objects.filter(status=RecordingStatus.FAILED).count()
        tail = f"{failed} recording(s) failed (see the back office)."
        if not is_configured():
            return (
                "Cloud Recording is not configured (the REST API and "
                f"AGORA_RECORDING_STORAGE_*): nothing done; {len(due)} waiting; {tail}"
            )
        if dry_run:
            for pk, status, channel, attempts in due:
                self.stdout.write(
                    f"would work on recording {pk} ({status}) of {channel}, "
                    f"{attempts} attempt(s) so far"
                )
            return f"{len(due)} recording(s) would be worked on; {tail}"
        outcomes: Counter[str] = Counter()
        pending = [pk for pk, *_rest in due]
        for pk in self.progress(pending, what="recordings"):
            outcome = recording_run(recording_id=pk)
            outcomes[outcome.name] += 1
            while outcome.follow_up is not None:
                outcome = recording_run(recording_id=outcome.follow_up)
                outcomes[outcome.name] += 1
        done = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
        return f"Worked on {len(due)} recording(s): {done or 'nothing'}; {tail}"
