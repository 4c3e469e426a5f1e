"""The back office's account actions: deactivating and reactivating accounts,
adjusting credits. Each checks who may do it, locks the user's row, and leaves
an audit record in the same transaction."""

from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.services.credits import CreditGrant, credits_grant
from allmine.core.audit import audit_record
from allmine.core.errors import Conflict, InsufficientPermissions, NotFound, ValidationFailed
from allmine.core.permissions import MODERATE


def can_moderate_users(actor: User | AnonymousUser | None) -> bool:
    """Who may deactivate and reactivate accounts: account administrators
    (`accounts.change_user`) and moderators (`livestreams.moderate_livestream`;
    shutting an abusive account is a moderation act, editing it is not)."""
    return bool(
        actor is not None
        and actor.is_active
        and (actor.has_perm("accounts.change_user") or actor.has_perm(MODERATE))
    )


def _user_to_moderate(*, actor: User, user: User, reason: str) -> tuple[User, str]:

    if not can_moderate_users(actor):
        raise InsufficientPermissions(_("You may not deactivate or reactivate accounts."))
    if not reason or not reason.strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        raise NotFound(_("No user has this id."))
    if locked.is_superuser and not actor.is_superuser:
        raise InsufficientPermissions(
            _("Only a superuser may deactivate or reactivate a superuser.")
        )
    return locked, reason.strip()


def refresh_tokens_revoke(*, user: User) -> int:
    """Blacklist every unexpired refresh token of `user` that is not blacklisted
    yet; returns how many were. (Access tokens die with `is_active`.)"""

    outstanding = list(
        OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        ).only("pk")
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(outstanding)


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reason: str) -> User:
    """Shut an account: it can no longer sign in, use its access tokens or
    refresh them. Its data (streams, ledger) stay as they are."""

    locked, reason = _user_to_moderate(actor=actor, user=user, reason=reason)
    if locked.pk == actor.pk:
        raise Conflict(_("You cannot deactivate your own account."))
    if not locked.is_active:
        raise Conflict(f"{locked.username} is already inactive.")
    locked.is_active = False
    locked.save(update_fields=["is_active", "updated_at"])
    refresh_tokens_revoke(user=locked)
    audit_record(
        actor=actor,
        action="deactivate",
        target=locked,
        reason=reason,
        changes={"is_active": (True, False)},
    )
    user.is_active = False
    return locked


@transaction.atomic
def user_reactivate(*, actor: User, user: User, reason: str) -> User:
    """Open a deactivated account again; its owner signs in anew (the refresh
    tokens revoked on deactivation stay revoked)."""

    locked, reason = _user_to_moderate(actor=actor, user=user, reason=reason)
    if locked.is_active:
        raise Conflict(f"{locked.username} is already active.")
    locked.is_active = True
    locked.save(update_fields=["is_active", "updated_at"])
    audit_record(
        actor=actor,
        action="reactivate",
        target=locked,
        reason=reason,
        changes={"is_active": (False, True)},
    )
    user.is_active = True
    return locked


@transaction.atomic
def user_credits_adjust(
    *,
    actor: User,
    user: User,
    amount: Decimal | int | str,
    reason: str,
    idempotency_key: str | None = None,
) -> CreditGrant:
    """A superuser's credit adjustment from the back office: `credits_grant`
    (the same rules as the API), audited. A take-back below zero writes nothing,
    and so does a replay of an `idempotency_key` (a page sent twice: the grant
    comes back `replayed`, not audited again)."""

    if actor is None or not actor.is_active or not actor.is_superuser:
        raise InsufficientPermissions(_("Only a superuser may adjust credit balances."))
    grant = credits_grant(
        user=user, amount=amount, reason=reason, actor=actor, idempotency_key=idempotency_key
    )
    if grant.replayed:
        return grant  # the same page sent twice: done the first time, not again
    entry = grant.entry
    assert entry.balance_after is not None  # a grant is never pending: it is applied
    audit_record(
        actor=actor,
        action="adjust_credits",
        target=user,
        reason=entry.reason,
        changes={"credit_balance": (entry.balance_after - entry.amount, entry.balance_after)},
    )
    user.credit_balance = entry.balance_after
    return grant
