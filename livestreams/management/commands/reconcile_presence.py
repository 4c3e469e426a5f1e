from django.conf import settings

from allmine.core.commands import StaffCommand
from livestreams.agora.rest import is_configured
from livestreams.services.presence import (
    presence_expire,
    presence_reconcile,
    streams_with_presence,
)


class Command(StaffCommand):
    help = (
        "Correct who counts as watching (what the reconcile_presence task does every "
        "minute): viewers with no sign of life for AGORA_PRESENCE_TIMEOUT seconds leave, "
        "and, with the Agora REST API, presence follows Agora's channel user lists."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--channels",
            type=int,
            default=None,
            help="Channel lists to read (default AGORA_PRESENCE_CHANNELS_PER_RUN).",
        )

    def run(self, *, dry_run: bool, channels: int | None = None, **options) -> str:
        if dry_run:
            count = streams_with_presence().count()
            return (
                f"{count} stream(s) with someone marked present; presence expires after "
                f"{settings.AGORA_PRESENCE_TIMEOUT} s without a sign of life."
            )
        expired = presence_expire()
        if not is_configured():
            return f"{expired} viewer(s) expired; the Agora REST API is not configured."
        summary = presence_reconcile(limit=channels)
        return (
            f"{expired} viewer(s) expired; {summary.channels} channel list(s) read "
            f"({summary.failed} failed): {summary.seen} seen, {summary.left} left."
        )
