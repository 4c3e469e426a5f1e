"""The contract test: our responses against the seed's example responses.

The examples were copied from ../shared/spec/seeds/ into tests/fixtures/ (seed 000
documents join-as-guest, seed 001 join-as-creator; their 200 examples are
identical). Create returns the LiveStream alone, so it is checked against the
example's `data.liveStream`.

Every key of the example must be present at every depth with the same JSON type.
A null in our response is accepted only where spec §2 says the field may be null;
where the example itself is null the spec's type is used; where the example has an
empty list, the spec's item shape is used for our items. Then the formats of §1:
ids, timestamps, money and integers.
"""

import copy
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.services.photos import profile_photo_set
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import LiveStream, MiniCrowdFunding
from tests.api import OBJECT_ID_RE, TIMESTAMP_RE
from tests.factories import LiveStreamFactory, UserFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CREATE_URL = "/api/v1/live-stream/create"
JOIN_AS_CREATOR_URL = "/api/v1/live-stream/join-as-creator"
JOIN_AS_GUEST_URL = "/api/v1/live-stream/join-as-guest"


def load_fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# --- What the spec adds to the examples (§2) -----------------------------------------

# LiveStream fields that may be null, relative to the LiveStream object; "[]" stands
# for any list index.
LIVESTREAM_NULLABLE = {
    "creator.profilePhoto",
    "recordingUrl",
    "price",
    "interest",
    "durationGoal",
    "motivation",
    "isActiveReplayOnCreatorProfile",
    "replayCreditPrice",
    "startedAt",
    "plannedStartDate",
    "endedAt",
    "plannedEndDate",
    "fundingGoal",
    "role",
    "replayAccess.price",
    "replayAccess.rentedAt",
    "replayAccess.expiresAt",
    "replayAccess.remainingSeconds",
    "broadcasters[].uid",
    "broadcasters[].joinedAt",
}
# Where the example is null, the type the spec gives the field.
LIVESTREAM_TYPE_OF_SEED_NULLS = {
    "isActiveReplayOnCreatorProfile": "boolean",
    "replayCreditPrice": "number",
}
# Where the example has an empty list, an example item of the shape the spec gives.
LIVESTREAM_ITEM_SHAPES = {
    "broadcasters": {
        "user": "64d15f9e2e6c8f4d5a123456",
        "role": "host",
        "uid": 123456,
        "hasJoined": True,
        "joinedAt": "2026-01-15T10:30:00.000Z",
    },
    "guests": "64d15f9e2e6c8f4d5a123456",
    "miniCrowdFundings": {
        "id": "64d15f9e2e6c8f4d5a123456",
        "title": "New microphone",
        "goal": 100,
        "collected": 25.5,
        "percentage": 25.5,
        "status": "open",
    },
}


@dataclass
class Spec:
    """Spec knowledge keyed by JSON path pattern (e.g. `data.liveStream.price`)."""

    nullable: set[str] = field(default_factory=set)
    type_of_seed_nulls: dict[str, str] = field(default_factory=dict)
    item_shapes: dict[str, object] = field(default_factory=dict)


def livestream_spec(at: str) -> Spec:
    """The LiveStream rules, for a LiveStream found at path `at` ("" for the root)."""

    def under(path: str) -> str:
        return f"{at}.{path}" if at else path

    return Spec(
        nullable={under(p) for p in LIVESTREAM_NULLABLE},
        type_of_seed_nulls={under(p): t for p, t in LIVESTREAM_TYPE_OF_SEED_NULLS.items()},
        item_shapes={under(p): s for p, s in LIVESTREAM_ITEM_SHAPES.items()},
    )


# --- The comparator ------------------------------------------------------------------


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def contract_problems(example, ours, spec: Spec, path: str = "", pattern: str = "") -> list[str]:
    """Every way `ours` falls short of `example`, each naming its JSON path.

    `path` is where we are (`data.liveStream.broadcasters[1].uid`), `pattern` the
    same with list indices as `[]`, used to look up the spec's rules."""
    shown = path or "<root>"
    wanted, got = json_type(example), json_type(ours)
    if wanted == "null":
        if got == "null":
            return []
        wanted = spec.type_of_seed_nulls.get(pattern)
        if wanted is None:
            raise AssertionError(f"{shown}: the example is null; tell the test its spec type")

    if got == "null":
        if pattern in spec.nullable:
            return []
        return [f"{shown}: got null, the example has {wanted} and the spec allows no null"]
    if got != wanted:
        return [f"{shown}: got {got} {ours!r}, the example has {wanted}"]

    problems = []
    if wanted == "object":
        for key, value in example.items():
            if key not in ours:
                problems.append(f"{_join(path, key)}: missing")
                continue
            problems += contract_problems(
                value, ours[key], spec, _join(path, key), _join(pattern, key)
            )
    elif wanted == "array":
        item_shape = example[0] if example else spec.item_shapes.get(pattern)
        if ours and item_shape is None:
            raise AssertionError(f"{shown}: the example list is empty; tell the test its items")
        for index, item in enumerate(ours):
            problems += contract_problems(
                item_shape, item, spec, f"{path}[{index}]", f"{pattern}[]"
            )
    return problems


