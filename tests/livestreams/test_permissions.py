"""The permission matrix: every endpoint of /api/v1/ (live streams, bans, accounts,
the Agora webhook, health) against every kind of caller.

Each case builds its own stream and people, makes the request as one role and
asserts the status and the envelope; a refused request (and any read) changes
nothing in the database.

The matrix is complete by construction: `test_every_api_route_and_method_has_a_row`
walks Django's URL resolver for every route under /api/v1/ and every method its
view handles, and fails listing each (route, method) that no row requests.

HOW TO ADD A ROW FOR A NEW ENDPOINT
1. Add a row to MATRIX: a short name, then the status each role gets, in the
   order of ROLES. Say why in "Values worth a word" if a value may surprise.
2. Add an entry with the same name to ENDPOINTS: the world the request needs
   ("active", "scheduled" or "ended", see `make_stream`) and a function of the
   world giving `(method, path, body)`, or `(method, path, body, format)` for a
   format other than JSON ("multipart"). The path is what decides which route
   the row covers, so use the real URL (with the world's ids).
3. If the endpoint spends the caller's credits, add its name to PAYING.
4. Only if a row makes no sense (no caller at all), add the (route, method) to
   EXEMPT with the reason and the test file that covers it; the tests check that
   the exemption names a real route without a row and an existing test file.
Then run this file: the completeness test names anything still missing.
"""

import os
import time
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from livestreams.models import GiftType, LiveStream, LiveStreamBan, LiveStreamType
from tests.api import assert_envelope
from tests.factories import (
    DEFAULT_PASSWORD,
    BanFactory,
    GuestFactory,
    LiveStreamFactory,
    ParticipantFactory,
    UserFactory,
)
from tests.helpers import grant, without_presence, world_snapshot

API = "/api/v1/live-stream"
API_PREFIXES = ("api/v1/", "api/v2/")
TESTS = Path(__file__).resolve().parent.parent
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
#   guest        the invited guest of the (duo) stream (invited, not yet joined)
#   audience     a user with a Participant row (present) in the stream
#   blocked      a former audience member under a BLOCK ban in the stream
#   deactivated  an audience member whose account was deactivated after login
#   moderator    a user with livestreams.moderate_livestream, not otherwise involved
#   stranger     a signed-in user with no tie to the stream
MATRIX = [
    # endpoint          anon creator guest audience blocked deact. moder. stranger
    ("create",            401, 409,  201,  201,     201,    401,   201,   201),
    ("join-as-creator",   401, 200,  403,  403,     403,    401,   403,   403),
    ("join-as-guest",     401, 403,  200,  403,     403,    401,   403,   403),
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
    ("ban-create",        401, 200,  403,  403,     403,    401,   200,   403),
    ("ban-list",          401, 200,  403,  403,     403,    401,   200,   403),
    ("ban-lift",          401, 200,  403,  403,     403,    401,   200,   403),
    ("agora-events",      401, 401,  401,  401,     401,    401,   401,   401),
    ("register",          201, 201,  201,  201,     201,    201,   201,   201),
    ("login",             200, 200,  200,  200,     200,    200,   200,   200),
    ("refresh",           200, 200,  200,  200,     200,    200,   200,   200),
    ("logout",            200, 200,  200,  200,     200,    200,   200,   200),
    ("me",                401, 200,  200,  200,     200,    401,   200,   200),
    ("profile-photo",     401, 200,  200,  200,     200,    401,   200,   200),
    ("transactions",      401, 200,  200,  200,     200,    401,   200,   200),
    ("health",            200, 200,  200,  200,     200,    200,   200,   200),
    ("featured",          200, 200,  200,  200,     200,    401,   200,   200),
    ("catch-streamers",   200, 200,  200,  200,     200,    401,   200,   200),
    ("most-watched",      200, 200,  200,  200,     200,    401,   200,   200),
    ("guest-streams",     401, 200,  200,  200,     200,    401,   200,   200),
    ("my-past-streams",   401, 200,  200,  200,     200,    401,   200,   200),
    ("user-past-streams", 200, 200,  200,  200,     200,    401,   200,   200),
    ("upcoming",          200, 200,  200,  200,     200,    401,   200,   200),
    ("upcoming-v2",       200, 200,  200,  200,     200,    401,   200,   200),
    ("reminder",          401, 200,  200,  200,     403,    401,   200,   200),
    ("viewers",           401, 200,  200,  200,     403,    401,   200,   200),
    ("gift-statistics",   401, 200,  200,  200,     403,    401,   200,   200),
    ("participant-stats", 401, 200,  200,  403,     403,    401,   200,   403),
    ("ban-check",         401, 200,  403,  403,     200,    401,   200,   403),
    ("report",            401, 403,  201,  201,     201,    401,   201,   201),
    ("gift-types",        401, 200,  200,  200,     200,    401,   200,   200),
    ("gift-create",       401, 403,  403,  201,     403,    401,   403,   403),
    ("chat-send",         401, 201,  201,  201,     403,    401,   403,   403),
    ("chat-history",      401, 200,  200,  200,     403,    401,   200,   200),
    ("superlike",         401, 403,  403,  201,     403,    401,   403,   403),
]  # fmt: skip
# Values worth a word:
# - create: anyone signed in; the creator already has an open (active) stream
#   here, and a creator has one preparing or active stream at a time (409).
# - join-as-creator / join-as-guest: only the creator / an invited guest; the
#   check of who comes before everything else (403).
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
# - agora-events: signed by Agora with an HMAC of the body, never opened by a
#   user's token: an unsigned notice is a 401 whoever sends it, even the stream's
#   creator or a moderator. Signed notices: tests/livestreams/test_agora_events.py.
# - register, login, refresh, logout, health: they read no access token at all,
#   so even a deactivated user's token changes nothing (login and refresh here
#   are for another, active account; the deactivated ones: test_auth_api.py).
# - featured, catch-streamers, most-watched, user-past-streams, upcoming: public,
#   but a token that is sent must be valid (the deactivated user's is not).
# - reminder, viewers, gift-statistics: any signed-in user but a BLOCK-banned one.
# - participant-stats: the creator, the guests and the moderators only.
# - ban-check: of the blocked user's ban; they may check themselves.
# - report: anyone but the creator; a ban does not stop a report.
# - gift-create: audience members only (not the creator, a guest, or someone who
#   never joined, such as the moderator and the stranger); not a BLOCK-banned one.
# - chat-send: members (the creator, the guests, the audience), not a banned one;
#   a moderator who never joined is no member (they remove messages in the admin).
# - chat-history: any signed-in user but a BLOCK-banned one.
# - superlike: as gift-create (a CHAT_ONLY ban refuses it too: tests/livestreams/test_chat.py).
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
    """A duo stream that is live ("active"), scheduled with a funding goal
    ("scheduled"), or ended with a rentable replay ("ended")."""
    trait = {"active": "active", "scheduled": "fundable", "ended": "replay"}[kind]
    return LiveStreamFactory(live_stream_type=LiveStreamType.DUOSELF, **{trait: True})


