"""Agora credentials: RTC and RTM tokens (contract §5), as AccessToken version
006 (`agora-token-builder`, the default) or AccessToken2, version 007
(`agoraiotools`, Agora's own AccessToken2 code from AgoraIO/Tools, pinned), chosen
by `AGORA_TOKEN_VERSION`.

- 006: the RTC privileges expire at the token's expiry; the RTM token ignores its
  expiry (Agora's 006 RTM token is valid for 24 hours).
- 007: every privilege, RTC and RTM, expires at the token's expiry. RTC SDK 4.x
  (Web 4.8+, Flutter 6+) and Signaling (RTM 2.x) accept it.
"""

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agora_token_builder.RtcTokenBuilder import Role_Publisher, Role_Subscriber, RtcTokenBuilder
from agora_token_builder.RtmTokenBuilder import Role_Rtm_User, RtmTokenBuilder
from django.conf import settings

with warnings.catch_warnings():
    # Importing agoraiotools imports its legacy DynamicKey modules too, each of
    # which warns that it is deprecated; only AccessToken2 is used here.
    warnings.simplefilter("ignore", DeprecationWarning)
    from agoraiotools.AccessToken2 import AccessToken, ServiceRtc, ServiceRtm

if TYPE_CHECKING:
    from accounts.models import User

HOST = "host"
AUDIENCE = "audience"
# The builders of both versions number the roles alike (publisher 1, subscriber 2).
_RTC_ROLES = {HOST: int(Role_Publisher), AUDIENCE: int(Role_Subscriber)}
VERSION_006 = "006"
VERSION_007 = "007"
VERSIONS = (VERSION_006, VERSION_007)


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


def rtc_token(*, channel_name: str, uid: int, role: str, now: datetime, ttl: int) -> str:
    """An RTC token for `uid` in `channel_name`, valid `ttl` seconds from `now`.

    The uid and the role are passed to the builders as integers: the 006 builder
    silently builds a wrong token from the strings "0" or "1"."""
    app_id, certificate = settings.AGORA_APP_ID, settings.AGORA_APP_CERTIFICATE
    rtc_role = _RTC_ROLES[role]
    if settings.AGORA_TOKEN_VERSION == VERSION_007:
        service = ServiceRtc(channel_name, int(uid))
        privileges = [ServiceRtc.kPrivilegeJoinChannel]
        if rtc_role == int(Role_Publisher):
            privileges += [
                ServiceRtc.kPrivilegePublishAudioStream,
                ServiceRtc.kPrivilegePublishVideoStream,
                ServiceRtc.kPrivilegePublishDataStream,
            ]
        for privilege in privileges:
            service.add_privilege(privilege, ttl)
        return _access_token_2(service, now=now, ttl=ttl)
    expires_ts = int(now.replace(microsecond=0).timestamp()) + ttl
    return str(
        RtcTokenBuilder.buildTokenWithUid(
            app_id, certificate, channel_name, int(uid), rtc_role, expires_ts
        )
    )


def rtm_token(*, user_id: str, now: datetime, ttl: int) -> str:
    """An RTM (Signaling) login token for the account `user_id`."""
    app_id, certificate = settings.AGORA_APP_ID, settings.AGORA_APP_CERTIFICATE
    if settings.AGORA_TOKEN_VERSION == VERSION_007:
        service = ServiceRtm(user_id)
        service.add_privilege(ServiceRtm.kPrivilegeLogin, ttl)
        return _access_token_2(service, now=now, ttl=ttl)
    expires_ts = int(now.replace(microsecond=0).timestamp()) + ttl
    return str(
        RtmTokenBuilder.buildToken(app_id, certificate, user_id, int(Role_Rtm_User), expires_ts)
    )


def _access_token_2(service: object, *, now: datetime, ttl: int) -> str:
    """An AccessToken2 (007) holding one service, issued at `now` (whole seconds)
    and valid `ttl` seconds, as are its privileges (AccessToken2 counts them from
    the moment of issue): the expiry the API reports is the token's own. Built
    the way agoraiotools' RtcTokenBuilder2/RtmTokenBuilder2 build theirs, which
    take the issue time from the clock instead."""
    token = AccessToken(
        settings.AGORA_APP_ID,
        settings.AGORA_APP_CERTIFICATE,
        issue_ts=int(now.replace(microsecond=0).timestamp()),
        expire=ttl,
    )
    token.add_service(service)
    built = str(token.build())
    if not built:  # the builder returns "" for an app id or certificate it refuses
        raise ValueError("AGORA_APP_ID and AGORA_APP_CERTIFICATE must be 32 hex characters.")
    return built


def issue_credentials(*, channel_name: str, user: "User", role: str, now: datetime) -> Credentials:
    """The RTC and RTM credentials for `user` in `channel_name`.

    `role` is "host" (a publisher: the creator and invited guests) or
    "audience" (a subscriber)."""
    if not user.is_active:  # the last guard: never a token for a deactivated user
        raise PermissionError("No Agora token for a deactivated user.")
    uid = int(user.agora_uid)
    ttl = settings.AGORA_TOKEN_TTL
    expires = now.replace(microsecond=0) + timedelta(seconds=ttl)
    app_id = settings.AGORA_APP_ID
    return Credentials(
        agora=RtcCredentials(
            app_id=app_id,
            channel_name=channel_name,
            token=rtc_token(channel_name=channel_name, uid=uid, role=role, now=now, ttl=ttl),
            uid=uid,
            role=role,
            expires_at=expires,
        ),
        rtm=RtmCredentials(
            app_id=app_id,
            channel_name=channel_name,
            user_id=str(user.pk),
            token=rtm_token(user_id=str(user.pk), now=now, ttl=ttl),
            expires_at=expires,
        ),
    )