# The formats of §1, checked on our whole response by key name.
ID_KEYS = {"id", "_id", "user", "userId"}
ID_LIST_KEYS = {"guests"}
TIMESTAMP_KEYS = {"timestamp"}  # and every key ending in "At" or "Date"
MONEY_KEYS = {
    "price",
    "fundingGoal",
    "collectedFunding",
    "fundingPercentage",
    "replayCreditPrice",
    "goal",
    "collected",
    "percentage",
}
INTEGER_KEYS = {"uid", "durationGoal", "remainingSeconds", "statusCode"}


def _is_timestamp_key(key: str) -> bool:
    return key in TIMESTAMP_KEYS or key.endswith(("At", "Date"))


def format_problems(value, path: str = "", checked: dict | None = None) -> list[str]:
    """Ids, timestamps, money and integers as §1 states them. `checked` (if given)
    collects the paths checked per kind, so a test can show what was covered."""
    problems = []

    def note(kind: str, where: str) -> None:
        if checked is not None:
            checked.setdefault(kind, []).append(where)

    if isinstance(value, dict):
        for key, item in value.items():
            where = _join(path, key)
            if key in ID_KEYS and isinstance(item, str):
                note("id", where)
                if not OBJECT_ID_RE.match(item):
                    problems.append(f"{where}: {item!r} is not a 24-character lowercase hex id")
            if key in ID_LIST_KEYS and isinstance(item, list):
                for index, element in enumerate(item):
                    note("id", f"{where}[{index}]")
                    if not (isinstance(element, str) and OBJECT_ID_RE.match(element)):
                        problems.append(f"{where}[{index}]: {element!r} is not an id")
            if _is_timestamp_key(key) and item is not None:
                note("timestamp", where)
                if not (isinstance(item, str) and TIMESTAMP_RE.match(item)):
                    problems.append(f"{where}: {item!r} is not YYYY-MM-DDTHH:MM:SS.mmmZ")
            if key in MONEY_KEYS and item is not None:
                note("money", where)
                if json_type(item) != "number":
                    problems.append(f"{where}: {item!r} is not a JSON number")
                elif Decimal(str(item)) != Decimal(str(item)).quantize(Decimal("0.01")):
                    problems.append(f"{where}: {item!r} has more than 2 decimals")
            if key in INTEGER_KEYS and item is not None:
                note("integer", where)
                if json_type(item) != "number" or not isinstance(item, int):
                    problems.append(f"{where}: {item!r} is not an integer")
            problems += format_problems(item, where, checked)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems += format_problems(item, f"{path}[{index}]", checked)
    return problems


def assert_matches_contract(example, ours, spec: Spec) -> dict:
    problems = contract_problems(example, ours, spec)
    checked: dict = {}
    problems += format_problems(ours, checked=checked)
    assert not problems, "Response breaks the seed contract:\n  " + "\n  ".join(problems)
    return checked


# --- The comparator catches what it should ---------------------------------------------


@pytest.fixture
def seed_join():
    return load_fixture("seed_join_as_creator_200.json")


def join_spec() -> Spec:
    return livestream_spec("data.liveStream")


def test_the_fixtures_are_the_seed_examples():
    creator_example = load_fixture("seed_join_as_creator_200.json")
    guest_example = load_fixture("seed_join_as_guest_200.json")
    for example in (creator_example, guest_example):
        assert set(example) == {"isSuccess", "statusCode", "data", "errors", "timestamp"}
        assert set(example["data"]) == {"liveStream", "agora", "rtm"}
        assert example["data"]["liveStream"]["channelName"] == "yeni-urun-tanitimi-1a2b"
        assert list(example["data"]["liveStream"])[:3] == ["id", "title", "liveStreamType"]
        assert len(example["data"]["liveStream"]) == 30
    for name in ("seed_join_as_creator_errors.json", "seed_join_as_guest_errors.json"):
        errors = load_fixture(name)
        assert sorted(errors) == ["400", "401", "403", "404", "409"]