def build_world(kind: str, *, credits: bool) -> World:
    stream = make_stream(kind)
    guest = GuestFactory(live_stream=stream).user

    def viewer(**fields) -> User:
        return ParticipantFactory(live_stream=stream, **fields).user

    blocked = viewer(left=True)
    ban = BanFactory(live_stream=stream, user=blocked)
    people = {
        "creator": stream.creator,
        "guest": guest,
        "audience": viewer(),
        "blocked": blocked,
        "deactivated": viewer(),
        "moderator": UserFactory(moderator=True),
        "stranger": UserFactory(),
    }
    if credits:  # enough for any one payment here
        for user in people.values():
            grant(user, "100.00")
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


def small_png() -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (32, 32), (20, 120, 200)).save(buffer, "PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


def media_files(root: str) -> list[str]:
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files]


def refresh_token(world: World) -> str:
    return str(RefreshToken.for_user(world.people["stranger"]))


# endpoint -> (the stream it needs, the request: method, path, body[, format])
ENDPOINTS = {
    "create": (
        "active",
        lambda w: ("post", f"{API}/create", {"title": "One more", "liveStreamType": "solo"}),
    ),
    "join-as-creator": (
        "active",
        lambda w: ("post", f"{API}/join-as-creator", {"liveStreamId": w.stream.pk}),
    ),
    "join-as-guest": (
        "active",
        lambda w: ("post", f"{API}/join-as-guest", {"liveStreamId": w.stream.pk}),
    ),
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
    "agora-events": (
        "active",
        lambda w: (
            "post",
            "/api/v1/agora/events",
            {
                "noticeId": "2000001428:4330:1",
                "productId": 1,
                "eventType": 104,  # the creator left the channel
                "notifyMs": int(time.time()) * 1000,
                "payload": {
                    "channelName": w.stream.channel_name,
                    "ts": int(time.time()),
                    "uid": w.stream.creator.agora_uid,
                    "clientSeq": 1,
                    "platform": 1,
                    "reason": 1,
                },
            },
        ),
    ),
    "register": (
        "active",
        lambda w: (
            "post",
            "/api/v1/auth/register",
            {
                "username": "newcomer",
                "email": "newcomer@example.com",
                "password": DEFAULT_PASSWORD,
                "name": "New",
                "surname": "Comer",
            },
        ),
    ),
    "login": (
        "active",
        lambda w: (
            "post",
            "/api/v1/auth/login",
            {"login": w.people["stranger"].username, "password": DEFAULT_PASSWORD},
        ),
    ),
    "refresh": (
        "active",
        lambda w: ("post", "/api/v1/auth/refresh", {"refreshToken": refresh_token(w)}),
    ),
    "logout": (
        "active",
        lambda w: ("post", "/api/v1/auth/logout", {"refreshToken": refresh_token(w)}),
    ),
    "me": ("active", lambda w: ("get", "/api/v1/auth/me", None)),
    "profile-photo": (
        "active",
        lambda w: ("patch", "/api/v1/users/profile/photo", {"file": small_png()}, "multipart"),
    ),
    "transactions": ("active", lambda w: ("get", "/api/v1/users/me/transactions", None)),
    "health": ("active", lambda w: ("get", "/api/v1/health", None)),
    "featured": ("active", lambda w: ("get", f"{API}/featured", None)),
    "catch-streamers": ("active", lambda w: ("get", f"{API}/catch-streamers", None)),
    "most-watched": ("active", lambda w: ("get", f"{API}/most-watched-creators", None)),
    "guest-streams": ("active", lambda w: ("get", f"{API}/guest-streams", None)),
    "my-past-streams": ("ended", lambda w: ("get", f"{API}/my-past-streams", None)),
    "user-past-streams": (
        "ended",
        lambda w: ("get", f"{API}/user/{w.stream.creator_id}/past-streams", None),
    ),
    "upcoming": (
        "scheduled",
        lambda w: ("get", f"{API}/user/{w.stream.creator_id}/upcoming-live-streams", None),
    ),
    "upcoming-v2": (
        "scheduled",
        lambda w: (
            "get",
            f"/api/v2/live-stream/user/{w.stream.creator_id}/upcoming-live-streams",
            None,
        ),
    ),
    "reminder": ("scheduled", lambda w: ("post", f"{API}/{w.stream.pk}/reminder", {"minute": 5})),
    "viewers": ("active", lambda w: ("get", f"{API}/{w.stream.pk}/viewers", None)),
    "gift-statistics": ("active", lambda w: ("get", f"{API}/{w.stream.pk}/gift-statistics", None)),
    "participant-stats": (
        "active",
        lambda w: ("get", f"/api/v1/participant/stream/{w.stream.pk}/statistics", None),
    ),
    "ban-check": (
        "active",
        lambda w: (
            "get",
            f"/api/v1/live-stream-ban/check/{w.ban.user_id}?liveStreamId={w.stream.pk}",
            None,
        ),
    ),
    "report": (
        "active",
        lambda w: ("post", f"/api/v1/live-stream-reports/{w.stream.pk}", {"type": "spam"}),
    ),
    "gift-types": ("active", lambda w: ("get", "/api/v1/gifts/gift-types", None)),
    "gift-create": (
        "active",
        lambda w: (
            "post",
            "/api/v1/gifts/create",
            {"giftTypeId": a_gift_type().pk, "liveStreamId": w.stream.pk},
        ),
    ),
    "chat-send": (
        "active",
        lambda w: ("post", f"{API}/{w.stream.pk}/chat/messages", {"content": "Merhaba!"}),
    ),
    "chat-history": ("active", lambda w: ("get", f"{API}/{w.stream.pk}/chat/messages", None)),
    "superlike": ("active", lambda w: ("post", f"{API}/{w.stream.pk}/chat/superlike", None)),
}


