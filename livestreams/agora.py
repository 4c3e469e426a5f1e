"""Agora credentials: AccessToken version 006 RTC and RTM tokens (spec §5)."""

from datetime import datetime, timedelta

from agora_token_builder.RtcTokenBuilder import Role_Publisher, Role_Subscriber, RtcTokenBuilder
from agora_token_builder.RtmTokenBuilder import Role_Rtm_User, RtmTokenBuilder
from django.conf import settings

from allmine.timestamps import format_timestamp

HOST = "host"
AUDIENCE = "audience"
_RTC_ROLES = {HOST: Role_Publisher, AUDIENCE: Role_Subscriber}


def issue_credentials(*, channel_name: str, user, role: str, now: datetime) -> dict:
    """The `agora` (RTC) and `rtm` credentials for `user` in `channel_name`.

    `role` is "host" (a publisher: the creator and invited guests) or
    "audience" (a subscriber). The uid and the role are passed to the builder as
    integers: it silently builds a wrong token from the strings "0" or "1".
    """
    if not user.is_active:  # the last guard: never a token for a deactivated user
        raise PermissionError("No Agora token for a deactivated user.")
    uid = int(user.agora_uid)
    rtc_role = int(_RTC_ROLES[role])
    expires = now.replace(microsecond=0) + timedelta(seconds=settings.AGORA_TOKEN_TTL)
    expires_ts = int(expires.timestamp())
    app_id, certificate = settings.AGORA_APP_ID, settings.AGORA_APP_CERTIFICATE
    rtc_token = RtcTokenBuilder.buildTokenWithUid(
        app_id, certificate, channel_name, uid, rtc_role, expires_ts
    )
    rtm_token = RtmTokenBuilder.buildToken(
        app_id, certificate, str(user.pk), int(Role_Rtm_User), expires_ts
    )
    expires_at = format_timestamp(expires)
    return {
        "agora": {
            "appId": app_id,
            "channelName": channel_name,
            "token": rtc_token,
            "uid": uid,
            "role": role,
            "expiresAt": expires_at,
        },
        "rtm": {
            "appId": app_id,
            "channelName": channel_name,
            "userId": str(user.pk),
            "token": rtm_token,
            "expiresAt": expires_at,
        },
    }