def test_the_seed_example_matches_itself(seed_join):
    assert contract_problems(seed_join, copy.deepcopy(seed_join), join_spec()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r["data"]["liveStream"]["creator"]["profilePhoto"]["variants"].pop("76"),
            "data.liveStream.creator.profilePhoto.variants.76: missing",
        ),
        (
            lambda r: r["data"]["liveStream"].update(price="9.99"),
            "data.liveStream.price: got string '9.99', the example has number",
        ),
        (
            lambda r: r["data"]["liveStream"].update(title=None),
            "data.liveStream.title: got null, the example has string",
        ),
        (
            lambda r: r["data"]["agora"].update(uid="123456"),
            "data.agora.uid: got string '123456'",
        ),
        (
            lambda r: r["data"]["liveStream"].update(isActiveReplayOnCreatorProfile="yes"),
            "data.liveStream.isActiveReplayOnCreatorProfile: got string 'yes', "
            "the example has boolean",
        ),
        (
            lambda r: r["data"]["liveStream"].update(
                broadcasters=[{"user": "64d15f9e2e6c8f4d5a123456", "role": "host", "uid": None}]
            ),
            "data.liveStream.broadcasters[0].hasJoined: missing",
        ),
        (
            lambda r: r["data"]["liveStream"].update(guests=[{"_id": "64d15f9e2e6c8f4d5a123456"}]),
            "data.liveStream.guests[0]: got object",
        ),
        (
            lambda r: r.pop("timestamp"),
            "timestamp: missing",
        ),
    ],
)
def test_the_comparator_names_the_path_of_a_mismatch(seed_join, change, expected):
    ours = copy.deepcopy(seed_join)
    change(ours)
    problems = contract_problems(seed_join, ours, join_spec())
    assert any(p.startswith(expected) for p in problems), problems


def test_null_is_accepted_only_where_the_spec_allows_it(seed_join):
    ours = copy.deepcopy(seed_join)
    stream = ours["data"]["liveStream"]
    stream["creator"]["profilePhoto"] = None
    stream["recordingUrl"] = None
    stream["replayAccess"]["rentedAt"] = None
    assert contract_problems(seed_join, ours, join_spec()) == []
    stream["collectedFunding"] = None
    stream["replayAccess"]["canRent"] = None
    assert contract_problems(seed_join, ours, join_spec()) == [
        "data.liveStream.replayAccess.canRent: got null, the example has boolean "
        "and the spec allows no null",
        "data.liveStream.collectedFunding: got null, the example has number "
        "and the spec allows no null",
    ]


def test_extra_fields_are_allowed(seed_join):
    ours = copy.deepcopy(seed_join)
    ours["data"]["liveStream"]["viewerCount"] = 3
    assert contract_problems(seed_join, ours, join_spec()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.update(id="64D15F9E2E6C8F4D5A123456"), "liveStream.id:"),
        (lambda s: s["creator"].update(_id="64d15f9e2e6c8f4d5a12345"), "liveStream.creator._id:"),
        (lambda s: s.update(guests=["nope"]), "liveStream.guests[0]:"),
        (lambda s: s.update(createdAt="2026-01-15T10:30:00Z"), "liveStream.createdAt:"),
        (lambda s: s.update(startedAt="2026-01-15T10:30:00.000+00:00"), "liveStream.startedAt:"),
        (lambda s: s.update(price=9.999), "liveStream.price:"),
        (lambda s: s.update(durationGoal=60.5), "liveStream.durationGoal:"),
    ],
)
def test_the_format_check_names_the_path(seed_join, change, expected):
    ours = copy.deepcopy(seed_join)
    change(ours["data"]["liveStream"])
    problems = format_problems(ours)
    assert any(p.startswith(f"data.{expected}") for p in problems), problems


# --- Our responses against the seed ------------------------------------------------------


