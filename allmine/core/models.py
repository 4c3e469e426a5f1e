from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allmine.core.ids import ObjectIdField


class AuditEntry(models.Model):
    """Who did what to which object, when and why, with the old and new values.

    Written by the services for every moderator action (and the creators' own
    lifecycle actions), never edited afterwards.
    """

    id = ObjectIdField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("who"),
    )
    action = models.CharField(_("action"), max_length=64)
    # "livestream" or "user", and the object's id.
    target_type = models.CharField(_("object type"), max_length=32)
    target_id = models.CharField(_("object id"), max_length=24)
    reason = models.TextField(_("why"), blank=True)
    # {"field": [old, new], ...}
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)
    # Done by staff (a moderator, an administrator) rather than by a creator
    # managing their own stream: what the dashboard's recent actions list.
    by_staff = models.BooleanField(_("staff action"), default=False, editable=False)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target"),
            # The audit trail's list, newest first.
            models.Index(fields=["-created_at", "-id"], name="audit_latest"),
            models.Index(
                fields=["-created_at", "-id"],
                name="audit_staff_latest",
                condition=models.Q(by_staff=True),
            ),
        ]

    def __str__(self) -> str:
        # Readable sentences come from allmine.core.history, which loads the targets.
        return f"{self.action} {self.target_type} {self.target_id}"
