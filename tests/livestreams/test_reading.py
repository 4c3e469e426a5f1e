"""Reading live streams (spec §2, §4; issue 3): GET /live-stream/{id}, the list
GET /live-stream, GET /live-stream/funded, GET /live-stream/my-replay-rentals,
GET /live-stream/{id}/replay-status and PATCH /live-stream/{id}/replay-settings."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from allmine.core.ids import new_object_id
from allmine.core.timestamps import format_timestamp
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    Contribution,
    ContributionStatus,
    Guest,
    LiveStream,
    LiveStreamType,
    MiniCrowdFunding,
    Participant,
    ReplayAccess,
)
from livestreams.services.broadcasting import livestream_join_as_creator
from livestreams.services.moderation import livestream_cancel, livestream_remove
from livestreams.services.money import livestream_fund
from tests.api import assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, ReplayRentalFactory, UserFactory

LIST_URL = "/api/v1/live-stream"
FUNDED_URL = "/api/v1/live-stream/funded"
RENTALS_URL = "/api/v1/live-stream/my-replay-rentals"
RECORDING_URL = "https://cdn.example.com/recordings/replay.m3u8"
REPLAY_ACCESS_FIELDS = {
    "status",
    "canRent",
    "canViewRecording",
    "price",
    "rentedAt",
    "expiresAt",
    "remainingSeconds",
}
PAGINATION_FIELDS = {
    "currentPage",
    "totalPages",
    "totalItems",
    "itemsPerPage",
    "hasNextPage",
    "hasPrevPage",
}

# On a cache miss: authentication, the stream with its creator (and photo), its
# guests, its mini crowdfundings, and the caller's flags (in its audience, their
# rental) in one query (tests/livestreams/test_snapshots.py counts the cache hits).
DETAIL_QUERIES_STRANGER_ENDED = 5
DETAIL_QUERIES_HOST = 4  # the creator: no audience or rental look-up
# Authentication, the count, the page, then guests, mini crowdfundings, the
# caller's participations and rentals for every stream of the page at once.
LIST_QUERIES = 7


# --- Helpers ---------------------------------------------------------------------------


def detail_url(stream_id) -> str:
    return f"/api/v1/live-stream/{stream_id}"


def status_url(stream_id) -> str:
    return f"/api/v1/live-stream/{stream_id}/replay-status"


def settings_url(stream_id) -> str:
    return f"/api/v1/live-stream/{stream_id}/replay-settings"


def ended_stream(**kwargs) -> LiveStream:
    """An ended stream whose replay can be rented (spec §4), unless told otherwise."""
    now = timezone.now()
    values = {
        "status": LiveStreamStatus.ENDED,
        "started_at": now - timedelta(hours=2),
        "ended_at": now - timedelta(hours=1),
        "recording": True,
        "recording_url": RECORDING_URL,
        "is_active_replay_on_creator_profile": True,
        "replay_credit_price": Decimal("3.50"),
    }
    values.update(kwargs)
    return LiveStreamFactory(**values)


def rent(stream, user, *, expires_in: timedelta) -> ReplayAccess:
    """A paid 24 h rental of `stream` by `user` that ends `expires_in` from now."""
    return ReplayRentalFactory(live_stream=stream, user=user, expires_in=expires_in)


def remove(stream) -> None:
    LiveStream.objects.filter(pk=stream.pk).update(
        deleted_at=timezone.now(), deletion_reason="test"
    )


def ids(items) -> list[str]:
    return [item["id"] for item in items]


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """`django.utils.timezone.now`, frozen for the test."""
    frozen = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


def caller_with(stream, relation: str) -> User:
    """A user related to `stream` as `relation`:
    owner, guest, rented (2 h left), expired (ended 1 h ago), audience or none."""
    if relation == "owner":
        return stream.creator
    user = UserFactory()
    if relation == "guest":
        GuestFactory(live_stream=stream, user=user)
    elif relation == "rented":
        rent(stream, user, expires_in=timedelta(hours=2))
    elif relation == "expired":
        rent(stream, user, expires_in=-timedelta(hours=1))
    elif relation == "audience":
        Participant.objects.create(live_stream=stream, user=user, is_present=False)
    return user


# (relation, status, canRent, canViewRecording, has a rental, remainingSeconds)
REPLAY_ACCESS = [
    pytest.param("owner", "owner", False, True, False, None, id="owner"),
    pytest.param("guest", "guest", False, True, False, None, id="guest"),
    pytest.param("rented", "rented", False, True, True, 7200, id="rented"),
    pytest.param("expired", "expired", True, False, True, 0, id="expired"),
    pytest.param("audience", "none", True, False, False, None, id="audience"),
    pytest.param("none", "none", True, False, False, None, id="none"),
]


def assert_replay_access(access, *, stream, caller, status, can_rent, can_view, rented, left):
    assert set(access) == REPLAY_ACCESS_FIELDS
    assert access["status"] == status
    assert access["canRent"] is can_rent
    assert access["canViewRecording"] is can_view
    assert access["price"] == 3.5
    if rented:
        rental = ReplayAccess.objects.get(live_stream=stream, user=caller)
        assert access["rentedAt"] == format_timestamp(rental.rented_at)
        assert access["expiresAt"] == format_timestamp(rental.expires_at)
    else:
        assert access["rentedAt"] is None
        assert access["expiresAt"] is None
    assert access["remainingSeconds"] == left


# --- GET /live-stream/{id} --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "relation, role",
    [
        ("owner", "host"),
        ("guest", "guest"),
        ("audience", "audience"),
        ("none", None),
        ("moderator", None),
    ],
)
def test_any_signed_in_user_reads_a_stream_with_their_role(client_for, relation, role):
    stream = LiveStreamFactory(
        status=LiveStreamStatus.ACTIVE,
        live_stream_type=LiveStreamType.DUOSELF,
        started_at=timezone.now(),
    )
    GuestFactory(live_stream=stream)
    if relation == "moderator":
        caller = UserFactory(moderator=True)
    else:
        caller = caller_with(stream, relation)

    data = assert_envelope(client_for(caller).get(detail_url(stream.pk)), 200)

    assert data["id"] == stream.pk
    assert data["title"] == stream.title
    assert data["status"] == "active"
    assert data["role"] == role
    assert data["creator"]["_id"] == stream.creator_id
    assert data["guests"] == list(
        Guest.objects.filter(live_stream=stream).values_list("user_id", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("relation, status, can_rent, can_view, rented, left", REPLAY_ACCESS)
def test_replay_access_is_computed_for_the_caller(
    client_for, clock, relation, status, can_rent, can_view, rented, left
):
    stream = ended_stream(live_stream_type=LiveStreamType.DUOCROWD)
    caller = caller_with(stream, relation)

    data = assert_envelope(client_for(caller).get(detail_url(stream.pk)), 200)

    assert_replay_access(
        data["replayAccess"],
        stream=stream,
        caller=caller,
        status=status,
        can_rent=can_rent,
        can_view=can_view,
        rented=rented,
        left=left,
    )
    assert data["recordingUrl"] == (RECORDING_URL if can_view else None)
    assert data["recording"] is True
    assert data["replayCreditPrice"] == 3.5


# A stream that is not rentable for one reason (spec §4), seen by a stranger.
NOT_RENTABLE = [
    pytest.param({"status": LiveStreamStatus.ACTIVE, "ended_at": None}, id="active"),
    pytest.param({"recording": False, "recording_url": None}, id="no-recording"),
    pytest.param({"recording_url": None}, id="recording-not-ready"),
    pytest.param({"is_active_replay_on_creator_profile": False}, id="replay-off"),
    pytest.param({"is_active_replay_on_creator_profile": None}, id="replay-unset"),
    pytest.param({"replay_credit_price": None}, id="no-price"),
    pytest.param({"replay_credit_price": Decimal("0")}, id="price-zero"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("change", NOT_RENTABLE)
def test_only_a_rentable_stream_can_be_rented(client_for, change):
    stranger = UserFactory()
    rentable = ended_stream()
    assert (
        assert_envelope(client_for(stranger).get(detail_url(rentable.pk)), 200)["replayAccess"][
            "canRent"
        ]
        is True
    )
    stream = ended_stream(**change)

    access = assert_envelope(client_for(stranger).get(detail_url(stream.pk)), 200)["replayAccess"]

    assert access["status"] == "none"
    assert access["canRent"] is False
    assert access["canViewRecording"] is False


@pytest.mark.django_db
def test_the_owner_sees_no_recording_url_before_there_is_one(client_for):
    stream = ended_stream(recording_url=None)
    data = assert_envelope(client_for(stream.creator).get(detail_url(stream.pk)), 200)
    assert data["replayAccess"]["status"] == "owner"
    assert data["replayAccess"]["canViewRecording"] is False
    assert data["recordingUrl"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["creator", "stranger", "moderator"])
def test_a_removed_stream_is_a_404(client_for, who):
    stream = ended_stream()
    remove(stream)
    caller = {
        "creator": stream.creator,
        "stranger": UserFactory(),
        "moderator": UserFactory(moderator=True),
    }[who]
    client = client_for(caller)
    assert_error(client.get(detail_url(stream.pk)), 404)
    assert_error(client.get(status_url(stream.pk)), 404)
    assert_error(client.get(f"/api/v1/live-stream/{stream.pk}/viewer-count"), 404)


MALFORMED_PATH_IDS = ["abc", "6" * 23, "6" * 25, "ABCDEF0123456789ABCDEF01", "zz" * 12]


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", MALFORMED_PATH_IDS)
def test_a_malformed_id_in_the_path_is_a_400(client_for, bad_id):
    client = client_for(UserFactory())
    for url in (detail_url(bad_id), status_url(bad_id)):
        errors = assert_error(client.get(url), 400)
        assert any(e.startswith("id: ") for e in errors[1:]), errors


@pytest.mark.django_db
def test_an_unknown_id_is_a_404(client_for):
    client = client_for(UserFactory())
    assert_error(client.get(detail_url(new_object_id())), 404)
    assert_error(client.get(status_url(new_object_id())), 404)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        lambda pk: detail_url(pk),
        lambda pk: status_url(pk),
        lambda pk: LIST_URL,
        lambda pk: FUNDED_URL,
        lambda pk: RENTALS_URL,
    ],
    ids=["detail", "replay-status", "list", "funded", "rentals"],
)
def test_reading_needs_a_token(url):
    stream = ended_stream()
    assert_error(APIClient().get(url(stream.pk)), 401)


@pytest.mark.django_db
def test_a_deactivated_user_cannot_read(client_for):
    stream = ended_stream()
    reader = UserFactory()
    client = client_for(reader)
    User.objects.filter(pk=reader.pk).update(is_active=False)
    assert_error(client.get(detail_url(stream.pk)), 401)


# --- GET /live-stream -------------------------------------------------------------------


@pytest.fixture
def catalogue(db):
    """Two creators' streams, created a minute apart (s0 oldest), and a removed one."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    start = timezone.now() - timedelta(days=1)
    rows = [
        ("s0", alice, LiveStreamStatus.ENDED, "music"),
        ("s1", alice, LiveStreamStatus.ENDED, "gaming"),
        ("s2", bob, LiveStreamStatus.ENDED, "music"),
        ("s3", bob, LiveStreamStatus.SCHEDULED, "gaming"),
        ("s4", alice, LiveStreamStatus.SCHEDULED, None),
        ("s5", bob, LiveStreamStatus.ACTIVE, "gaming"),
        ("s6", alice, LiveStreamStatus.ACTIVE, "music"),
        ("s7", alice, LiveStreamStatus.CANCELLED_BY_HOST, "art"),
    ]
    streams = {}
    for index, (name, creator, status, interest) in enumerate(rows):
        streams[name] = LiveStreamFactory(
            title=name,
            creator=creator,
            status=status,
            interest=interest,
            created_at=start + timedelta(minutes=index),
        )
    gone = LiveStreamFactory(
        title="removed",
        creator=alice,
        status=LiveStreamStatus.ENDED,
        interest="music",
        created_at=start + timedelta(hours=1),
    )
    remove(gone)
    return {"alice": alice, "bob": bob, **streams}


