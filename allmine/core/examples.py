"""Examples for the OpenAPI schema: what the endpoints take and answer, told as one
story so the examples agree with each other (a stream by Elif, her guest Mert,
Ayşe in the audience), and the envelope every success answer travels in.

The views attach them with `request_example` and `response_example`; the schema
tests validate every example against the schema it illustrates. Ids are 24-hex
strings, timestamps UTC with milliseconds and `Z`, money JSON numbers (API.md §1).
"""

from typing import Any

from drf_spectacular.utils import OpenApiExample

from allmine.core.fields import TIMESTAMP_EXAMPLE

BASE_URL = "https://api.allmine.example"


def enveloped(code: int, data: Any) -> dict:
    """A success answer as it travels: `data` in the envelope (§1)."""
    return {
        "isSuccess": True,
        "statusCode": code,
        "data": data,
        "errors": [],
        "timestamp": TIMESTAMP_EXAMPLE,
    }


def response_example(summary: str, code: int, data: Any, **kwargs) -> OpenApiExample:
    """The success answer `code` with `data`, enveloped."""
    return OpenApiExample(
        summary,
        value=enveloped(code, data),
        response_only=True,
        status_codes=[str(code)],
        **kwargs,
    )


def request_example(summary: str, value: Any, **kwargs) -> OpenApiExample:
    return OpenApiExample(summary, value=value, request_only=True, **kwargs)


# --- The cast ----------------------------------------------------------------------------

CREATOR_ID = "65f1c2a9e4b0a1b2c3d4e5c3"
GUEST_ID = "65f1c2a9e4b0a1b2c3d4e5d4"
VIEWER_ID = "65f1c2a9e4b0a1b2c3d4e5a1"
STREAM_ID = "65f1c2a9e4b0a1b2c3d4e5f6"
ENDED_STREAM_ID = "65e8a41fe4b0a1b2c3d4e510"
SCHEDULED_STREAM_ID = "65f3d7b2e4b0a1b2c3d4e620"

_PHOTO_ID = "65f1c2a9e4b0a1b2c3d4e5c9"
_PHOTO_DIR = f"{BASE_URL}/media/profiles/{CREATOR_ID}/{_PHOTO_ID}"

CREATOR = {
    "_id": CREATOR_ID,
    "username": "elif.sahin",
    "name": "Elif",
    "surname": "Şahin",
    "profilePhoto": {
        "_id": _PHOTO_ID,
        "url": f"{_PHOTO_DIR}/original.webp",
        "type": "image",
        "variants": {"40": f"{_PHOTO_DIR}/40.webp", "76": f"{_PHOTO_DIR}/76.webp"},
        "createdAt": "2026-01-02T08:14:05.120Z",
        "updatedAt": "2026-01-02T08:14:05.120Z",
    },
    "availabilityStatus": "available",
}
GUEST = {
    "_id": GUEST_ID,
    "username": "mert.kaya",
    "name": "Mert",
    "surname": "Kaya",
    "profilePhoto": None,
    "availabilityStatus": "busy",
}
VIEWER = {
    "_id": VIEWER_ID,
    "username": "ayse",
    "name": "Ayşe",
    "surname": "Yılmaz",
    "profilePhoto": None,
    "availabilityStatus": "available",
}

# --- Live streams ------------------------------------------------------------------------

NO_REPLAY_ACCESS = {
    "status": "none",
    "canRent": False,
    "canViewRecording": False,
    "price": None,
    "rentedAt": None,
    "expiresAt": None,
    "remainingSeconds": None,
}