def a_gift_type() -> GiftType:
    return GiftType.objects.create(credit_amount=Decimal("3.00"), svg="gifts/test.svg")


# The endpoints that spend the caller's credits.
PAYING = {"fund", "replay-rentals", "gift-create", "superlike"}
# Requests that write nothing although they are not GETs.
WRITES_NOTHING = {"renew-token"}

# (route, method) -> (why it has no row, the test file that covers it instead).
# Every route under /api/v1/ has a row today; keep this for the rare endpoint no
# caller of the apps can reach at all.
EXEMPT: dict[tuple[str, str], tuple[str, str]] = {}


# --- Routes ----------------------------------------------------------------------------


def api_routes() -> set[tuple[str, str]]:
    """Every (route, METHOD) under /api/v1/ and /api/v2/ that a view handles. OPTIONS (DRF's
    metadata, the same for every view) and HEAD (Django answers it as GET) are
    not rows of their own."""
    found = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith(API_PREFIXES):
                view = pattern.callback.view_class
                for method in view.http_method_names:
                    if method not in ("options", "head") and hasattr(view, method):
                        found.add((route, method.upper()))

    walk(get_resolver().url_patterns, "")
    return found


def route_of(request: tuple) -> tuple[str, str]:
    """The (route, METHOD) a row's request reaches."""
    method, path = request[0], request[1]
    return resolve(urlsplit(path).path).route, method.upper()


