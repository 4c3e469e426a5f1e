from django.utils import timezone

from allmine.core.commands import StaffCommand
from livestreams.agora.rest import is_configured
from livestreams.services import agora_kicks
from livestreams.services.agora_kicks import MAX_ATTEMPTS, kick_run, kicks_due, kicks_given_up

# The outcomes of `kick_run`, as this command counts them.
DONE = (agora_kicks.SENT, agora_kicks.FOUND)
GONE = (agora_kicks.LIFTED, agora_kicks.CANCELLED)


class Command(StaffCommand):
    help = (
        "Work now on the Agora kicks that are due (what the retry_agora_kicks task "
        "does every minute): create the rules of bans and ended streams that failed "
        "or never ran, and delete the rules of lifted bans, each after its backoff. "
        "A kick that succeeded is never sent again."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        now = timezone.now()
        given_up = kicks_given_up().count()
        due = list(
            kicks_due(now).values_list("pk", "reason", "status", "channel_name", "uid", "attempts")
        )
        tail = f"{given_up} given up after {MAX_ATTEMPTS} attempts."
        if not is_configured():
            return (
                "The Agora REST API is not configured (AGORA_CUSTOMER_KEY, "
                f"AGORA_CUSTOMER_SECRET): nothing sent; {len(due)} kick(s) waiting; {tail}"
            )
        if dry_run:
            for pk, reason, status, channel, uid, attempts in due:
                who = "everyone" if uid is None else f"uid {uid}"
                verb = "lift" if status == agora_kicks.S.LIFTING else "send"
                self.stdout.write(
                    f"would {verb} kick {pk} ({reason}): {who} from {channel}, "
                    f"{attempts} attempt(s) so far"
                )
            return f"{len(due)} kick(s) would be sent or lifted; {tail}"
        results: dict[str, int] = {}
        for pk, *_rest in self.progress(due, what="kicks"):
            outcome = kick_run(kick_id=pk)
            while outcome == agora_kicks.AGAIN:
                outcome = kick_run(kick_id=pk)
            results[outcome] = results.get(outcome, 0) + 1
        sent = sum(results.get(o, 0) for o in DONE)
        lifted = sum(results.get(o, 0) for o in GONE)
        return (
            f"Sent {sent} kick(s); lifted {lifted}; {results.get(agora_kicks.FAILED, 0)} "
            f"failed again (retried later); {results.get(agora_kicks.SKIPPED, 0)} skipped "
            f"(done or in progress elsewhere); {tail}"
        )
