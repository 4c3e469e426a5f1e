"""The live-stream domain's tables, one module per concern."""

from livestreams.models.agora import (
    AgoraClientSequence,
    AgoraKick,
    AgoraKickReason,
    AgoraKickStatus,
    AgoraNotice,
    AgoraNoticeOutcome,
    UnsignedBigIntegerField,
)
from livestreams.models.audience import Participant
from livestreams.models.bans import BanAction, LiveStreamBan
from livestreams.models.money import Contribution, ContributionStatus, ReplayAccess
from livestreams.models.recording import ACTIVE_RECORDING_STATUSES, Recording, RecordingStatus
from livestreams.models.streams import (
    MONEY,
    Guest,
    LiveStream,
    LiveStreamType,
    MiniCrowdFunding,
    MiniCrowdFundingStatus,
)

__all__ = [
    "ACTIVE_RECORDING_STATUSES",
    "MONEY",
    "AgoraClientSequence",
    "AgoraKick",
    "AgoraKickReason",
    "AgoraKickStatus",
    "AgoraNotice",
    "AgoraNoticeOutcome",
    "BanAction",
    "Contribution",
    "ContributionStatus",
    "Guest",
    "LiveStream",
    "LiveStreamBan",
    "LiveStreamType",
    "MiniCrowdFunding",
    "MiniCrowdFundingStatus",
    "Participant",
    "Recording",
    "RecordingStatus",
    "ReplayAccess",
    "UnsignedBigIntegerField",
]