def covered_routes() -> dict[tuple[str, str], str]:
    covered: dict[tuple[str, str], str] = {}
    for endpoint, (kind, request) in ENDPOINTS.items():
        route = route_of(request(build_world(kind, credits=False)))
        assert route not in covered, f"{endpoint} and {covered[route]} request the same {route}"
        covered[route] = endpoint
    return covered


def missing_rows() -> list[tuple[str, str]]:
    return sorted(api_routes() - set(covered_routes()) - set(EXEMPT))


# --- The matrix is complete -------------------------------------------------------------


def test_the_matrix_and_its_requests_name_the_same_endpoints_and_every_role():
    assert [row[0] for row in MATRIX] == list(ENDPOINTS)
    assert all(len(row) == len(ROLES) + 1 for row in MATRIX)
    assert set(ENDPOINTS) >= PAYING and set(ENDPOINTS) >= WRITES_NOTHING


@pytest.mark.django_db
def test_every_api_route_and_method_has_a_row():
    missing = missing_rows()
    assert not missing, "No row in the permission matrix (see the top of this file) for:\n" + (
        "\n".join(f"  {method} /{route}" for route, method in missing)
    )


@pytest.mark.django_db
def test_every_row_reaches_a_route_of_the_api():
    routes = api_routes()
    strays = {e: route for route, e in covered_routes().items() if route not in routes}
    assert not strays, f"rows whose request reaches no /api/v1/ route: {strays}"


def test_the_route_walk_finds_the_api():
    """The walk sees every kind of route: fixed, with an id, several methods on one."""
    routes = api_routes()
    assert {
        ("api/v1/live-stream/create", "POST"),
        ("api/v1/live-stream/<str:live_stream_id>", "GET"),
        ("api/v1/live-stream/<str:live_stream_id>", "DELETE"),
        ("api/v1/live-stream-ban", "POST"),
        ("api/v1/live-stream-ban", "GET"),
        ("api/v1/agora/events", "POST"),
        ("api/v1/auth/register", "POST"),
        ("api/v1/users/profile/photo", "PATCH"),
        ("api/v1/health", "GET"),
    } <= routes
    assert not any(route.startswith("^") for route, _method in routes)  # not the 404 catch-all


@pytest.mark.django_db
@pytest.mark.urls("tests.livestreams.permission_test_urls")
def test_a_new_endpoint_without_a_row_fails_the_completeness_test():
    assert missing_rows() == [
        ("api/v1/live-stream/<str:live_stream_id>/brand-new", "POST"),
        ("api/v1/live-stream/<str:live_stream_id>/brand-new", "PUT"),
    ]


def test_every_exemption_is_a_real_route_without_a_row_and_names_its_test():
    routes = api_routes()
    for (route, method), (reason, test_file) in EXEMPT.items():
        assert (route, method) in routes, f"stale exemption: {method} /{route}"
        assert reason.strip(), f"{method} /{route}: say why it has no row"
        assert (TESTS / test_file).is_file(), f"{method} /{route}: no such test {test_file}"


# --- The cases --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "role", "expected"), CASES, ids=[f"{e}-{r}" for e, r, _ in CASES]
)
def test_permission(endpoint, role, expected, media_root):
    kind, request = ENDPOINTS[endpoint]
    world = build_world(kind, credits=endpoint in PAYING)
    client = client_as(world, role)
    method, path, body, *fmt = request(world)
    before = world_snapshot()

    response = getattr(client, method)(path, body, format=fmt[0] if fmt else "json")

    assert_envelope(response, expected)  # status, envelope, first error text
    if expected >= 400 or method == "get" or endpoint in WRITES_NOTHING:
        after = world_snapshot()
        if endpoint == "renew-token":  # nothing but a viewer's sign of life (presence)
            after, before = without_presence(after), without_presence(before)
        assert after == before  # a refusal or a read writes nothing
        assert media_files(media_root) == []  # and stores no file