def small_image(fmt: str = "PNG", size=(80, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def creator(db, media_root):
    user = UserFactory()
    profile_photo_set(
        user=user,
        upload=SimpleUploadedFile("me.png", small_image("PNG"), content_type="image/png"),
    )
    return user


@pytest.fixture
def guest(db):
    return UserFactory()


@pytest.fixture
def created(creator, guest, client_for):
    """A duo stream created through the API with every optional field filled in."""
    response = client_for(creator).post(
        CREATE_URL,
        {
            "title": "Yeni ürün tanıtımı",
            "liveStreamType": "duoself",
            "guests": json.dumps([guest.pk]),
            "thumbnail": SimpleUploadedFile(
                "thumb.jpg", small_image("JPEG"), content_type="image/jpeg"
            ),
            "price": "9.99",
            "interest": "music",
            "durationGoal": "60",
            "motivation": "Bu yayında müzik hakkında konuşacağım.",
            "plannedStartDate": "2020-01-15T10:30:00Z",
            "plannedEndDate": (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "fundingGoal": "1000",
            "recording": "true",
            "isActiveReplayOnCreatorProfile": "true",
            "replayCreditPrice": "50",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _populate_the_rest(stream_id: str) -> None:
    """What no endpoint of this issue writes yet: a mini crowdfunding and a recording
    URL, so that `miniCrowdFundings` and `recordingUrl` are checked too."""
    MiniCrowdFunding.objects.create(
        live_stream_id=stream_id, title="New microphone", goal=Decimal("100"), collected=25
    )
    LiveStream.objects.filter(pk=stream_id).update(
        recording_url="https://cdn.example.com/stream/archive.mp4"
    )


def create_example() -> dict:
    """The seed's envelope around its LiveStream: what create must look like."""
    example = load_fixture("seed_join_as_creator_200.json")
    return {**example, "statusCode": 201, "data": example["data"]["liveStream"]}


def test_create_matches_the_seed_live_stream(created, creator, guest):
    checked = assert_matches_contract(create_example(), created, livestream_spec("data"))

    # The nested objects really were there to be checked.
    data = created["data"]
    assert data["creator"]["profilePhoto"]["variants"].keys() >= {"40", "76"}
    assert data["guests"] == [guest.pk]
    assert [b["role"] for b in data["broadcasters"]] == ["host", "guest"]
    assert data["role"] == "host"
    assert {
        "data.id",
        "data.creator._id",
        "data.creator.profilePhoto._id",
        "data.guests[0]",
        "data.broadcasters[0].user",
        "data.broadcasters[1].user",
    } <= set(checked["id"])
    assert {
        "data.price",
        "data.fundingGoal",
        "data.replayCreditPrice",
        "data.replayAccess.price",
    } <= set(checked["money"])
    assert {
        "timestamp",
        "data.plannedStartDate",
        "data.plannedEndDate",
        "data.createdAt",
        "data.updatedAt",
        "data.creator.profilePhoto.createdAt",
    } <= set(checked["timestamp"])


def test_join_as_guest_matches_the_seed(created, creator, guest, client_for):
    stream_id = created["data"]["id"]
    _populate_the_rest(stream_id)

    response = client_for(guest).post(JOIN_AS_GUEST_URL, {"liveStreamId": stream_id}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    checked = assert_matches_contract(
        load_fixture("seed_join_as_guest_200.json"), body, livestream_spec("data.liveStream")
    )
    stream = body["data"]["liveStream"]
    assert stream["role"] == "guest"
    assert stream["replayAccess"]["status"] == "guest"
    assert stream["recordingUrl"] == "https://cdn.example.com/stream/archive.mp4"
    host, joined_guest = stream["broadcasters"]
    assert host["hasJoined"] is False and host["uid"] is None
    assert joined_guest["user"] == guest.pk and joined_guest["hasJoined"] is True
    assert isinstance(joined_guest["uid"], int) and joined_guest["joinedAt"] is not None
    assert len(stream["miniCrowdFundings"]) == 1
    assert body["data"]["rtm"]["userId"] == guest.pk
    assert {
        "data.liveStream.broadcasters[1].joinedAt",
        "data.agora.expiresAt",
        "data.rtm.expiresAt",
    } <= set(checked["timestamp"])
    assert {"data.liveStream.miniCrowdFundings[0].id", "data.rtm.userId"} <= set(checked["id"])
    assert {"data.agora.uid", "data.liveStream.broadcasters[1].uid"} <= set(checked["integer"])


def test_join_as_creator_matches_the_seed(created, creator, guest, client_for):
    stream_id = created["data"]["id"]
    _populate_the_rest(stream_id)
    guest_joined = client_for(guest).post(
        JOIN_AS_GUEST_URL, {"liveStreamId": stream_id}, format="json"
    )
    assert guest_joined.status_code == 200, guest_joined.content

    response = client_for(creator).post(
        JOIN_AS_CREATOR_URL, {"liveStreamId": stream_id}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    checked = assert_matches_contract(
        load_fixture("seed_join_as_creator_200.json"), body, livestream_spec("data.liveStream")
    )
    stream = body["data"]["liveStream"]
    assert stream["role"] == "host"
    assert stream["status"] == "active"
    assert stream["replayAccess"]["status"] == "owner"
    assert all(b["hasJoined"] for b in stream["broadcasters"])
    assert all(isinstance(b["uid"], int) for b in stream["broadcasters"])
    assert stream["creator"]["profilePhoto"] is not None
    assert {"data.liveStream.startedAt", "data.liveStream.broadcasters[0].joinedAt"} <= set(
        checked["timestamp"]
    )
    assert {"data.liveStream.collectedFunding", "data.liveStream.miniCrowdFundings[0].goal"} <= set(
        checked["money"]
    )


def test_a_stream_with_every_optional_field_empty_still_matches(db, client_for):
    """The nullable side: a bare solo stream, a creator without a photo."""
    creator = UserFactory()
    created = client_for(creator).post(CREATE_URL, {"title": "Bare"}, format="json")
    assert created.status_code == 201, created.content
    assert_matches_contract(create_example(), created.json(), livestream_spec("data"))

    joined = client_for(creator).post(
        JOIN_AS_CREATOR_URL, {"liveStreamId": created.json()["data"]["id"]}, format="json"
    )
    assert joined.status_code == 200, joined.content
    body = joined.json()
    assert body["data"]["liveStream"]["creator"]["profilePhoto"] is None
    assert body["data"]["liveStream"]["price"] is None
    example = load_fixture("seed_join_as_creator_200.json")
    assert_matches_contract(example, body, livestream_spec("data.liveStream"))


# --- Error responses against the seed's error examples ----------------------------------


def _error_request(status: int, url: str, client_for):
    """A request to `url` that must fail with `status`, and the client to send it."""
    creator, outsider = UserFactory(), UserFactory()
    stream = LiveStreamFactory(creator=creator, status=LiveStreamStatus.ENDED)
    if status == 400:
        return client_for(creator), {"liveStreamId": "not-an-id"}
    if status == 401:
        return APIClient(), {"liveStreamId": stream.pk}
    if status == 403:
        return client_for(outsider), {"liveStreamId": stream.pk}
    if status == 404:
        return client_for(creator), {"liveStreamId": "64d15f9e2e6c8f4d5a123456"}
    if url == JOIN_AS_GUEST_URL:
        stream.guest_set.create(user=outsider)
        return client_for(outsider), {"liveStreamId": stream.pk}
    return client_for(creator), {"liveStreamId": stream.pk}


@pytest.mark.parametrize(
    ("url", "fixture"),
    [
        (JOIN_AS_CREATOR_URL, "seed_join_as_creator_errors.json"),
        (JOIN_AS_GUEST_URL, "seed_join_as_guest_errors.json"),
    ],
)
@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_join_errors_match_the_seed_error_examples(db, client_for, url, fixture, status):
    example = load_fixture(fixture)[str(status)]
    client, body = _error_request(status, url, client_for)

    response = client.post(url, body, format="json")

    assert response.status_code == status, response.content
    ours = response.json()
    assert contract_problems(example, ours, Spec()) == []
    assert format_problems(ours) == []
    assert ours["isSuccess"] is False
    assert ours["data"] is None
    assert ours["errors"][0] == example["errors"][0]
    assert ours["statusCode"] == status
    assert all(isinstance(e, str) for e in ours["errors"])


@pytest.mark.parametrize("status", [400, 401])
def test_create_errors_match_the_seed_error_examples(db, client_for, api_client, status):
    example = load_fixture("seed_join_as_creator_errors.json")[str(status)]
    client = client_for(UserFactory()) if status == 400 else api_client
    before = LiveStream.objects.count()

    response = client.post(CREATE_URL, {"title": ""}, format="json")

    assert response.status_code == status, response.content
    ours = response.json()
    assert contract_problems(example, ours, Spec()) == []
    assert format_problems(ours) == []
    assert ours["errors"][0] == example["errors"][0]
    assert LiveStream.objects.count() == before


def test_timestamps_are_utc(created):
    """Our timestamps end in Z and are the real UTC time (not local time labelled Z)."""
    now = timezone.now()
    created_at = created["data"]["createdAt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created_at)
    parsed = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    assert abs((now - parsed).total_seconds()) < 60