def titles(data) -> list[str]:
    """The titles of an array of streams (or of a page's list)."""
    items = data if isinstance(data, list) else data["list"]
    return [item["title"] for item in items]


def links(response) -> dict[str, str]:
    """The `Link` header's URLs by their rel (`next`, `prev`)."""
    header = response.headers.get("Link", "")
    found = re.findall(r'<([^>]+)>; rel="(\w+)"', header)
    return {rel: url for url, rel in found}


def page_of(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["page"][0])


# (filters, the titles listed, newest first); "@alice" stands for alice's id.
FILTERS = [
    pytest.param({}, ["s7", "s6", "s5", "s4", "s3", "s2", "s1", "s0"], id="none"),
    pytest.param({"status": "ended"}, ["s2", "s1", "s0"], id="status"),
    pytest.param({"status": "active"}, ["s6", "s5"], id="status-active"),
    pytest.param({"status": "expired"}, [], id="status-no-match"),
    pytest.param({"interest": "music"}, ["s6", "s2", "s0"], id="interest"),
    pytest.param({"creator": "@alice"}, ["s7", "s6", "s4", "s1", "s0"], id="creator"),
    pytest.param({"status": "ended", "interest": "music"}, ["s2", "s0"], id="status+interest"),
    pytest.param({"status": "scheduled", "creator": "@bob"}, ["s3"], id="status+creator"),
    pytest.param({"interest": "gaming", "creator": "@alice"}, ["s1"], id="interest+creator"),
    pytest.param(
        {"status": "active", "interest": "gaming", "creator": "@bob"}, ["s5"], id="all-three"
    ),
    pytest.param(
        {"status": "active", "interest": "gaming", "creator": "@alice"}, [], id="all-no-match"
    ),
    pytest.param(
        {"status": "", "interest": "", "creator": ""},
        ["s7", "s6", "s5", "s4", "s3", "s2", "s1", "s0"],
        id="blank-means-no-filter",
    ),
]


