"""Notices of Agora's Notification Center (NCS): the event types we handle, the
signature check, and the parsing of a notice's body into the arguments of
`services.agora_notices.agora_notice_apply`.

Agora posts one JSON notice per event, signed in `Agora-Signature-V2` (hex
HMAC-SHA256 of the raw body with the secret of the product's NCS configuration):
RTC channel events (product 1) and Cloud Recording events (product 3).
"""

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any

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
# A user who left with this reason is "abnormal" (joins and leaves too often):
# Agora asks to kick them 60 s later, or their later events may be unreliable.
ABNORMAL_USER_REASON = 999
LEAVE_EVENTS = frozenset({BROADCASTER_LEFT, AUDIENCE_LEFT})

# Cloud Recording's events (product 3) this server acts on.
RECORDING_PRODUCT = 3
RECORDING_ERROR = 1
RECORDING_FILE_INFOS = 4
RECORDING_SESSION_EXIT = 11
RECORDING_UPLOADED = 31
RECORDING_BACKUPED = 32
RECORDING_EVENTS = frozenset(
    {
        RECORDING_ERROR,
        RECORDING_FILE_INFOS,
        RECORDING_SESSION_EXIT,
        RECORDING_UPLOADED,
        RECORDING_BACKUPED,
    }
)

SIGNATURE_HEADER = "Agora-Signature-V2"
NOTICE_ID_MAX = 128
# Agora's names are under 64 bytes; up to 64 is read so that channels named
# before that limit was kept still match.
CHANNEL_NAME_MAX = 64
SID_MAX = 128
UID_MAX = 2**32 - 1
# `clientSeq` is an unsigned 64-bit integer (Agora's documentation).
SEQ_MAX = 2**64 - 1
MS_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


def signature_is_valid(body: bytes, signature: str | None) -> bool:
    """Whether `signature` is the hex HMAC-SHA256 of `body` with the NCS secret
    (AGORA_NCS_SECRET, or AGORA_NCS_RECORDING_SECRET for Cloud Recording's)."""
    secrets = [s for s in (settings.AGORA_NCS_SECRET, settings.AGORA_NCS_RECORDING_SECRET) if s]
    if not secrets or not signature:
        return False
    given = signature.strip().lower().encode()
    if not given.isascii():
        return False
    valid = False
    for secret in secrets:  # every secret is tried: no timing tells which one matched
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected.encode(), given) or valid
    return valid


def _integer(
    container: dict[str, Any],
    name: str,
    label: str,
    *,
    required: bool,
    low: int | None = None,
    high: int | None = None,
) -> int | None:
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


def _text(container: dict[str, Any], name: str, label: str, *, required: bool, limit: int) -> str:
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


def parse_notice(body: bytes) -> dict[str, Any]:
    """The keyword arguments of `agora_notice_apply` from a notice's body; a 400
    for a body that is not a notice. Fields of event types this server does not
    handle are taken only when they are well formed."""
    try:
        notice = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationFailed("The body is not valid JSON.") from None
    if not isinstance(notice, dict):
        raise ValidationFailed("The body must be a JSON object.")
    unstorable = _unstorable_text(notice)
    if unstorable:  # PostgreSQL stores neither in text or jsonb
        raise ValidationFailed(f"The notice contains {unstorable}.")
    notice_id = _text(notice, "noticeId", "noticeId", required=True, limit=NOTICE_ID_MAX)
    event_type = _integer(notice, "eventType", "eventType", required=True, low=0, high=INT_MAX)
    payload = notice.get("payload")
    if not isinstance(payload, dict):
        raise ValidationFailed.field("payload", "Must be a JSON object.")
    product_id = _integer(notice, "productId", "productId", required=False, low=0, high=INT_MAX)
    fields: dict[str, Any] = {
        "notice_id": notice_id,
        "event_type": event_type,
        "payload": payload,
        "product_id": product_id,
        "notify_ms": _integer(notice, "notifyMs", "notifyMs", required=False, low=0, high=MS_MAX),
    }
    if product_id == RECORDING_PRODUCT and event_type in RECORDING_EVENTS:
        fields["channel_name"] = _text(
            payload, "cname", "payload.cname", required=True, limit=CHANNEL_NAME_MAX
        )
        fields["recording_sid"] = _text(payload, "sid", "payload.sid", required=True, limit=SID_MAX)
        sent = _integer(payload, "sendts", "payload.sendts", required=False, low=0, high=MS_MAX)
        fields["occurred_at"] = _from_timestamp(sent / 1000 if sent is not None else None)
        return fields
    handled = product_id in (None, RTC_PRODUCT) and event_type in (CHANNEL_EVENTS | USER_EVENTS)
    user_event = handled and event_type in USER_EVENTS
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
    if event_type in LEAVE_EVENTS:
        fields["reason"] = _lenient(payload.get("reason"), int, INT_MAX)
    ts = _integer(payload, "ts", "payload.ts", required=False, low=0, high=UID_MAX)
    fields["occurred_at"] = _from_timestamp(ts)
    return fields


def _from_timestamp(seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValidationFailed("The notice's time is out of range.") from None


def _unstorable_text(value: Any) -> str:
    """What in any key or string of a parsed JSON value cannot be stored: a NUL
    character, or a lone surrogate (`\\ud800` is valid JSON but no Unicode text);
    "" if nothing. Walked without recursion: the value may be nested up to the
    parser's limit."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "a NUL character"
            if _SURROGATE.search(item):
                return "a lone surrogate (\\ud800 to \\udfff), which is not Unicode text"
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return ""


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lenient(value: Any, kind: type, limit: int) -> Any:
    if kind is str:
        return value[:limit] if isinstance(value, str) else ""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
    return value if ok else None
