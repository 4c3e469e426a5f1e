"""Agora Signaling (RTM): the server publishing a message into a channel through
Signaling's RESTful API (`POST /dev/v2/project/<appid>/rtm/users/<user_id>/
channel_messages`). The sender need not be logged in to Signaling; Agora allows
500 such calls a second per app.

Meant to be called from a Celery task (it waits on Agora): chat messages the
service sends in a stream's channel go through `publish_channel_message`.
"""

from django.conf import settings

from livestreams.agora import rest
from livestreams.agora.rest import AgoraRestError

# Agora's limits: names of 1 to 64 characters, a payload of 1 byte to 32 KB.
MAX_NAME_CHARACTERS = 64
MAX_PAYLOAD_BYTES = 32 * 1024


def publish_channel_message(
    *,
    channel_name: str,
    payload: str,
    sender_user_id: str | None = None,
    store_in_history: bool = False,
) -> str:
    """Publish `payload` in the Signaling channel `channel_name` as
    `sender_user_id` (default AGORA_RTM_SERVER_USER_ID); Agora's request id.

    ValueError for a name or payload Agora would refuse (nothing is sent);
    AgoraRestError when Agora does not confirm that the message was sent."""
    sender = settings.AGORA_RTM_SERVER_USER_ID if sender_user_id is None else sender_user_id
    _check_name("channel_name", channel_name)
    _check_name("sender_user_id", sender)
    if sender != sender.strip():
        raise ValueError("sender_user_id may not begin or end with a space.")
    if not isinstance(payload, str) or not payload:
        raise ValueError("payload must be a non-empty string.")
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload is over {MAX_PAYLOAD_BYTES} bytes.")
    path = (
        f"/dev/v2/project/{rest.quote(settings.AGORA_APP_ID)}"
        f"/rtm/users/{rest.quote(sender)}/channel_messages"
    )
    answer = rest.post(
        path,
        {
            "channel_name": channel_name,
            "enable_historical_messaging": bool(store_in_history),
            "payload": payload,
        },
    )
    if answer.get("result") != "success":
        raise AgoraRestError(f"Agora did not send the message: {rest.short(answer)}")
    request_id = answer.get("request_id")
    return request_id if isinstance(request_id, str) else ""


def _check_name(label: str, value: object) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARACTERS:
        raise ValueError(f"{label} must be 1 to {MAX_NAME_CHARACTERS} characters.")