@pytest.mark.parametrize("filters, expected", FILTERS)
def test_the_list_filters_and_orders_newest_first(client_for, catalogue, filters, expected):
    params = {
        key: catalogue[value[1:]].pk if str(value).startswith("@") else value
        for key, value in filters.items()
    }
    response = client_for(UserFactory()).get(LIST_URL, params)
    data = assert_envelope(response, 200)

    assert isinstance(data, list)  # an array; the totals travel in headers
    assert titles(data) == expected
    assert response.headers["X-Total-Count"] == str(len(expected))
    assert "removed" not in titles(data)


@pytest.mark.django_db
def test_streams_created_at_the_same_time_are_in_a_stable_order(client_for):
    same = timezone.now()
    streams = [LiveStreamFactory(created_at=same) for _ in range(5)]
    client = client_for(UserFactory())
    expected = sorted((s.pk for s in streams), reverse=True)
    first = ids(assert_envelope(client.get(LIST_URL, {"limit": 2}), 200))
    second = ids(assert_envelope(client.get(LIST_URL, {"limit": 2, "page": 2}), 200))
    third = ids(assert_envelope(client.get(LIST_URL, {"limit": 2, "page": 3}), 200))
    assert first + second + third == expected


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param({"status": "live"}, id="unknown-status"),
        pytest.param({"status": "ACTIVE"}, id="uppercase-status"),
        pytest.param({"interest": "cooking"}, id="unknown-interest"),
        pytest.param({"creator": "alice"}, id="creator-not-an-id"),
        pytest.param({"creator": "A" * 24}, id="creator-uppercase-id"),
    ],
)
def test_a_bad_filter_is_a_400(client_for, catalogue, filters):
    errors = assert_error(client_for(UserFactory()).get(LIST_URL, filters), 400)
    (field,) = filters
    assert any(e.startswith(f"{field}: ") for e in errors[1:]), errors


