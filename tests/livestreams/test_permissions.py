"""The permission matrix of issue 3: every endpoint against every kind of caller.

Each case builds its own stream and people, so that no case depends on another.
A refused request changes nothing, and neither does any read."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import CreditTransaction, User
from accounts.services.credits import credits_grant
from allmine.core.models import AuditEntry
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    BanAction,
    Contribution,
    Guest,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
    ReplayAccess,
)
from tests.api import assert_envelope
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory

API = "/api/v1/live-stream"
ROLES = (
    "anonymous",
    "creator",
    "guest",
    "audience",
    "blocked",
    "deactivated",
    "moderator",
    "stranger",
)

# What each caller is, in the stream the request is about:
#   creator      the stream's creator
#   guest        the invited guest of the (duo) stream
#   audience     a user with a Participant row (present) in the stream
#   blocked      a former audience member under a BLOCK ban in the stream
#   deactivated  an audience member whose account was deactivated after login
#   moderator    a user with livestreams.moderate_livestream, not otherwise involved
#   stranger     a signed-in user with no tie to the stream
MATRIX = [
    # endpoint          anon creator guest audience blocked deact. moder. stranger
    ("join",              401, 403,  403,  200,     403,    401,   200,   200),
    ("renew-token",       401, 200,  200,  200,     403,    401,   403,   403),
    ("leave",             401, 200,  200,  200,     200,    401,   403,   403),
    ("detail",            401, 200,  200,  200,     200,    401,   200,   200),
    ("list",              401, 200,  200,  200,     200,    401,   200,   200),
    ("end",               401, 200,  403,  403,     403,    401,   200,   403),
    ("cancel",            401, 200,  200,  403,     403,    401,   200,   403),
    ("delete",            401, 200,  403,  403,     403,    401,   200,   403),
    ("fund",              401, 403,  201,  201,     403,    401,   201,   201),
    ("funded",            401, 200,  200,  200,     200,    401,   200,   200),
    ("viewer-count",      401, 200,  200,  200,     200,    401,   200,   200),
    ("replay-status",     401, 200,  200,  200,     200,    401,   200,   200),
    ("replay-settings",   401, 200,  403,  403,     403,    401,   403,   403),
    ("replay-rentals",    401, 409,  409,  200,     200,    401,   200,   200),
    ("my-replay-rentals", 401, 200,  200,  200,     200,    401,   200,   200),
    ("ban-create",        401, 201,  403,  403,     403,    401,   201,   403),
    ("ban-list",          401, 200,  403,  403,     403,    401,   200,   403),
    ("ban-lift",          401, 200,  403,  403,     403,    401,   200,   403),
    ("transactions",      401, 200,  200,  200,     200,    401,   200,   200),
]  # fmt: skip
# Values worth a word:
# - join: the creator and guests join with join-as-creator / join-as-guest; a
#   moderator or a stranger joins an active stream as an ordinary viewer.
# - renew-token and leave: a moderator or stranger who never joined has no role (403).
# - leave: a blocked user still has their audience role, and leaving harms nothing.
# - detail, viewer-count, replay-status: a BLOCK keeps a user out of the channel,
#   it does not hide the stream.
# - cancel: the guest may (the stream becomes cancelled_by_guest).
# - fund: only the creator is refused (own stream); the guest is not.
# - replay-settings: the creator only, not a moderator.
# - replay-rentals: the creator and the guest watch free (409); the spec does not
#   extend a BLOCK to the replay, so a blocked user may rent it.
# - ban-lift: the ban lifted is the blocked user's own; they may not lift it.
CASES = [
    (endpoint, role, status)
    for endpoint, *statuses in MATRIX
    for role, status in zip(ROLES, statuses, strict=True)
]


# --- The world of one case ----------------------------------------------------------


@dataclass
class World:
    stream: LiveStream
    people: dict[str, User]
    victim: User  # whom ban-create bans
    ban: LiveStreamBan  # the blocked user's ban, which ban-lift lifts


def make_stream(kind: str) -> LiveStream:
    now = timezone.now()
    fields = {
        "active": {
            "status": LiveStreamStatus.ACTIVE,
            "started_at": now,
            "host_joined_at": now,
            "host_present": True,
        },
        "scheduled": {
            "status": LiveStreamStatus.SCHEDULED,
            "planned_start_date": now + timedelta(hours=2),
            "funding_goal": Decimal("100.00"),
        },
        "ended": {
            "status": LiveStreamStatus.ENDED,
            "started_at": now - timedelta(hours=2),
            "ended_at": now - timedelta(hours=1),
            "recording": True,
            "recording_url": "https://cdn.example.com/replay.mp4",
            "is_active_replay_on_creator_profile": True,
            "replay_credit_price": Decimal("5.00"),
        },
    }[kind]
    return LiveStreamFactory(live_stream_type=LiveStreamType.DUOSELF, **fields)


def build_world(kind: str, *, credits: bool) -> World:
    stream = make_stream(kind)
    guest = GuestFactory(live_stream=stream).user

    def viewer(**fields) -> User:
        user = UserFactory(**fields)
        Participant.objects.create(live_stream=stream, user=user)
        return user

    blocked = viewer()
    Participant.objects.filter(user=blocked).update(is_present=False, left_at=timezone.now())
    ban = LiveStreamBan.objects.create(
        live_stream=stream, user=blocked, action_type=BanAction.BLOCK, created_by=stream.creator
    )
    moderator = UserFactory()
    moderator.user_permissions.add(Permission.objects.get(codename="moderate_livestream"))
    people = {
        "creator": stream.creator,
        "guest": guest,
        "audience": viewer(),
        "blocked": blocked,
        "deactivated": viewer(),
        "moderator": moderator,
        "stranger": UserFactory(),
    }
    if credits:  # enough for any one payment here
        for user in people.values():
            credits_grant(user=user, amount=Decimal("100.00"), reason="test credits")
    return World(stream=stream, people=people, victim=viewer(), ban=ban)


def client_as(world: World, role: str) -> APIClient:
    client = APIClient()
    if role == "anonymous":
        return client
    user = world.people[role]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    if role == "deactivated":  # signed in, then deactivated: the token is still unexpired
        User.objects.filter(pk=user.pk).update(is_active=False)
    return client


# endpoint -> (the stream it needs, the request: method, path, body)
ENDPOINTS = {
    "join": ("active", lambda w: ("post", f"{API}/join", {"liveStreamId": w.stream.pk})),
    "renew-token": (
        "active",
        lambda w: ("post", f"{API}/renew-token", {"liveStreamId": w.stream.pk}),
    ),
    "leave": ("active", lambda w: ("post", f"{API}/leave", {"liveStreamId": w.stream.pk})),
    "detail": ("active", lambda w: ("get", f"{API}/{w.stream.pk}", None)),
    "list": ("active", lambda w: ("get", API, None)),
    "end": ("active", lambda w: ("post", f"{API}/{w.stream.pk}/end", None)),
    "cancel": ("scheduled", lambda w: ("post", f"{API}/{w.stream.pk}/cancel", None)),
    "delete": ("scheduled", lambda w: ("delete", f"{API}/{w.stream.pk}", None)),
    "fund": ("scheduled", lambda w: ("post", f"{API}/{w.stream.pk}/fund", {"amount": 5})),
    "funded": ("scheduled", lambda w: ("get", f"{API}/funded", None)),
    "viewer-count": ("active", lambda w: ("get", f"{API}/{w.stream.pk}/viewer-count", None)),
    "replay-status": ("ended", lambda w: ("get", f"{API}/{w.stream.pk}/replay-status", None)),
    "replay-settings": (
        "ended",
        lambda w: ("patch", f"{API}/{w.stream.pk}/replay-settings", {"replayCreditPrice": 9}),
    ),
    "replay-rentals": ("ended", lambda w: ("post", f"{API}/{w.stream.pk}/replay-rentals", None)),
    "my-replay-rentals": ("ended", lambda w: ("get", f"{API}/my-replay-rentals", None)),
    "ban-create": (
        "active",
        lambda w: (
            "post",
            "/api/v1/live-stream-ban",
            {"liveStreamId": w.stream.pk, "targetUserId": w.victim.pk, "actionType": "BLOCK"},
        ),
    ),
    "ban-list": (
        "active",
        lambda w: ("get", f"/api/v1/live-stream-ban?liveStreamId={w.stream.pk}", None),
    ),
    "ban-lift": ("active", lambda w: ("delete", f"/api/v1/live-stream-ban/{w.ban.pk}", None)),
    "transactions": ("active", lambda w: ("get", "/api/v1/users/me/transactions", None)),
}


# The endpoints that spend the caller's credits.
PAYING = {"fund", "replay-rentals"}


def state() -> dict:
    """Every row an endpoint here could write."""
    return {
        "streams": list(LiveStream.objects.order_by("pk").values()),
        "guests": list(Guest.objects.order_by("pk").values()),
        "participants": list(Participant.objects.order_by("pk").values()),
        "bans": list(LiveStreamBan.objects.order_by("pk").values()),
        "contributions": list(Contribution.objects.order_by("pk").values()),
        "rentals": list(ReplayAccess.objects.order_by("pk").values()),
        "ledger": list(CreditTransaction.objects.order_by("pk").values()),
        "balances": dict(User.objects.values_list("pk", "credit_balance")),
        "audit": list(AuditEntry.objects.order_by("pk").values()),
    }


# --- The matrix ---------------------------------------------------------------------


def test_the_matrix_covers_every_endpoint_and_role():
    assert [row[0] for row in MATRIX] == list(ENDPOINTS)
    assert all(len(row) == len(ROLES) + 1 for row in MATRIX)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "role", "expected"), CASES, ids=[f"{e}-{r}" for e, r, _ in CASES]
)
def test_permission(endpoint, role, expected):
    kind, request = ENDPOINTS[endpoint]
    world = build_world(kind, credits=endpoint in PAYING)
    client = client_as(world, role)
    method, path, body = request(world)
    before = state()

    response = getattr(client, method)(path, body, format="json")

    assert_envelope(response, expected)  # status, envelope, first error text
    if expected >= 400 or method == "get":
        assert state() == before  # a refusal or a read writes nothing
    elif endpoint == "renew-token":  # nothing but a viewer's sign of life (presence)
        for rows in (before, after := state()):
            for participant in rows["participants"]:
                participant.pop("last_seen_at")
        assert after == before
