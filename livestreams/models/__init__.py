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
from livestreams.models.audience import (
    VIEWER_COUNT_SLOTS,
    Participant,
    ViewerCount,
    kept_viewers,
)
from livestreams.models.bans import BanAction, LiveStreamBan
from livestreams.models.chat import (
    CHAT_MESSAGE_MAX_CHARACTERS,
    ChatMessage,
    RtmEvent,
    RtmMessage,
    RtmMessageStatus,
    Superlike,
)
from livestreams.models.gifts import Gift, GiftType
from livestreams.models.money import Contribution, ContributionStatus, ReplayAccess
from livestreams.models.recording import ACTIVE_RECORDING_STATUSES, Recording, RecordingStatus
from livestreams.models.reminders import ReminderMode, ReminderState, StreamReminder
from livestreams.models.reports import ReportStatus, ReportType, StreamReport
from livestreams.models.streams import (
    FUNDING_RATIO,
    INTEREST_LABELS,
    MONEY,
    Guest,
    LiveStream,
    LiveStreamType,
    MiniCrowdFunding,
    MiniCrowdFundingStatus,
    interest_label,
)

__all__ = [
    "ACTIVE_RECORDING_STATUSES",
    "CHAT_MESSAGE_MAX_CHARACTERS",
    "FUNDING_RATIO",
    "INTEREST_LABELS",
    "MONEY",
    "VIEWER_COUNT_SLOTS",
    "AgoraClientSequence",
    "AgoraKick",
    "AgoraKickReason",
    "AgoraKickStatus",
    "AgoraNotice",
    "AgoraNoticeOutcome",
    "BanAction",
    "ChatMessage",
    "Contribution",
    "ContributionStatus",
    "Gift",
    "GiftType",
    "Guest",
    "LiveStream",
    "LiveStreamBan",
    "LiveStreamType",
    "MiniCrowdFunding",
    "MiniCrowdFundingStatus",
    "Participant",
    "Recording",
    "RecordingStatus",
    "ReminderMode",
    "ReminderState",
    "ReplayAccess",
    "ReportStatus",
    "ReportType",
    "RtmEvent",
    "RtmMessage",
    "RtmMessageStatus",
    "StreamReminder",
    "StreamReport",
    "Superlike",
    "UnsignedBigIntegerField",
    "ViewerCount",
    "interest_label",
    "kept_viewers",
]