def test_an_unknown_creator_lists_nothing(client_for, catalogue):
    response = client_for(UserFactory()).get(LIST_URL, {"creator": new_object_id()})
    assert assert_envelope(response, 200) == []
    assert response.headers["X-Total-Count"] == "0"


def test_removed_streams_are_never_listed(client_for, catalogue):
    alice = catalogue["alice"]
    for params in ({}, {"creator": alice.pk}, {"status": "ended"}, {"interest": "music"}):
        for reader in (alice, UserFactory(), UserFactory(moderator=True)):
            data = assert_envelope(client_for(reader).get(LIST_URL, params), 200)
            assert "removed" not in titles(data)


@pytest.fixture
def twenty_five(db):
    """25 streams, newest first in this list."""
    start = timezone.now() - timedelta(days=1)
    streams = [
        LiveStreamFactory(created_at=start + timedelta(minutes=i), status=LiveStreamStatus.ENDED)
        for i in range(25)
    ]
    return [s.pk for s in reversed(streams)]


# (params, slice listed, the next page, the previous page): 20 a page by default.
PAGES = [
    pytest.param({}, slice(0, 20), 2, None, id="defaults"),
    pytest.param({"page": 2}, slice(20, 25), None, 1, id="last-page"),
    pytest.param({"page": 3}, slice(0, 0), None, 2, id="past-the-end"),
    pytest.param({"page": 1000}, slice(0, 0), None, 999, id="far-past-the-end"),
    pytest.param({"page": 0}, slice(0, 20), 2, None, id="page-0"),
    pytest.param({"page": -1}, slice(0, 20), 2, None, id="page-negative"),
    pytest.param({"limit": 1}, slice(0, 1), 2, None, id="limit-1"),
    pytest.param({"limit": 0}, slice(0, 1), 2, None, id="limit-0"),
    pytest.param({"limit": -3}, slice(0, 1), 2, None, id="limit-negative"),
    pytest.param({"limit": 10}, slice(0, 10), 2, None, id="limit-10"),
    pytest.param({"limit": 25}, slice(0, 25), None, None, id="limit-exact"),
    pytest.param({"limit": 100}, slice(0, 25), None, None, id="limit-100"),
    pytest.param({"limit": 500}, slice(0, 25), None, None, id="limit-clamped"),
    pytest.param({"page": 2, "limit": 7}, slice(7, 14), 3, 1, id="page-2-of-7"),
    pytest.param({"page": 4, "limit": 7}, slice(21, 25), None, 3, id="last-of-7"),
]


@pytest.mark.parametrize("params, listed, next_page, prev_page", PAGES)
def test_pagination(client_for, twenty_five, params, listed, next_page, prev_page):
    response = client_for(UserFactory()).get(LIST_URL, {**params, "status": "ended"})
    data = assert_envelope(response, 200)
    assert ids(data) == twenty_five[listed]
    assert response.headers["X-Total-Count"] == "25"
    found = links(response)
    assert set(found) == {
        rel for rel, page in (("next", next_page), ("prev", prev_page)) if page is not None
    }
    for rel, page in (("next", next_page), ("prev", prev_page)):
        if page is None:
            continue
        url = found[rel]
        assert url.startswith(f"{settings.PUBLIC_BASE_URL}{LIST_URL}?")
        assert page_of(url) == page
        query = parse_qs(urlsplit(url).query)
        assert query["status"] == ["ended"]  # the filters are kept
        asked = params.get("limit")
        expected_limit = 20 if asked in (None, "") else min(100, max(1, int(asked)))
        assert int(query["limit"][0]) == expected_limit


