"""Reports (API-more §10): a user reports a stream; moderators resolve or dismiss
each report with a note, or act on the stream from it (end, remove, ban). Every
moderator's step is audited."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from allmine.core.audit import audit_record
from allmine.core.errors import Conflict, InsufficientPermissions, NotFound, ValidationFailed
from livestreams.models import ReportStatus, ReportType, StreamReport
from livestreams.policy import StreamAction
from livestreams.services.access import is_moderator, stream_where_may
from livestreams.services.bans import ban_create
from livestreams.services.moderation import livestream_end, livestream_remove

CLOSED = (ReportStatus.RESOLVED, ReportStatus.DISMISSED)


@dataclass(frozen=True)
class ClientDetails:
    """What the app says about itself in a report's headers (already normalised)."""

    language: str = ""
    time_zone: str = ""
    platform: str = ""
    app_version: str = ""
    device_id: str = ""


def report_create(
    *,
    user: User,
    live_stream_id: str,
    type: str,
    description: str | None = None,
    client: ClientDetails = ClientDetails(),
) -> StreamReport:
    """File a report on a stream in any status (not removed: 404). The creator may
    not report their own stream (403); while the caller's report on it is open,
    another is a 409."""
    description = (description or "").strip() or None
    if type == ReportType.OTHER and description is None:
        raise ValidationFailed.field("description", _("Say what is wrong when the type is other."))
    now = timezone.now()
    with transaction.atomic():
        stream = stream_where_may(user, live_stream_id, StreamAction.REPORT)
        if StreamReport.objects.filter(
            live_stream=stream, reporter=user, status=ReportStatus.OPEN
        ).exists():
            raise Conflict(_("You have already reported this live stream; moderators are on it."))
        try:
            with transaction.atomic():
                return StreamReport.objects.create(
                    live_stream=stream,
                    reporter=user,
                    type=type,
                    description=description,
                    language=client.language,
                    time_zone=client.time_zone,
                    platform=client.platform,
                    app_version=client.app_version,
                    device_id=client.device_id,
                    created_at=now,
                )
        except IntegrityError:  # the same user's report, filed at the same moment
            raise Conflict(
                _("You have already reported this live stream; moderators are on it.")
            ) from None


def _ensure_moderator(actor: User) -> None:
    if not is_moderator(actor):
        raise InsufficientPermissions(_("Only a moderator can handle reports."))


def _close(report: StreamReport, *, actor: User, status: str, note: str, now: datetime) -> None:
    old = report.status
    report.status = status
    report.note = note
    report.closed_at = now
    report.closed_by = actor
    report.save(update_fields=["status", "note", "closed_at", "closed_by", "updated_at"])
    audit_record(
        actor=actor,
        action=f"report_{status}",
        target=report,
        reason=note,
        changes={"status": (old, status)},
    )


def _open_report(report_id: str) -> StreamReport:
    report = (
        StreamReport.objects.select_for_update(of=("self",))
        .select_related("live_stream")
        .filter(pk=report_id)
        .first()
    )
    if report is None:
        raise NotFound(_("No report has this id."))
    if report.status != ReportStatus.OPEN:
        raise Conflict(_("This report is already %(status)s.") % {"status": report.status})
    return report


def report_close(*, actor: User, report_id: str, status: str, note: str) -> StreamReport:
    """A moderator resolves or dismisses an open report, with a note (audited)."""
    _ensure_moderator(actor)
    if status not in CLOSED:
        raise ValidationFailed.field("status", _("Must be resolved or dismissed."))
    if not note or not note.strip():
        raise ValidationFailed.field("note", _("A note is required."))
    with transaction.atomic():
        report = _open_report(report_id)
        _close(report, actor=actor, status=status, note=note.strip(), now=timezone.now())
    return report


STREAM_ACTIONS = {"end": livestream_end, "remove": livestream_remove}


def report_act_on_stream(*, actor: User, report_id: str, action: str, reason: str) -> int:
    """A moderator ends or removes the reported stream (the stream's own services
    and audit), which resolves every open report of that stream with `reason` as
    the note. Returns how many reports were resolved."""
    _ensure_moderator(actor)
    if action not in STREAM_ACTIONS:
        raise ValidationFailed.field("action", _("Must be end or remove."))
    if not reason or not reason.strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    reason = reason.strip()
    now = timezone.now()
    with transaction.atomic():
        report = _open_report(report_id)
        STREAM_ACTIONS[action](actor=actor, live_stream_id=report.live_stream_id, reason=reason)
        reports = StreamReport.objects.select_for_update().filter(
            live_stream_id=report.live_stream_id, status=ReportStatus.OPEN
        )
        closed = 0
        for each in reports.order_by("pk"):
            _close(each, actor=actor, status=ReportStatus.RESOLVED, note=reason, now=now)
            closed += 1
    return closed


def report_ban_user(
    *, actor: User, report_id: str, target_user_id: str, action_type: str, reason: str
) -> StreamReport:
    """A moderator bans a user from the reported stream (`ban_create`, audited),
    which resolves the report with `reason` as the note."""
    _ensure_moderator(actor)
    if not reason or not reason.strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    with transaction.atomic():
        report = _open_report(report_id)
        ban_create(
            actor=actor,
            live_stream_id=report.live_stream_id,
            target_user_id=target_user_id,
            action_type=action_type,
            reason=reason.strip(),
        )
        note, now = reason.strip(), timezone.now()
        _close(report, actor=actor, status=ReportStatus.RESOLVED, note=note, now=now)
    return report