# Active now, solo, free, as an anonymous caller sees it (role null, no replay access).
LIVE_STREAM = {
    "id": STREAM_ID,
    "title": "Akşam sohbeti: yeni şarkılar",
    "liveStreamType": "solo",
    "channelName": "aksam-sohbeti-yeni-sarkilar-3f9a",
    "broadcasters": [
        {
            "user": CREATOR_ID,
            "role": "host",
            "uid": 1048577,
            "hasJoined": True,
            "joinedAt": "2026-01-15T10:00:04.315Z",
        }
    ],
    "guests": [],
    "creator": CREATOR,
    "thumbnailUrl": f"{BASE_URL}/media/thumbnails/{STREAM_ID}.webp",
    "recording": True,
    "recordingUrl": None,
    "replayAccess": NO_REPLAY_ACCESS | {"price": 4.99},  # the replay's price, always
    "status": "active",
    "accessType": "free",
    "price": None,
    "interest": "music",
    "durationGoal": 60,
    "motivation": "Yeni albümden şarkılar ve sorularınız.",
    "isActiveReplayOnCreatorProfile": True,
    "replayCreditPrice": 4.99,
    "startedAt": "2026-01-15T10:00:00.000Z",
    "plannedStartDate": None,
    "endedAt": None,
    "plannedEndDate": None,
    "createdAt": "2026-01-15T09:55:12.402Z",
    "updatedAt": "2026-01-15T10:00:04.315Z",
    "fundingGoal": None,
    "collectedFunding": 0,
    "fundingPercentage": 0,
    "role": None,
    "miniCrowdFundings": [],
}

# Ended and recorded, as its creator sees it.
ENDED_STREAM = LIVE_STREAM | {
    "id": ENDED_STREAM_ID,
    "title": "Pazar kahvaltısı canlı",
    "channelName": "pazar-kahvaltisi-canli-81c2",
    "broadcasters": [
        {
            "user": CREATOR_ID,
            "role": "host",
            "uid": 1048577,
            "hasJoined": False,  # ending a stream takes its broadcasters out
            "joinedAt": "2026-01-11T09:00:03.870Z",
        }
    ],
    "thumbnailUrl": f"{BASE_URL}/media/thumbnails/{ENDED_STREAM_ID}.webp",
    "recordingUrl": f"https://cdn.allmine.example/recordings/{ENDED_STREAM_ID}.m3u8",
    "replayAccess": NO_REPLAY_ACCESS | {"status": "owner", "canViewRecording": True, "price": 4.99},
    "status": "ended",
    "interest": "lifestyle",
    "durationGoal": 90,
    "motivation": None,
    "startedAt": "2026-01-11T09:00:00.000Z",
    "endedAt": "2026-01-11T10:24:51.006Z",
    "createdAt": "2026-01-11T08:52:40.211Z",
    "updatedAt": "2026-01-11T10:24:51.006Z",
    "role": "host",
}

# Ended and recorded, as a signed-in stranger sees it: a replay to rent.
ENDED_STREAM_SEEN = ENDED_STREAM | {
    "recordingUrl": None,
    "replayAccess": NO_REPLAY_ACCESS | {"canRent": True, "price": 4.99},
    "role": None,
}

# Scheduled, paid, duo with a guest, partly funded, as the guest sees it.
SCHEDULED_STREAM = LIVE_STREAM | {
    "id": SCHEDULED_STREAM_ID,
    "title": "Mert ile akustik düet",
    "liveStreamType": "duocrowd",
    "channelName": "mert-ile-akustik-duet-c07e",
    "broadcasters": [
        {"user": CREATOR_ID, "role": "host", "uid": None, "hasJoined": False, "joinedAt": None},
        {"user": GUEST_ID, "role": "guest", "uid": None, "hasJoined": False, "joinedAt": None},
    ],
    "guests": [GUEST_ID],
    "thumbnailUrl": f"{BASE_URL}/media/thumbnails/{SCHEDULED_STREAM_ID}.webp",
    "replayAccess": NO_REPLAY_ACCESS | {"status": "guest", "price": 4.99},
    "status": "scheduled",
    "accessType": "paid",
    "price": 15,
    "durationGoal": 45,
    "motivation": "Sizin seçtiğiniz şarkılar.",
    "startedAt": None,
    "plannedStartDate": "2026-01-16T19:00:00.000Z",
    "plannedEndDate": "2026-01-16T19:45:00.000Z",
    "createdAt": "2026-01-14T16:20:33.518Z",
    "updatedAt": "2026-01-15T08:41:10.090Z",
    "fundingGoal": 500,
    "collectedFunding": 125.5,
    "fundingPercentage": 25.1,
    "role": "guest",
}