def test_walking_the_links_lists_every_stream_once(client_for, twenty_five):
    client = client_for(UserFactory())
    seen, url, pages = [], f"{LIST_URL}?limit=4", 0
    while url:
        response = client.get(url)
        seen += ids(assert_envelope(response, 200))
        pages += 1
        following = links(response).get("next")
        url = following.removeprefix(settings.PUBLIC_BASE_URL) if following else None
    assert pages == 7
    assert seen == twenty_five


@pytest.mark.django_db
def test_an_empty_list(client_for):
    response = client_for(UserFactory()).get(LIST_URL)
    assert assert_envelope(response, 200) == []
    assert response.headers["X-Total-Count"] == "0"
    assert "Link" not in response.headers


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [{"page": "abc"}, {"page": "1.5"}, {"limit": "ten"}, {"limit": "2e1"}, {"page": "0x2"}],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_a_non_integer_page_or_limit_is_a_400(client_for, params):
    errors = assert_error(client_for(UserFactory()).get(LIST_URL, params), 400)
    (field,) = params
    assert any(e.startswith(f"{field}: ") for e in errors[1:]), errors


@pytest.mark.django_db
def test_each_listed_stream_carries_the_callers_role_and_replay_access(client_for):
    viewer = UserFactory()
    mine = ended_stream(creator=viewer, title="mine")
    invited = ended_stream(live_stream_type=LiveStreamType.DUOSELF, title="invited")
    GuestFactory(live_stream=invited, user=viewer)
    watched = ended_stream(title="watched")
    Participant.objects.create(live_stream=watched, user=viewer, is_present=False)
    rented = ended_stream(title="rented")
    rent(rented, viewer, expires_in=timedelta(hours=3))
    other = ended_stream(title="other")
    rent(other, UserFactory(), expires_in=timedelta(hours=3))  # someone else's rental

    data = assert_envelope(client_for(viewer).get(LIST_URL, {"limit": 100}), 200)

    seen = {
        item["title"]: (item["role"], item["replayAccess"]["status"], item["recordingUrl"])
        for item in data
    }
    assert seen == {
        "mine": ("host", "owner", RECORDING_URL),
        "invited": ("guest", "guest", RECORDING_URL),
        "watched": ("audience", "none", None),
        "rented": (None, "rented", RECORDING_URL),
        "other": (None, "none", None),
    }
    assert {mine.pk, invited.pk, watched.pk, rented.pk, other.pk} == set(ids(data))


# --- GET /live-stream/funded ------------------------------------------------------------


def scheduled_with_goal(title: str, *, starts_in_hours: int, **kwargs) -> LiveStream:
    now = timezone.now()
    return LiveStreamFactory(
        title=title,
        status=LiveStreamStatus.SCHEDULED,
        planned_start_date=now + timedelta(hours=starts_in_hours),
        funding_goal=Decimal("100.00"),
        **kwargs,
    )


def fund(user, stream, amount: str = "5.00") -> None:
    livestream_fund(user=user, live_stream_id=stream.pk, amount=Decimal(amount))


@pytest.mark.django_db
def test_funded_lists_the_scheduled_streams_the_caller_funded(client_for):
    backer, other = UserFactory(credits="100.00"), UserFactory(credits="100.00")
    later = scheduled_with_goal("later", starts_in_hours=48)
    sooner = scheduled_with_goal("sooner", starts_in_hours=3)
    twice = scheduled_with_goal("twice", starts_in_hours=24)
    theirs = scheduled_with_goal("theirs", starts_in_hours=5)
    cancelled = scheduled_with_goal("cancelled", starts_in_hours=6)
    started = scheduled_with_goal("started", starts_in_hours=7)
    removed = scheduled_with_goal("removed", starts_in_hours=8)
    refunded = scheduled_with_goal("refunded", starts_in_hours=9)
    for stream in (later, sooner, twice, twice, cancelled, started, removed, refunded):
        fund(backer, stream)
    fund(other, theirs)
    fund(other, sooner)
    livestream_cancel(actor=cancelled.creator, live_stream_id=cancelled.pk)
    livestream_join_as_creator(user=started.creator, live_stream_id=started.pk)
    livestream_remove(actor=removed.creator, live_stream_id=removed.pk)
    # A contribution given back while the stream is still scheduled no longer counts.
    Contribution.objects.filter(live_stream=refunded).update(status=ContributionStatus.REFUNDED)

    response = client_for(backer).get(FUNDED_URL)
    data = assert_envelope(response, 200)

    assert titles(data) == ["sooner", "twice", "later"]  # by planned start
    assert response.headers["X-Total-Count"] == "3"
    twice_item = data[1]
    assert twice_item["collectedFunding"] == 10
    assert twice_item["fundingPercentage"] == 10
    assert twice_item["status"] == "scheduled"

    assert titles(assert_envelope(client_for(other).get(FUNDED_URL), 200)) == ["sooner", "theirs"]
    assert assert_envelope(client_for(UserFactory()).get(FUNDED_URL), 200) == []


