from django.utils import timezone

from allmine.core.commands import StaffCommand
from livestreams.agora.rest import is_configured
from livestreams.api.chat_serializers import rtm_payload
from livestreams.services import rtm_messages


class Command(StaffCommand):
    help = (
        "Work now on the Signaling (RTM) messages that are due (what the retry_rtm_messages "
        "task does every minute): publish into their streams' channels the chat messages, "
        "removals and superlikes that failed or never ran, each after its backoff. A message "
        "sent is never sent again; one too old, or removed first, is dropped."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        due = list(
            rtm_messages.rtm_messages_due(timezone.now()).values_list(
                "pk", "event", "channel_name", "attempts"
            )
        )
        if not is_configured():
            return (
                "The Agora REST API is not configured (AGORA_CUSTOMER_KEY, "
                f"AGORA_CUSTOMER_SECRET): nothing sent; {len(due)} message(s) waiting."
            )
        if dry_run:
            for pk, event, channel, attempts in due:
                self.stdout.write(
                    f"would publish message {pk} ({event}) in {channel}, "
                    f"{attempts} attempt(s) so far"
                )
            return f"{len(due)} message(s) would be published."
        results: dict[str, int] = {}
        for pk, *_rest in self.progress(due, what="messages"):
            outcome = rtm_messages.rtm_message_run(message_id=pk, render=rtm_payload)
            results[outcome] = results.get(outcome, 0) + 1
        return (
            f"Sent {results.get(rtm_messages.SENT, 0)} message(s); "
            f"{results.get(rtm_messages.FAILED, 0)} failed again (retried later); "
            f"{results.get(rtm_messages.DROPPED, 0)} dropped; "
            f"{results.get(rtm_messages.SKIPPED, 0)} skipped (done or in progress elsewhere)."
        )
