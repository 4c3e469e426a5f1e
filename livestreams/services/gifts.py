"""Gifts (API-more §12): staff manage the gift types (an SVG and a price); an
audience member sends one to a live stream, paying its price through the ledger
with the revenue shares of §6.4."""

from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import TransactionKind, User
from accounts.services.credits import lock_users
from allmine.core.audit import audit_record
from allmine.core.errors import Conflict, InsufficientPermissions, NotFound, ValidationFailed
from allmine.core.ids import new_object_id
from allmine.core.media import StoredFiles, delete_files_on_commit
from allmine.core.svg import validate_svg
from livestreams.models import Gift, GiftType
from livestreams.policy import StreamAction, ensure_may_act
from livestreams.services.access import caller_in, stream_for_caller, validate_price
from livestreams.services.money import charge_with_revenue, revenue_recipients


def gift_send(*, user: User, live_stream_id: str, gift_type_id: str) -> Gift:
    """One gift: a `gift_spend` debit of the type's price from the sender, the
    `gift_revenue` shares credited at once, and the gift recorded, in one
    transaction. 404 for an unknown stream or type; 403 for a ban (BLOCK) or a
    sender who is not in the audience; 409 unless the stream is live, for a
    deactivated type, or for credits that do not cover the price."""
    now = timezone.now()
    with transaction.atomic():
        stream = stream_for_caller(user, live_stream_id)
        gift_type = GiftType.objects.filter(pk=gift_type_id).first()
        if gift_type is None:
            raise NotFound(_("No gift type has this id."))
        ensure_may_act(StreamAction.SEND_GIFT, status=stream.status, caller=caller_in(stream, user))
        if not gift_type.is_active:
            raise Conflict(_("This gift type is no longer offered."))
        recipients = revenue_recipients(stream)
        # Every account this gift moves credits between, in one fixed order.
        lock_users([user.pk, *(uid for uid, _share in recipients)])
        charge = charge_with_revenue(
            payer=user,
            stream=stream,
            price=gift_type.credit_amount,
            kinds=(TransactionKind.GIFT_SPEND, TransactionKind.GIFT_REVENUE),
            recipients=recipients,
        )
        return Gift.objects.create(
            live_stream=stream,
            sender=user,
            gift_type=gift_type,
            credit_amount=gift_type.credit_amount,
            transaction=charge,
            created_at=now,
        )


def _may_manage_gift_types(actor: User) -> bool:
    return bool(actor.is_active) and (
        actor.has_perm("livestreams.add_gifttype") or actor.has_perm("livestreams.change_gifttype")
    )


def gift_type_save(
    *,
    actor: User,
    credit_amount: Decimal,
    is_active: bool = True,
    svg: bytes | None = None,
    gift_type_id: str | None = None,
) -> GiftType:
    """Create a gift type (`gift_type_id` None: `svg` required) or change one; the
    SVG is checked strictly (`allmine.core.svg`) and stored through the default
    storage, the one it replaces deleted once this commits. Audited."""
    if not _may_manage_gift_types(actor):
        raise InsufficientPermissions(_("You may not manage gift types."))
    if credit_amount is None or credit_amount <= 0:
        raise ValidationFailed.field("creditAmount", _("Must be greater than zero."))
    validate_price("creditAmount", credit_amount)
    if svg is not None:
        validate_svg(svg)
    elif gift_type_id is None:
        raise ValidationFailed.field("svg", _("An SVG image is required."))
    with StoredFiles() as files, transaction.atomic():
        old: dict[str, object]
        if gift_type_id is None:
            gift_type = GiftType(id=new_object_id())
            old = {"creditAmount": None, "isActive": None, "svg": None}
        else:
            found = GiftType.objects.select_for_update().filter(pk=gift_type_id).first()
            if found is None:
                raise NotFound(_("No gift type has this id."))
            gift_type = found
            old = {
                "creditAmount": gift_type.credit_amount,
                "isActive": gift_type.is_active,
                "svg": gift_type.svg,
            }
        if svg is not None:
            name = files.save(f"gifts/{gift_type.pk}/{new_object_id()}.svg", ContentFile(svg))
            if gift_type.svg:
                delete_files_on_commit([gift_type.svg])
            gift_type.svg = name
        gift_type.credit_amount = credit_amount
        gift_type.is_active = is_active
        gift_type.save()
        audit_record(
            actor=actor,
            action="gift_type_create" if gift_type_id is None else "gift_type_change",
            target=gift_type,
            changes={
                "creditAmount": (old["creditAmount"], credit_amount),
                "isActive": (old["isActive"], is_active),
                "svg": (old["svg"], gift_type.svg),
            },
        )
    return gift_type