@pytest.mark.django_db
def test_funded_is_paginated(client_for):
    backer = UserFactory(credits="100.00")
    for hours in range(1, 6):
        fund(backer, scheduled_with_goal(f"in {hours}h", starts_in_hours=hours))
    response = client_for(backer).get(FUNDED_URL, {"limit": 2, "page": 3})
    assert titles(assert_envelope(response, 200)) == ["in 5h"]
    assert response.headers["X-Total-Count"] == "5"
    assert {rel: page_of(url) for rel, url in links(response).items()} == {"prev": 2}
    first = client_for(backer).get(FUNDED_URL)
    assert len(assert_envelope(first, 200)) == 5  # 20 a page by default
    assert "Link" not in first.headers


# --- GET /live-stream/my-replay-rentals -------------------------------------------------


@pytest.mark.django_db
def test_my_replay_rentals_lists_the_callers_rentals_latest_first(client_for, clock):
    renter, other = UserFactory(), UserFactory()
    current = ended_stream(title="current")
    old = ended_stream(title="old")
    theirs = ended_stream(title="theirs")
    gone = ended_stream(title="gone")
    rent(current, renter, expires_in=timedelta(hours=20))  # rented 4 h ago
    rent(old, renter, expires_in=-timedelta(hours=6))  # rented 30 h ago, ran out
    rent(gone, renter, expires_in=timedelta(hours=23))
    remove(gone)
    rent(theirs, other, expires_in=timedelta(hours=22))
    rent(old, other, expires_in=timedelta(hours=23))  # a later rental of `old` by another

    data = assert_envelope(client_for(renter).get(RENTALS_URL), 200)

    assert titles(data) == ["current", "old"]
    assert data["pagination"]["totalItems"] == 2
    current_item, old_item = data["list"]
    assert current_item["replayAccess"]["status"] == "rented"
    assert current_item["replayAccess"]["remainingSeconds"] == 20 * 3600
    assert current_item["replayAccess"]["canViewRecording"] is True
    assert current_item["replayAccess"]["canRent"] is False
    assert current_item["recordingUrl"] == RECORDING_URL
    assert old_item["replayAccess"]["status"] == "expired"
    assert old_item["replayAccess"]["remainingSeconds"] == 0
    assert old_item["replayAccess"]["canViewRecording"] is False
    assert old_item["replayAccess"]["canRent"] is True
    assert old_item["recordingUrl"] is None

    theirs_data = assert_envelope(client_for(other).get(RENTALS_URL), 200)
    assert titles(theirs_data) == ["old", "theirs"]
    assert [item["replayAccess"]["status"] for item in theirs_data["list"]] == ["rented"] * 2
    assert assert_envelope(client_for(UserFactory()).get(RENTALS_URL), 200)["list"] == []


@pytest.mark.django_db
def test_a_rental_made_through_the_api_is_listed(client_for):
    stream = ended_stream(title="replay")
    renter = UserFactory(credits="10.00")
    client = client_for(renter)
    access = assert_envelope(client.post(f"/api/v1/live-stream/{stream.pk}/replay-rentals"), 200)
    assert access["status"] == "rented"

    data = assert_envelope(client.get(RENTALS_URL), 200)

    assert titles(data) == ["replay"]
    assert data["list"][0]["replayAccess"] == access | {
        "remainingSeconds": data["list"][0]["replayAccess"]["remainingSeconds"]
    }
    assert 24 * 3600 - 5 <= data["list"][0]["replayAccess"]["remainingSeconds"] <= 24 * 3600


# --- GET /live-stream/{id}/replay-status ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("relation, status, can_rent, can_view, rented, left", REPLAY_ACCESS)
def test_replay_status_is_the_callers_replay_access(
    client_for, clock, relation, status, can_rent, can_view, rented, left
):
    stream = ended_stream(live_stream_type=LiveStreamType.DUOSELF)
    caller = caller_with(stream, relation)
    client = client_for(caller)

    access = assert_envelope(client.get(status_url(stream.pk)), 200)

    assert_replay_access(
        access,
        stream=stream,
        caller=caller,
        status=status,
        can_rent=can_rent,
        can_view=can_view,
        rented=rented,
        left=left,
    )
    # The same object as the stream's own `replayAccess`.
    assert access == assert_envelope(client.get(detail_url(stream.pk)), 200)["replayAccess"]


# --- PATCH /live-stream/{id}/replay-settings --------------------------------------------


def patch_settings(client, stream_id, body):
    return client.patch(settings_url(stream_id), body, format="json")