# The same stream in a profile's upcoming list, as a viewer with a reminder sees it.
UPCOMING_STREAM = SCHEDULED_STREAM | {
    "replayAccess": NO_REPLAY_ACCESS | {"price": 4.99},
    "role": None,
    "isReminderActive": True,
}

# --- The room ----------------------------------------------------------------------------


def _gift_type(type_id: str, file_id: str, amount: float, created: str, updated: str) -> dict:
    return {
        "id": type_id,
        "creditAmount": amount,
        "svgUrl": f"{BASE_URL}/media/gifts/{type_id}/{file_id}.svg",
        "isActive": True,
        "createdAt": created,
        "updatedAt": updated,
    }


GIFT_TYPES = [
    _gift_type(
        "65a0f3c1e4b0a1b2c3d4e701",
        "65a0f3c1e4b0a1b2c3d4e7a1",
        1,
        "2026-01-05T12:00:00.000Z",
        "2026-01-05T12:00:00.000Z",
    ),
    _gift_type(
        "65a0f3c1e4b0a1b2c3d4e702",
        "65a0f3f8e4b0a1b2c3d4e7a2",
        5,
        "2026-01-05T12:01:30.000Z",
        "2026-01-05T12:01:30.000Z",
    ),
    _gift_type(
        "65a0f3c1e4b0a1b2c3d4e703",
        "65a0f44ae4b0a1b2c3d4e7a3",
        49.99,
        "2026-01-05T12:03:12.000Z",
        "2026-01-09T15:47:26.384Z",
    ),
]
GIFT_TYPE_SHORT_KEYS = ("id", "creditAmount", "svgUrl", "isActive")

BAN = {
    "_id": "65f1c2a9e4b0a1b2c3d4e7b1",
    "targetUserId": VIEWER_ID,
    "liveStreamId": STREAM_ID,
    "targetUser": VIEWER,
    "actionType": "CHAT_ONLY",
    "reason": "Sohbette tekrar tekrar reklam.",
    "createdBy": CREATOR_ID,
    "deletedAt": None,
    "deletedBy": None,
    "createdAt": "2026-01-15T10:21:47.530Z",
    "updatedAt": "2026-01-15T10:21:47.530Z",
    "id": "65f1c2a9e4b0a1b2c3d4e7b1",
    "isActive": True,
    "liftedAt": None,
    "liftedBy": None,
}

# --- What each endpoint of API-more §7-§13 answers -----------------------------------------

# §7.2
CATCH_STREAMERS = [{"creator": CREATOR, "activeLiveStream": LIVE_STREAM}]

# §7.3, as a signed-in caller sees it (`isFollowing` null when anonymous).
MOST_WATCHED_CREATORS = [
    CREATOR | {"expertise": None, "isFollowing": False, "uniqueViewers": 128},
    GUEST | {"expertise": None, "isFollowing": False, "uniqueViewers": 37},
]

# §7.9: `minute` 15 before a planned start still ahead.
REMINDER_REQUEST = {"minute": 15}
REMINDER = {
    "streamId": SCHEDULED_STREAM_ID,
    "minute": 15,
    "mode": "BEFORE_START",
    "scheduledFor": "2026-01-16T18:45:00.000Z",
    "status": "ARMED",
}

# §7.10
VIEWERS_PAGE = {
    "list": [
        {key: VIEWER[key] for key in ("_id", "username", "name", "surname", "profilePhoto")}
        | {
            "followersCount": 0,
            "followingCount": 0,
            "expertise": None,
            "isFollowing": False,
            "joinedAt": "2026-01-15T10:12:38.904Z",
        }
    ],
    "pagination": {
        "currentPage": 1,
        "totalPages": 1,
        "totalItems": 1,
        "itemsPerPage": 20,
        "hasNextPage": False,
        "hasPrevPage": False,
    },
    "participantAudienceTotal": 128,
}

