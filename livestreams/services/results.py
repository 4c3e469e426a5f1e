"""What the services hand back to the API layer (rendered by the serializers of
`livestreams.api.serializers`)."""

from dataclasses import dataclass

from livestreams.agora.tokens import Credentials
from livestreams.lifecycle import Role
from livestreams.models import LiveStream
from livestreams.selectors.snapshots import CallerView, StreamSnapshot


@dataclass(frozen=True)
class JoinResult:
    """A join: the stream as the caller now sees it, and their Agora credentials."""

    live_stream: LiveStream
    credentials: Credentials


@dataclass(frozen=True)
class AudienceJoinResult:
    """An audience join: the stream's cached snapshot, the caller's part of it,
    and their Agora credentials."""

    snapshot: StreamSnapshot
    caller: CallerView
    credentials: Credentials


@dataclass(frozen=True)
class LeaveResult:
    live_stream_id: str
    role: Role
    watch_seconds: int | None  # the audience's total watch time; None for broadcasters