def replay_columns(stream) -> tuple:
    return (
        LiveStream.objects.filter(pk=stream.pk)
        .values_list("is_active_replay_on_creator_profile", "replay_credit_price")
        .get()
    )


# (body, the stored flag and price afterwards) from flag False and price 2.00
SETTINGS_CHANGES = [
    pytest.param(
        {"isActiveReplayOnCreatorProfile": True, "replayCreditPrice": 4.25},
        (True, Decimal("4.25")),
        id="both",
    ),
    pytest.param({"isActiveReplayOnCreatorProfile": True}, (True, Decimal("2.00")), id="flag-only"),
    pytest.param({"replayCreditPrice": 9}, (False, Decimal("9.00")), id="price-only"),
    pytest.param({"replayCreditPrice": 1.5}, (False, Decimal("1.50")), id="price-with-a-decimal"),
    pytest.param({"replayCreditPrice": 0}, (False, Decimal("0.00")), id="price-zero"),
    pytest.param({"replayCreditPrice": None}, (False, None), id="price-null"),
    pytest.param({"isActiveReplayOnCreatorProfile": None}, (None, Decimal("2.00")), id="flag-null"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("body, stored", SETTINGS_CHANGES)
def test_the_creator_changes_the_replay_settings(client_for, body, stored):
    stream = ended_stream(
        is_active_replay_on_creator_profile=False, replay_credit_price=Decimal("2")
    )
    data = assert_envelope(patch_settings(client_for(stream.creator), stream.pk, body), 200)

    assert replay_columns(stream) == stored
    flag, price = stored
    assert data["id"] == stream.pk
    assert data["role"] == "host"
    assert data["isActiveReplayOnCreatorProfile"] is flag
    assert data["replayCreditPrice"] == (None if price is None else float(price))
    assert data["replayAccess"]["price"] == data["replayCreditPrice"]
    assert data["status"] == "ended"
    assert data["title"] == stream.title


@pytest.mark.django_db
def test_turning_the_replay_on_makes_it_rentable(client_for):
    stream = ended_stream(is_active_replay_on_creator_profile=False, replay_credit_price=None)
    stranger = client_for(UserFactory())
    assert assert_envelope(stranger.get(status_url(stream.pk)), 200)["canRent"] is False

    body = {"isActiveReplayOnCreatorProfile": True, "replayCreditPrice": 2.5}
    assert_envelope(patch_settings(client_for(stream.creator), stream.pk, body), 200)

    access = assert_envelope(stranger.get(status_url(stream.pk)), 200)
    assert (access["canRent"], access["price"]) == (True, 2.5)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["stranger", "guest", "audience", "renter", "moderator"])
def test_only_the_creator_changes_the_replay_settings(client_for, who):
    stream = ended_stream(live_stream_type=LiveStreamType.DUOCROWD)
    caller = {
        "stranger": lambda: UserFactory(),
        "guest": lambda: caller_with(stream, "guest"),
        "audience": lambda: caller_with(stream, "audience"),
        "renter": lambda: caller_with(stream, "rented"),
        "moderator": lambda: UserFactory(moderator=True),
    }[who]()
    before = LiveStream.objects.filter(pk=stream.pk).values().get()

    response = patch_settings(client_for(caller), stream.pk, {"replayCreditPrice": 0.5})

    assert_error(response, 403)
    assert LiveStream.objects.filter(pk=stream.pk).values().get() == before


# (body, the field named in the error, or None when no field is named)
BAD_SETTINGS = [
    pytest.param({"replayCreditPrice": -1}, "replayCreditPrice", id="negative"),
    pytest.param({"replayCreditPrice": -0.01}, "replayCreditPrice", id="negative-cent"),
    pytest.param({"replayCreditPrice": 1.005}, "replayCreditPrice", id="3-decimals"),
    pytest.param({"replayCreditPrice": "1.005"}, "replayCreditPrice", id="3-decimals-string"),
    pytest.param({"replayCreditPrice": "abc"}, "replayCreditPrice", id="not-a-number"),
    pytest.param({"replayCreditPrice": True}, "replayCreditPrice", id="boolean-price"),
    pytest.param({"replayCreditPrice": 10**7}, "replayCreditPrice", id="above-maximum"),
    pytest.param(
        {"isActiveReplayOnCreatorProfile": "maybe"},
        "isActiveReplayOnCreatorProfile",
        id="not-a-boolean",
    ),
    pytest.param(
        {"isActiveReplayOnCreatorProfile": True, "replayCreditPrice": -5},
        "replayCreditPrice",
        id="one-good-one-bad",
    ),
    pytest.param({}, None, id="empty-body"),
    pytest.param({"title": "renamed", "status": "active"}, None, id="only-unknown-fields"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", BAD_SETTINGS)
def test_bad_replay_settings_are_a_400_and_change_nothing(client_for, body, field):
    stream = ended_stream()
    before = LiveStream.objects.filter(pk=stream.pk).values().get()

    errors = assert_error(patch_settings(client_for(stream.creator), stream.pk, body), 400)

    assert len(errors) >= 2, errors
    if field is not None:
        assert any(e.startswith(f"{field}: ") for e in errors[1:]), errors
    assert LiveStream.objects.filter(pk=stream.pk).values().get() == before


@pytest.mark.django_db
def test_replay_settings_ignore_fields_the_server_owns(client_for):
    stream = ended_stream()
    body = {"replayCreditPrice": 6, "status": "active", "title": "renamed", "recordingUrl": None}
    data = assert_envelope(patch_settings(client_for(stream.creator), stream.pk, body), 200)
    stream.refresh_from_db()
    assert (stream.status, stream.title, stream.recording_url) == (
        LiveStreamStatus.ENDED,
        data["title"],
        RECORDING_URL,
    )
    assert stream.replay_credit_price == Decimal("6.00")


@pytest.mark.django_db
def test_replay_settings_of_a_removed_unknown_or_malformed_stream(client_for):
    stream = ended_stream()
    client = client_for(stream.creator)
    body = {"replayCreditPrice": 1}
    assert_error(patch_settings(client, new_object_id(), body), 404)
    assert_error(patch_settings(client, "nope", body), 400)
    remove(stream)
    assert_error(patch_settings(client, stream.pk, body), 404)
    assert_error(APIClient().patch(settings_url(stream.pk), body, format="json"), 401)


@pytest.mark.django_db
def test_replay_settings_take_patch_only(client_for):
    stream = ended_stream()
    client = client_for(stream.creator)
    assert_error(client.put(settings_url(stream.pk), {"replayCreditPrice": 1}, format="json"), 405)
    assert_error(client.get(settings_url(stream.pk)), 405)


# --- Query counts --------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_query_count(client_for, django_assert_num_queries):
    stream = ended_stream(live_stream_type=LiveStreamType.DUOSELF)
    GuestFactory.create_batch(3, live_stream=stream)
    MiniCrowdFunding.objects.create(live_stream=stream, title="lights", goal=Decimal("50"))
    Participant.objects.bulk_create(
        Participant(live_stream=stream, user=u, is_present=False)
        for u in UserFactory.create_batch(20)
    )
    stranger = client_for(UserFactory())
    host = client_for(stream.creator)

    with django_assert_num_queries(DETAIL_QUERIES_STRANGER_ENDED):
        response = stranger.get(detail_url(stream.pk))
    data = assert_envelope(response, 200)
    assert len(data["broadcasters"]) == 4
    assert len(data["miniCrowdFundings"]) == 1

    with django_assert_num_queries(DETAIL_QUERIES_HOST):
        response = host.get(detail_url(stream.pk))
    assert assert_envelope(response, 200)["role"] == "host"


def _varied_streams(count: int, viewer) -> None:
    """`count` streams of every kind the list renders: duo streams with guests and
    mini crowdfundings, ended ones rented by the viewer, ones the viewer watched."""
    for index in range(count):
        kind = index % 3
        if kind == 0:
            stream = LiveStreamFactory(live_stream_type=LiveStreamType.DUOCROWD)
            GuestFactory.create_batch(2, live_stream=stream)
            MiniCrowdFunding.objects.create(live_stream=stream, title="m", goal=Decimal("10"))
        elif kind == 1:
            stream = ended_stream()
            rent(stream, viewer, expires_in=timedelta(hours=1))
        else:
            stream = LiveStreamFactory(status=LiveStreamStatus.ACTIVE)
            Participant.objects.create(live_stream=stream, user=viewer)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 30])
def test_list_query_count_does_not_grow_with_the_streams(
    client_for, django_assert_num_queries, count
):
    viewer = UserFactory()
    _varied_streams(count, viewer)
    client = client_for(viewer)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(LIST_URL, {"limit": 100})
    data = assert_envelope(response, 200)
    assert len(data) == count
    assert {item["role"] for item in data} == {None, "audience"}
    assert "rented" in {item["replayAccess"]["status"] for item in data}


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 30])
def test_funded_and_rentals_query_counts_do_not_grow(client_for, django_assert_num_queries, count):
    viewer = UserFactory(credits="1000.00")
    for index in range(count):
        fund(viewer, scheduled_with_goal(f"f{index}", starts_in_hours=index + 1))
        rent(ended_stream(), viewer, expires_in=timedelta(hours=index + 1))
    client = client_for(viewer)

    # Authentication, the count, the page, guests, mini crowdfundings, participations.
    with django_assert_num_queries(6):
        response = client.get(FUNDED_URL, {"limit": 100})
    assert len(assert_envelope(response, 200)) == count

    # The same and the rentals (every stream is ended).
    with django_assert_num_queries(7):
        response = client.get(RENTALS_URL, {"limit": 100})
    assert len(assert_envelope(response, 200)["list"]) == count
