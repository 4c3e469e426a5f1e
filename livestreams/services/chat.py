"""A stream's chat (API-more §8): sending a message, sending a superlike (a paid
message through the ledger), and a moderator removing a message.

Everything a client sends goes through here, so bans, roles and statuses are
enforced in one place (`livestreams.policy`: BLOCK and CHAT_ONLY bans refuse
both; §6.3). Live delivery is the server's: after the commit, each message is
published into the stream's Signaling (RTM) channel by a background task
(`services.rtm_messages`)."""

import unicodedata
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import TransactionKind, User
from accounts.services.credits import lock_users
from allmine.core.audit import audit_record
from allmine.core.errors import Conflict, InsufficientPermissions, NotFound, ValidationFailed
from allmine.core.permissions import is_moderator
from allmine.core.tasks import enqueue_on_commit
from livestreams.models import (
    CHAT_MESSAGE_MAX_CHARACTERS,
    ChatMessage,
    LiveStream,
    RtmEvent,
    Superlike,
)
from livestreams.policy import StreamAction
from livestreams.services.access import stream_where_may
from livestreams.services.money import charge_with_revenue, revenue_recipients
from livestreams.services.rtm_messages import rtm_message_record
from livestreams.tasks.chat import rtm_message_run

# Line breaks are the only control characters a message may hold (§8.1, our rule).
LINE_BREAKS = frozenset("\n\r")


def clean_content(content: object) -> str:
    """The message as stored: a string, trimmed, 1 to 500 characters, no control
    characters but line breaks. ValidationFailed (400) otherwise."""
    if not isinstance(content, str):
        raise ValidationFailed.field("content", _("Not a valid string."))
    text = content.strip()
    if not text:
        raise ValidationFailed.field("content", _("This field may not be blank."))
    if len(text) > CHAT_MESSAGE_MAX_CHARACTERS:
        raise ValidationFailed.field(
            "content",
            _("Ensure this field has no more than %(count)s characters.")
            % {"count": CHAT_MESSAGE_MAX_CHARACTERS},
        )
    if any(unicodedata.category(c) == "Cc" and c not in LINE_BREAKS for c in text):
        raise ValidationFailed.field(
            "content", _("Control characters other than line breaks are not allowed.")
        )
    return text


def _publish(stream: LiveStream, event: str, **subject: Any) -> None:
    message = rtm_message_record(live_stream=stream, event=event, **subject)
    if message is not None:
        enqueue_on_commit(rtm_message_run, message.pk)


def chat_message_send(*, user: User, live_stream_id: str, content: object) -> ChatMessage:
    """Store a chat message from `user` and publish it in the stream's channel
    after the commit. 404 for an unknown or removed stream; 403 for a BLOCK or
    CHAT_ONLY ban or a caller who is not a member; 409 unless the stream is
    active (§6.3)."""
    text = clean_content(content)
    with transaction.atomic():
        stream = stream_where_may(user, live_stream_id, StreamAction.SEND_CHAT)
        message = ChatMessage.objects.create(
            live_stream=stream, sender=user, content=text, created_at=timezone.now()
        )
        message.sender = user
        _publish(stream, RtmEvent.CHAT_MESSAGE, chat_message=message)
    return message


def superlike_send(*, user: User, live_stream_id: str) -> Superlike:
    """One superlike: a `superlike_spend` debit of SUPERLIKE_PRICE from the
    sender, the `superlike_revenue` shares of §6.4 credited at once, the
    superlike recorded and published in the stream's channel after the commit.
    Each call is a new, charged superlike. 403 as for chat, and for the creator
    and the guests; 409 unless the stream is active, or for credits that do not
    cover the price (nothing is written)."""
    price = settings.SUPERLIKE_PRICE
    with transaction.atomic():
        stream = stream_where_may(user, live_stream_id, StreamAction.SUPERLIKE)
        recipients = revenue_recipients(stream)
        # Every account this superlike moves credits between, in one fixed order.
        lock_users([user.pk, *(uid for uid, _share in recipients)])
        charge = charge_with_revenue(
            payer=user,
            stream=stream,
            price=price,
            kinds=(TransactionKind.SUPERLIKE_SPEND, TransactionKind.SUPERLIKE_REVENUE),
            recipients=recipients,
        )
        superlike = Superlike.objects.create(
            live_stream=stream,
            sender=user,
            price=price,
            transaction=charge,
            created_at=timezone.now(),
        )
        superlike.sender = user
        _publish(stream, RtmEvent.SUPERLIKE, superlike=superlike)
    return superlike


def chat_message_remove(*, actor: User, message_id: str, reason: str) -> ChatMessage:
    """A moderator removes a chat message: it is hidden from the history (the row
    stays, with who removed it, when and why), the removal is published in the
    channel so that the apps take it off the screen, and the stream's audit trail
    records it. 403 for anyone but a moderator; 409 if removed already."""
    if not is_moderator(actor):
        raise InsufficientPermissions(_("Only a moderator can remove a chat message."))
    with transaction.atomic():
        message = (
            ChatMessage.objects.select_for_update(of=("self",))
            .select_related("live_stream", "sender")
            .filter(pk=message_id)
            .first()
        )
        if message is None:
            raise NotFound(_("No chat message has this id."))
        if message.hidden_at is not None:
            raise Conflict(_("This chat message has already been removed."))
        message.hidden_at = timezone.now()
        message.hidden_by = actor
        message.hidden_reason = reason
        message.save(update_fields=["hidden_at", "hidden_by", "hidden_reason", "updated_at"])
        audit_record(
            actor=actor,
            action="chat_message_remove",
            target=message.live_stream,
            reason=reason,
            changes={
                "chatMessage": (message.content, None),
                "messageSender": (message.sender_id, None),
            },
        )
        _publish(message.live_stream, RtmEvent.CHAT_MESSAGE_REMOVED, chat_message=message)
    return message
