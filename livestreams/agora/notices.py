"""Notices of Agora's Notification Center (NCS): the event types we handle, the
signature check, and the parsing of a notice's body into the arguments of
`services.agora_notices.agora_notice_apply`.

Agora posts one JSON notice per channel event, signed in `Agora-Signature-V2`
(hex HMAC-SHA256 of the raw body with the NCS secret).
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime

from django.conf import settings

from allmine.core.errors import ValidationFailed

CHANNEL_CREATED = 101
CHANNEL_DESTROYED = 102
BROADCASTER_JOINED = 103
BROADCASTER_LEFT = 104
AUDIENCE_JOINED = 105
AUDIENCE_LEFT = 106
BECAME_BROADCASTER = 111
BECAME_AUDIENCE = 112
CHANNEL_EVENTS = frozenset({CHANNEL_CREATED, CHANNEL_DESTROYED})
USER_EVENTS = frozenset(
    {
        BROADCASTER_JOINED,
        BROADCASTER_LEFT,
        AUDIENCE_JOINED,
        AUDIENCE_LEFT,
        BECAME_BROADCASTER,
        BECAME_AUDIENCE,
    }
)
# Agora's product id of RTC channel events (other products share the NCS URL).
RTC_PRODUCT = 1

SIGNATURE_HEADER = "Agora-Signature-V2"
NOTICE_ID_MAX = 128
CHANNEL_NAME_MAX = 64
UID_MAX = 2**32 - 1
SEQ_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


def signature_is_valid(body: bytes, signature: str | None) -> bool:
    """Whether `signature` is the hex HMAC-SHA256 of `body` with the NCS secret."""
    secret = settings.AGORA_NCS_SECRET
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def _integer(container: dict, name: str, label: str, *, required: bool, low=None, high=None):
    value = container.get(name)
    if value is None:
        if required:
            raise ValidationFailed.field(label, "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(label, "Must be an integer.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValidationFailed.field(label, f"Must be between {low} and {high}.")
    return value


def _text(container: dict, name: str, label: str, *, required: bool, limit: int) -> str:
    value = container.get(name)
    if value is None or value == "":
        if required:
            raise ValidationFailed.field(label, "This field is required.")
        return ""
    if not isinstance(value, str):
        raise ValidationFailed.field(label, "Must be a string.")
    if len(value) > limit:
        raise ValidationFailed.field(label, f"At most {limit} characters.")
    return value


def parse_notice(body: bytes) -> dict:
    """The keyword arguments of `agora_notice_apply` from a notice's body; a 400
    for a body that is not a notice. Fields of event types this server does not
    handle are taken only when they are well formed."""
    try:
        notice = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationFailed("The body is not valid JSON.") from None
    if not isinstance(notice, dict):
        raise ValidationFailed("The body must be a JSON object.")
    if _contains_nul(notice):  # PostgreSQL stores no NUL in text or jsonb
        raise ValidationFailed("The notice contains a NUL character.")
    notice_id = _text(notice, "noticeId", "noticeId", required=True, limit=NOTICE_ID_MAX)
    event_type = _integer(notice, "eventType", "eventType", required=True, low=0, high=INT_MAX)
    payload = notice.get("payload")
    if not isinstance(payload, dict):
        raise ValidationFailed.field("payload", "Must be a JSON object.")
    product_id = _integer(notice, "productId", "productId", required=False, low=0, high=INT_MAX)
    handled = product_id in (None, RTC_PRODUCT) and event_type in (CHANNEL_EVENTS | USER_EVENTS)
    user_event = handled and event_type in USER_EVENTS
    fields = {
        "notice_id": notice_id,
        "event_type": event_type,
        "payload": payload,
        "product_id": product_id,
        "notify_ms": _integer(notice, "notifyMs", "notifyMs", required=False, low=0, high=SEQ_MAX),
    }
    if not handled:  # recorded as it came, as far as it fits
        fields["channel_name"] = _lenient(payload.get("channelName"), str, CHANNEL_NAME_MAX)
        fields["uid"] = _lenient(payload.get("uid"), int, UID_MAX)
        fields["client_seq"] = _lenient(payload.get("clientSeq"), int, SEQ_MAX)
        return fields
    fields["channel_name"] = _text(
        payload, "channelName", "payload.channelName", required=True, limit=CHANNEL_NAME_MAX
    )
    fields["uid"] = _integer(
        payload, "uid", "payload.uid", required=user_event, low=0, high=UID_MAX
    )
    fields["client_seq"] = _integer(
        payload, "clientSeq", "payload.clientSeq", required=user_event, low=0, high=SEQ_MAX
    )
    ts = _integer(payload, "ts", "payload.ts", required=False, low=0, high=UID_MAX)
    fields["occurred_at"] = datetime.fromtimestamp(ts, UTC) if ts is not None else None
    return fields


def _contains_nul(value) -> bool:
    """Whether a NUL character is in any key or string of a parsed JSON value
    (walked without recursion: the value may be nested up to the parser's limit)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _lenient(value, kind, limit):
    if kind is str:
        return value[:limit] if isinstance(value, str) else ""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
    return value if ok else None
