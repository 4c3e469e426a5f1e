"""Agora credentials: AccessToken version 006 RTC and RTM tokens (contract §5)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from agora_token_builder.RtcTokenBuilder import Role_Publisher, Role_Subscriber, RtcTokenBuilder
from agora_token_builder.RtmTokenBuilder import Role_Rtm_User, RtmTokenBuilder
from django.conf import settings

HOST = "host"
AUDIENCE = "audience"
_RTC_ROLES = {HOST: Role_Publisher, AUDIENCE: Role_Subscriber}


@dataclass(frozen=True)
class RtcCredentials:
    app_id: str
    channel_name: str
    token: str
    uid: int
    role: str  # "host" (a publisher token) or "audience" (a subscriber token)
    expires_at: datetime


@dataclass(frozen=True)
class RtmCredentials:
    app_id: str
    channel_name: str
    user_id: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Credentials:
    """What a join or a renewal hands the app: `agora` (RTC) and `rtm`."""

    agora: RtcCredentials
    rtm: RtmCredentials


def issue_credentials(*, channel_name: str, user, role: str, now: datetime) -> Credentials:
    """The RTC and RTM credentials for `user` in `channel_name`.

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
    return Credentials(
        agora=RtcCredentials(
            app_id=app_id,
            channel_name=channel_name,
            token=rtc_token,
            uid=uid,
            role=role,
            expires_at=expires,
        ),
        rtm=RtmCredentials(
            app_id=app_id,
            channel_name=channel_name,
            user_id=str(user.pk),
            token=rtm_token,
            expires_at=expires,
        ),
    )