# §7.11: the counts add up to `totalCount`.
GIFT_STATISTICS = {
    "liveStreamId": STREAM_ID,
    "totalCount": 9,
    "giftTypeCounts": [
        {"giftType": {key: gift[key] for key in GIFT_TYPE_SHORT_KEYS}, "count": count}
        for gift, count in zip(GIFT_TYPES, (6, 3, 0), strict=True)
    ],
}

# §9.1: Ayşe checks herself, banned from the chat.
BAN_CHECK = {"isBanned": True, "ban": BAN}
BAN_CHECK_NOT_BANNED = {"isBanned": False, "ban": None}

# §10.1
REPORT_REQUEST = {
    "type": "harassment",
    "description": "The host insults viewers in the chat by name.",
}
REPORT_REQUEST_OTHER = {"type": "other", "description": "The stream shows a phone number."}
REPORT = {
    "_id": "65f1c2a9e4b0a1b2c3d4e7c5",
    "liveStreamId": STREAM_ID,
    "reporterId": VIEWER_ID,
    "type": "harassment",
    "description": "The host insults viewers in the chat by name.",
    "status": "open",
    "createdAt": "2026-01-15T10:28:14.662Z",
    "updatedAt": "2026-01-15T10:28:14.662Z",
}

# §11.1: 1603 whole minutes (96,230 seconds) over 128 viewers.
PARTICIPANT_STATISTICS = {
    "streamId": STREAM_ID,
    "totalViewers": 128,
    "averageWatchTimeMinutes": 12.53,
    "totalWatchTimeMinutes": 1603,
    "peakConcurrentViewers": 45,
}

# §12.2
GIFT_REQUEST = {"giftTypeId": GIFT_TYPES[1]["id"], "liveStreamId": STREAM_ID}
GIFT_CREATED = {"message": "Success"}


# §13.1: Ayşe's ledger, newest first: 100 credits granted, a heart, a superlike.
def _entry(entry_id: str, kind: str, direction: str, amount: float, balance: float, at: str):
    return {
        "id": entry_id,
        "type": kind,
        "kind": kind,
        "direction": direction,
        "status": "completed",
        "amount": amount,
        "occurredAt": at,
        "balanceAfter": balance,
        "liveStreamId": None if kind == "admin_adjustment" else STREAM_ID,
        "relatedTransactionId": None,
        "reason": "Welcome credits" if kind == "admin_adjustment" else "",
        "createdAt": at,
        "availableAt": None,
        "completedAt": at,
    }


TRANSACTIONS_PAGE = {
    "list": [
        _entry(
            "65f1c2a9e4b0a1b2c3d4e811",
            "superlike_spend",
            "debit",
            10,
            85,
            "2026-01-15T10:19:02.117Z",
        ),
        _entry(
            "65f1c2a9e4b0a1b2c3d4e810",
            "gift_spend",
            "debit",
            5,
            95,
            "2026-01-15T10:15:44.250Z",
        ),
        _entry(
            "65f0a8d3e4b0a1b2c3d4e801",
            "admin_adjustment",
            "credit",
            100,
            100,
            "2026-01-14T09:00:00.000Z",
        ),
    ],
    "pagination": {
        "currentPage": 1,
        "totalPages": 1,
        "totalItems": 3,
        "itemsPerPage": 20,
        "hasNextPage": False,
        "hasPrevPage": False,
    },
}

# --- The ban endpoints aligned with the Ban object (API-more §14) -------------------------

BAN_REQUEST = {
    "liveStreamId": STREAM_ID,
    "targetUserId": VIEWER_ID,
    "actionType": "CHAT_ONLY",
    "reason": BAN["reason"],
}
BAN_PAGE = {
    "list": [BAN],
    "pagination": {
        "currentPage": 1,
        "totalPages": 1,
        "totalItems": 1,
        "itemsPerPage": 10,
        "hasNextPage": False,
        "hasPrevPage": False,
    },
}
_LIFTED_AT = "2026-01-15T10:40:02.781Z"
BAN_LIFTED = BAN | {
    "deletedAt": _LIFTED_AT,
    "deletedBy": CREATOR_ID,
    "updatedAt": _LIFTED_AT,
    "isActive": False,
    "liftedAt": _LIFTED_AT,
    "liftedBy": CREATOR_ID,
}
