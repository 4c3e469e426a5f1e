"""The audit trail: one call, from inside the service that did the work."""

from decimal import Decimal

from allmine.core.models import AuditEntry


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def audit_record(
    *, actor, action: str, target, reason: str = "", changes: dict | None = None
) -> AuditEntry:
    """Record that `actor` did `action` to `target` (a model instance) and why.

    `changes` maps a field to its `(old, new)` values; unchanged fields are left out.
    """
    changes = {
        field: [_plain(old), _plain(new)]
        for field, (old, new) in (changes or {}).items()
        if old != new
    }
    known = actor if getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=known,
        by_staff=bool(known is not None and known.is_staff),
        action=action,
        target_type=target._meta.model_name,
        target_id=str(target.pk),
        reason=reason or "",
        changes=changes,
    )


def audit_history(target):
    """The object's audit trail, newest first (index `audit_target`)."""
    return AuditEntry.objects.filter(
        target_type=target._meta.model_name, target_id=str(target.pk)
    ).select_related("actor")


def staff_actions():
    """What staff did, newest first (the partial index `audit_staff_latest`)."""
    return AuditEntry.objects.filter(by_staff=True).select_related("actor")
