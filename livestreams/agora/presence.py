"""Who is in a channel now, by Agora's Channel Management RESTful API
(`GET /dev/v1/channel/user/{appid}/{channelName}`).

Agora limits its online-statistics queries to 20 a second per account (not per
app); `services.presence` asks at most AGORA_PRESENCE_QPS times a second.
"""

from dataclasses import dataclass

from django.conf import settings

from livestreams.agora import rest
from livestreams.agora.rest import AgoraRestError

COMMUNICATION = 1
LIVE_BROADCASTING = 2


@dataclass(frozen=True)
class ChannelUsers:
    """A channel's users as Agora sees them. `audience_complete` is False when
    Agora listed only part of the audience (it lists the first 10,000)."""

    exists: bool
    broadcasters: frozenset[int] = frozenset()
    audience: frozenset[int] = frozenset()
    audience_complete: bool = True

    @property
    def everyone(self) -> frozenset[int]:
        return self.broadcasters | self.audience


def channel_users(channel_name: str) -> ChannelUsers:
    """The uids in `channel_name`; AgoraRestError on any failure."""
    path = f"/dev/v1/channel/user/{rest.quote(settings.AGORA_APP_ID)}/{rest.quote(channel_name)}"
    answer = rest.get(path)
    data = answer.get("data")
    if answer.get("success") is not True or not isinstance(data, dict):
        raise AgoraRestError(f"Agora answered without success: {rest.short(answer)}")
    if data.get("channel_exist") is not True:
        return ChannelUsers(exists=False)
    if data.get("mode") == COMMUNICATION:
        users = _uids(data.get("users"))
        return ChannelUsers(exists=True, broadcasters=users, audience=users)
    audience = _uids(data.get("audience"))
    total = data.get("audience_total")
    complete = not (isinstance(total, int) and total > len(audience))
    return ChannelUsers(
        exists=True,
        broadcasters=_uids(data.get("broadcasters")),
        audience=audience,
        audience_complete=complete,
    )


def _uids(value: object) -> frozenset[int]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, int) and not isinstance(v, bool))
