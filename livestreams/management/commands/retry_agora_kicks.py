from django.utils import timezone

from allmine.core.commands import StaffCommand
from livestreams.agora.kicks import FAILED, MAX_ATTEMPTS, SENT, SKIPPED, kick_send, kicks_due
from livestreams.agora.rest import is_configured
from livestreams.models import AgoraKick, AgoraKickStatus


class Command(StaffCommand):
    help = (
        "Send again the Agora kicks (banned users, ended streams) that failed or never "
        "ran, each after its backoff; a kick that succeeded is never sent again."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        now = timezone.now()
        given_up = AgoraKick.objects.filter(
            status=AgoraKickStatus.FAILED, attempts__gte=MAX_ATTEMPTS
        ).count()
        due = list(kicks_due(now).values_list("pk", "reason", "channel_name", "uid", "attempts"))
        tail = f"{given_up} given up after {MAX_ATTEMPTS} attempts."
        if not is_configured():
            return (
                "The Agora REST API is not configured (AGORA_CUSTOMER_KEY, "
                f"AGORA_CUSTOMER_SECRET): nothing sent; {len(due)} kick(s) waiting; {tail}"
            )
        if dry_run:
            for pk, reason, channel, uid, attempts in due:
                who = "everyone" if uid is None else f"uid {uid}"
                self.stdout.write(
                    f"would send kick {pk} ({reason}): {who} from {channel}, "
                    f"{attempts} attempt(s) so far"
                )
            return f"{len(due)} kick(s) would be sent; {tail}"
        results = {SENT: 0, FAILED: 0, SKIPPED: 0}
        for pk, *_rest in self.progress(due, what="kicks"):
            results[kick_send(pk)] += 1
        return (
            f"Sent {results[SENT]} kick(s); {results[FAILED]} failed "
            f"again (retried later); {results[SKIPPED]} skipped (done or in "
            f"progress elsewhere); {tail}"
        )
