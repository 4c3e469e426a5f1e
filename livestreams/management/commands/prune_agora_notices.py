from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from allmine.core.commands import StaffCommand
from livestreams.models import AgoraClientSequence, AgoraNotice
from livestreams.services.agora_notices import agora_notices_prune


class Command(StaffCommand):
    help = (
        "Delete Agora Notification Center notices older than AGORA_NOTICE_RETENTION_DAYS "
        "(and the per-user event order of users not heard of since)."
    )

    def run(self, *, dry_run: bool, **options) -> str:
        days = settings.AGORA_NOTICE_RETENTION_DAYS
        if dry_run:
            cutoff = timezone.now() - timedelta(days=days)
            notices = AgoraNotice.objects.filter(received_at__lt=cutoff).count()
            sequences = AgoraClientSequence.objects.filter(updated_at__lt=cutoff).count()
            return f"{notices} notice(s) and {sequences} sequence(s) older than {days} days."
        notices, sequences = agora_notices_prune()
        return f"Deleted {notices} notice(s) and {sequences} sequence(s) older than {days} days."
