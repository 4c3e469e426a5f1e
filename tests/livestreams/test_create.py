"""POST /api/v1/live-stream/create: every rule of spec §3."""

import io
import json
import os
import re
import struct
import threading
import zlib
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from PIL import Image, PngImagePlugin
from rest_framework_simplejwt.tokens import AccessToken

from livestreams.agora.channels import new_channel_name
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import Guest, LiveStream
from livestreams.services import creation
from tests.api import OBJECT_ID_RE, TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import LiveStreamFactory, UserFactory

CREATE_URL = "/api/v1/live-stream/create"
DEFAULT_THUMBNAIL = "livestreams/default-thumbnail.png"


# --- Helpers ----------------------------------------------------------------------


def image_bytes(fmt: str = "JPEG", size=(24, 16), *, with_metadata: bool = True) -> bytes:
    """A small real image; with EXIF (and a PNG text chunk) when asked."""
    image = Image.new("RGB", size, (200, 30, 60))
    kwargs = {}
    if with_metadata:
        exif = Image.Exif()
        exif[0x010F] = "SpyCam Inc."  # Make
        exif[0x0131] = "secret-editor 1.0"  # Software
        kwargs["exif"] = exif.tobytes()
        if fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            info.add_text("Comment", "taken at home")
            kwargs["pnginfo"] = info
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def png_declaring(width: int, height: int, idat: bytes) -> bytes:
    """A 1-bit greyscale PNG whose header declares `width` x `height`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def decompression_bomb() -> bytes:
    """A genuine bomb: about 6 kB that inflate to 48 megapixels (above the 40 MP limit)."""
    width, height = 8000, 6000
    raw = b"\x00" * ((width // 8 + 1) * height)
    return png_declaring(width, height, zlib.compress(raw, 9))


def media_files(media_root) -> list[str]:
    return [
        os.path.relpath(os.path.join(folder, name), media_root)
        for folder, _dirs, names in os.walk(media_root)
        for name in names
    ]


def assert_nothing_written(media_root, streams_before: int = 0) -> None:
    assert LiveStream.objects.count() == streams_before
    assert Guest.objects.count() == 0
    assert media_files(media_root) == []


def field_of(error: str) -> str:
    """`"guests.0: ..."` -> `"guests"`."""
    return error.split(":", 1)[0].split(".", 1)[0]


def utc_text(moment) -> str:
    """An input datetime with microseconds and `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def future(**delta) -> str:
    return utc_text(timezone.now() + timedelta(**delta))


# A day well inside the planning window (LIVESTREAM_MAX_SCHEDULE_DAYS).
SOON_DAY = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d")
MONEY_FIELDS = {"price", "fundingGoal", "replayCreditPrice"}


def json_money(key: str, value):
    """A money field's text as the JSON number an app sends ("-1" -> -1)."""
    if key in MONEY_FIELDS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@pytest.fixture
def creator(db):
    return UserFactory()


@pytest.fixture
def client(client_for, creator):
    return client_for(creator)


@pytest.fixture
def guests(db):
    return UserFactory.create_batch(settings.LIVESTREAM_MAX_GUESTS + 1)


# --- Success ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_minimal_create(client, creator, fmt, media_root):
    response = client.post(CREATE_URL, {"title": "Yeni ürün tanıtımı"}, format=fmt)

    data = assert_envelope(response, 201)
    assert OBJECT_ID_RE.match(data["id"])
    assert data["title"] == "Yeni ürün tanıtımı"
    assert data["liveStreamType"] == "solo"
    assert data["role"] == "host"
    assert data["status"] == "preparing"
    assert data["creator"]["_id"] == creator.pk
    assert data["creator"]["username"] == creator.username
    assert data["guests"] == []
    assert data["broadcasters"] == [
        {"user": creator.pk, "role": "host", "uid": None, "hasJoined": False, "joinedAt": None}
    ]
    assert data["accessType"] == "free"
    assert data["price"] is None
    assert data["collectedFunding"] == 0
    assert data["fundingPercentage"] == 0
    assert data["recording"] is False
    assert data["recordingUrl"] is None
    assert data["replayAccess"]["status"] == "owner"
    assert data["miniCrowdFundings"] == []
    assert data["startedAt"] is None
    assert data["endedAt"] is None
    assert TIMESTAMP_RE.match(data["createdAt"])
    assert TIMESTAMP_RE.match(data["updatedAt"])

    stream = LiveStream.objects.get()
    assert stream.pk == data["id"]
    assert stream.creator_id == creator.pk
    assert stream.status == LiveStreamStatus.PREPARING
    assert stream.channel_name == data["channelName"]
    assert media_files(media_root) == []


@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_every_optional_field_is_stored_and_returned(client, fmt):
    start, end = future(days=1), future(days=1, hours=2)
    payload = {
        "title": "Full",
        # Money is text in a form and a number in JSON (a JSON string is a 400).
        "price": "12.50" if fmt == "multipart" else 12.5,
        "interest": "music",
        "durationGoal": 90,
        "motivation": "Let's talk music.",
        "plannedStartDate": start,
        "plannedEndDate": end,
        "fundingGoal": "1000" if fmt == "multipart" else 1000,
        "recording": "true" if fmt == "multipart" else True,
        "isActiveReplayOnCreatorProfile": "true" if fmt == "multipart" else True,
        "replayCreditPrice": "5.25" if fmt == "multipart" else 5.25,
    }
    data = assert_envelope(client.post(CREATE_URL, payload, format=fmt), 201)

    assert data["price"] == 12.5
    assert data["accessType"] == "paid"
    assert data["interest"] == "music"
    assert data["durationGoal"] == 90
    assert data["motivation"] == "Let's talk music."
    assert data["fundingGoal"] == 1000
    assert data["recording"] is True
    assert data["isActiveReplayOnCreatorProfile"] is True
    assert data["replayCreditPrice"] == 5.25
    assert data["replayAccess"]["price"] == 5.25
    assert data["status"] == "scheduled"
    assert data["plannedStartDate"] == start[:23] + "Z"
    assert data["plannedEndDate"] == end[:23] + "Z"
    stream = LiveStream.objects.get()
    assert stream.price == Decimal("12.50")
    assert stream.funding_goal == Decimal("1000")
    assert stream.replay_credit_price == Decimal("5.25")
    assert stream.duration_goal == 90
    assert stream.recording is True


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (None, "preparing"),
        (timedelta(minutes=-5), "preparing"),
        (timedelta(days=-30), "preparing"),
        (timedelta(minutes=10), "scheduled"),
        (timedelta(days=7), "scheduled"),
    ],
)
def test_status_follows_the_planned_start(client, offset, status):
    payload = {"title": "When"}
    if offset is not None:
        payload["plannedStartDate"] = utc_text(timezone.now() + offset)
    data = assert_envelope(client.post(CREATE_URL, payload, format="json"), 201)
    assert data["status"] == status
    assert LiveStream.objects.get().status == status


def test_an_offset_datetime_is_accepted_and_rendered_in_utc(client):
    data = assert_envelope(
        client.post(
            CREATE_URL,
            {"title": "Offset", "plannedStartDate": f"{SOON_DAY}T15:30:00+03:00"},
            format="json",
        ),
        201,
    )
    assert data["plannedStartDate"] == f"{SOON_DAY}T12:30:00.000Z"
    assert data["status"] == "scheduled"


@pytest.mark.parametrize(
    ("fmt", "price", "access_type", "shown"),
    [
        ("multipart", None, "free", None),  # absent
        ("multipart", "", "free", None),
        ("multipart", "0", "free", None),
        ("multipart", "0.00", "free", None),
        ("multipart", "9.99", "paid", 9.99),
        ("multipart", "0.01", "paid", 0.01),
        ("json", None, "free", None),  # absent
        ("json", "null", "free", None),
        ("json", 0, "free", None),
        ("json", 9.99, "paid", 9.99),
        ("json", 20, "paid", 20),
    ],
)
def test_access_type_is_paid_exactly_when_price_is_positive(client, fmt, price, access_type, shown):
    payload = {"title": "Price"}
    if price == "null":
        payload["price"] = None
    elif price is not None:
        payload["price"] = price
    data = assert_envelope(client.post(CREATE_URL, payload, format=fmt), 201)
    assert data["accessType"] == access_type
    assert data["price"] == shown
    assert type(data["price"]) is type(shown)  # a number, never a string
    stream = LiveStream.objects.get()
    assert stream.access_type == access_type
    assert stream.price == (None if shown is None else Decimal(str(shown)))


def test_price_at_the_maximum_is_accepted(client):
    maximum = settings.LIVESTREAM_MAX_PRICE
    data = assert_envelope(
        client.post(CREATE_URL, {"title": "Max", "price": float(maximum)}, format="json"), 201
    )
    assert Decimal(str(data["price"])) == maximum


@pytest.mark.parametrize("live_stream_type", ["duoself", "duocrowd"])
@pytest.mark.parametrize("how", ["json array string", "repeated field", "json body"])
def test_guests_in_every_accepted_shape(client, creator, guests, how, live_stream_type):
    invited = [guests[2].pk, guests[0].pk]  # the order given is kept
    payload = {"title": "Duo", "liveStreamType": live_stream_type}
    if how == "json array string":
        payload["guests"] = json.dumps(invited)
        fmt = "multipart"
    elif how == "repeated field":
        payload["guests"] = invited  # the test client repeats the field
        fmt = "multipart"
    else:
        payload["guests"] = invited
        fmt = "json"

    data = assert_envelope(client.post(CREATE_URL, payload, format=fmt), 201)

    assert data["liveStreamType"] == live_stream_type
    assert data["guests"] == invited
    assert data["broadcasters"] == [
        {"user": creator.pk, "role": "host", "uid": None, "hasJoined": False, "joinedAt": None},
        *(
            {"user": pk, "role": "guest", "uid": None, "hasJoined": False, "joinedAt": None}
            for pk in invited
        ),
    ]
    rows = list(Guest.objects.order_by("position").values_list("user_id", "has_joined"))
    assert rows == [(pk, False) for pk in invited]


def test_a_single_repeated_field_is_one_guest(client, guests):
    data = assert_envelope(
        client.post(
            CREATE_URL,
            {"title": "Duo", "liveStreamType": "duoself", "guests": guests[0].pk},
            format="multipart",
        ),
        201,
    )
    assert data["guests"] == [guests[0].pk]


def test_the_maximum_number_of_guests_is_accepted(client, guests):
    invited = [g.pk for g in guests[: settings.LIVESTREAM_MAX_GUESTS]]
    data = assert_envelope(
        client.post(
            CREATE_URL,
            {"title": "Crowd", "liveStreamType": "duocrowd", "guests": invited},
            format="json",
        ),
        201,
    )
    assert data["guests"] == invited
    assert Guest.objects.count() == settings.LIVESTREAM_MAX_GUESTS


def test_title_is_trimmed_and_may_be_100_characters(client):
    title = "Ş" * 100
    data = assert_envelope(
        client.post(CREATE_URL, {"title": f"  {title}\t "}, format="multipart"), 201
    )
    assert data["title"] == title
    assert LiveStream.objects.get().title == title


@pytest.mark.parametrize(
    ("fmt", "name", "content_type"),
    [
        ("JPEG", "photo.jpg", "image/jpeg"),
        ("PNG", "photo.png", "image/png"),
        ("WEBP", "photo.webp", "image/webp"),
        # Judged by decoding, not by the name or the declared type.
        ("PNG", "photo.jpg", "application/octet-stream"),
    ],
)
def test_a_real_thumbnail_is_re_encoded_without_metadata(
    client, media_root, fmt, name, content_type
):
    original = image_bytes(fmt)
    assert Image.open(io.BytesIO(original)).getexif()  # the upload does carry EXIF

    response = client.post(
        CREATE_URL,
        {"title": "Thumb", "thumbnail": upload(name, original, content_type)},
        format="multipart",
    )

    data = assert_envelope(response, 201)
    stream = LiveStream.objects.get()
    assert stream.thumbnail
    prefix = f"{settings.PUBLIC_BASE_URL}{settings.MEDIA_URL}"
    assert data["thumbnailUrl"] == prefix + stream.thumbnail
    assert re.match(r"^https?://", data["thumbnailUrl"])
    assert media_files(media_root) == [stream.thumbnail]

    path = os.path.join(media_root, stream.thumbnail)
    with open(path, "rb") as fh:
        stored = fh.read()
    assert stored != original  # re-encoded, not copied
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == fmt
        assert image.size == (24, 16)
        assert len(image.getexif()) == 0
        assert "exif" not in image.info
        assert "Comment" not in image.info
    assert b"SpyCam" not in stored
    assert b"secret-editor" not in stored


def test_a_large_thumbnail_is_scaled_down(client, media_root, settings):
    settings.IMAGE_MAX_EDGE = 32
    response = client.post(
        CREATE_URL,
        {"title": "Big", "thumbnail": upload("big.png", image_bytes("PNG", (200, 100)))},
        format="multipart",
    )
    assert_envelope(response, 201)
    with Image.open(os.path.join(media_root, LiveStream.objects.get().thumbnail)) as image:
        assert image.size == (32, 16)


@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_no_thumbnail_gives_the_default(client, fmt, media_root):
    data = assert_envelope(client.post(CREATE_URL, {"title": "Plain"}, format=fmt), 201)
    assert re.match(r"^https?://[^/]+/", data["thumbnailUrl"])
    assert data["thumbnailUrl"].startswith(settings.PUBLIC_BASE_URL)
    assert data["thumbnailUrl"].endswith(DEFAULT_THUMBNAIL)
    assert LiveStream.objects.get().thumbnail == ""
    assert media_files(media_root) == []


def test_the_default_thumbnail_ships_with_the_project():
    path = finders.find(DEFAULT_THUMBNAIL)
    assert path is not None
    with Image.open(path) as image:
        assert image.format == "PNG"


@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_server_owned_fields_are_ignored(client, creator, fmt):
    other = UserFactory()
    sent_id = "64d15f9e2e6c8f4d5a123456"
    payload = {
        "title": "Mine",
        "id": sent_id,
        "status": "active",
        "collectedFunding": 999,
        "fundingPercentage": 99,
        "channelName": "my-own-channel",
        "creator": other.pk,
        "recordingUrl": "https://evil.example.com/r.mp4",
        "startedAt": "2026-01-15T10:30:00.000Z",
        "endedAt": "2026-01-15T11:30:00.000Z",
        "createdAt": "2020-01-01T00:00:00.000Z",
        "role": "audience",
        "accessType": "paid",
        "thumbnailUrl": "https://evil.example.com/t.png",
    }
    if fmt == "json":
        payload["broadcasters"] = [{"user": other.pk, "role": "host", "hasJoined": True}]

    data = assert_envelope(client.post(CREATE_URL, payload, format=fmt), 201)

    assert data["id"] != sent_id
    assert data["status"] == "preparing"
    assert data["collectedFunding"] == 0
    assert data["fundingPercentage"] == 0
    assert data["channelName"] != "my-own-channel"
    assert data["channelName"].startswith("mine-")
    assert data["creator"]["_id"] == creator.pk
    assert data["recordingUrl"] is None
    assert data["startedAt"] is None
    assert data["endedAt"] is None
    assert data["createdAt"] != "2020-01-01T00:00:00.000Z"
    assert data["role"] == "host"
    assert data["accessType"] == "free"
    assert data["thumbnailUrl"].endswith(DEFAULT_THUMBNAIL)
    assert [b["user"] for b in data["broadcasters"]] == [creator.pk]

    stream = LiveStream.objects.get()
    assert stream.pk == data["id"]
    assert stream.creator_id == creator.pk
    assert stream.status == LiveStreamStatus.PREPARING
    assert stream.collected_funding == 0
    assert stream.recording_url is None
    assert stream.started_at is None
    assert stream.ended_at is None
    assert abs((timezone.now() - stream.created_at).total_seconds()) < 60
    assert not LiveStream.objects.filter(creator=other).exists()


# --- Errors: 400, nothing written --------------------------------------------------


MISSING = object()
DUO = {"liveStreamType": "duoself"}
UNKNOWN_ID = "64d15f9e2e6c8f4d5a123456"  # well-formed, names nobody

# (what to send on top of a valid title, the field the second error entry names,
# words of its message); `ctx` holds the invitable users, the creator and a deactivated user.
BAD_FIELDS = [
    pytest.param(lambda ctx: {"title": MISSING}, "title", "required", id="missing title"),
    pytest.param(lambda ctx: {"title": "   "}, "title", "blank", id="blank title"),
    pytest.param(
        lambda ctx: {"title": "x" * 101}, "title", "no more than 100", id="title over 100"
    ),
    pytest.param(
        lambda ctx: {"liveStreamType": "trio"},
        "liveStreamType",
        "not a valid choice",
        id="bad type",
    ),
    pytest.param(
        lambda ctx: {"liveStreamType": "solo", "guests": [ctx.guests[0].pk]},
        "guests",
        "solo stream takes no guests",
        id="solo with guests",
    ),
    pytest.param(
        lambda ctx: {**DUO}, "guests", "needs at least one guest", id="duo without guests"
    ),
    pytest.param(
        lambda ctx: {**DUO, "guests": "[]"},
        "guests",
        "needs at least one guest",
        id="duo with an empty list",
    ),
    pytest.param(
        lambda ctx: {**DUO, "guests": ["not-an-id"]},
        "guests",
        "24-character hexadecimal",
        id="malformed guest id",
    ),
    pytest.param(
        lambda ctx: {**DUO, "guests": [ctx.guests[0].pk.upper()]},
        "guests",
        "24-character hexadecimal",
        id="upper-case guest id",
    ),
    pytest.param(
        lambda ctx: {**DUO, "guests": '["abc"'}, "guests", "list", id="malformed guests JSON"
    ),
    pytest.param(
        lambda ctx: {**DUO, "guests": [UNKNOWN_ID]},
        "guests",
        "No active user has the id 64d15f9e2e6c8f4d5a123456",
        id="unknown guest",
    ),
    pytest.param(
        lambda ctx: {**DUO, "guests": [ctx.deactivated.pk]},
        "guests",
        "No active user",
        id="deactivated guest",
    ),
    pytest.param(
        lambda ctx: {**DUO, "guests": [ctx.creator.pk]},
        "guests",
        "own guest",
        id="creator as guest",
    ),
    pytest.param(
        lambda ctx: {**DUO, "guests": [ctx.guests[0].pk, ctx.guests[1].pk, ctx.guests[0].pk]},
        "guests",
        "more than once",
        id="repeated guest",
    ),
    pytest.param(
        lambda ctx: {
            "liveStreamType": "duocrowd",
            "guests": [g.pk for g in ctx.guests[: settings.LIVESTREAM_MAX_GUESTS + 1]],
        },
        "guests",
        "At most 8",
        id="too many guests",
    ),
    pytest.param(lambda ctx: {"price": "-1"}, "price", "negative", id="negative price"),
    pytest.param(lambda ctx: {"price": "1.234"}, "price", "2 decimal", id="price with 3 decimals"),
    pytest.param(
        lambda ctx: {"price": str(settings.LIVESTREAM_MAX_PRICE + Decimal("0.01"))},
        "price",
        "at most",
        id="price above the maximum",
    ),
    pytest.param(
        lambda ctx: {"price": "abc"},
        "price",
        {"multipart": "plain digits", "json": "JSON number"},
        id="price is text",
    ),
    pytest.param(
        lambda ctx: {"replayCreditPrice": "-0.01"},
        "replayCreditPrice",
        "negative",
        id="negative replay price",
    ),
    pytest.param(
        lambda ctx: {"fundingGoal": "-5"}, "fundingGoal", "negative", id="negative funding goal"
    ),
    pytest.param(
        lambda ctx: {"interest": "cooking"}, "interest", "not a valid choice", id="bad interest"
    ),
    pytest.param(
        lambda ctx: {"plannedStartDate": "2099-01-01T10:00:00"},
        "plannedStartDate",
        "time zone",
        id="naive start",
    ),
    pytest.param(
        lambda ctx: {"plannedEndDate": "2099-01-01T10:00:00"},
        "plannedEndDate",
        "time zone",
        id="naive end",
    ),
    pytest.param(
        lambda ctx: {"plannedStartDate": "tomorrow"},
        "plannedStartDate",
        "valid ISO 8601",
        id="start not a date",
    ),
    pytest.param(
        lambda ctx: {
            "plannedStartDate": f"{SOON_DAY}T10:00:00Z",
            "plannedEndDate": f"{SOON_DAY}T10:00:00Z",
        },
        "plannedEndDate",
        "after plannedStartDate",
        id="end equals start",
    ),
    pytest.param(
        lambda ctx: {
            "plannedStartDate": f"{SOON_DAY}T10:00:00Z",
            "plannedEndDate": f"{SOON_DAY}T12:00:00+03:00",  # 09:00 UTC
        },
        "plannedEndDate",
        "after plannedStartDate",
        id="end before start",
    ),
    pytest.param(
        lambda ctx: {"motivation": "m" * 1001},
        "motivation",
        "no more than 1000",
        id="motivation over 1000",
    ),
    pytest.param(
        lambda ctx: {"durationGoal": "long"},
        "durationGoal",
        "valid integer",
        id="duration goal text",
    ),
]


@pytest.mark.parametrize("fmt", ["multipart", "json"])
@pytest.mark.parametrize(("make_fields", "named", "says"), BAD_FIELDS)
def test_bad_fields_are_400_and_write_nothing(
    client, creator, guests, media_root, make_fields, named, says, fmt
):
    ctx = SimpleNamespace(guests=guests, creator=creator, deactivated=UserFactory(is_active=False))
    payload = {"title": "Valid title", **make_fields(ctx)}
    payload = {key: value for key, value in payload.items() if value is not MISSING}
    if fmt == "json":  # money as a JSON number, as the apps send it
        payload = {key: json_money(key, value) for key, value in payload.items()}
    says = says[fmt] if isinstance(says, dict) else says
    if fmt == "multipart":
        # A valid thumbnail rides along, so "no file stored" is a real check.
        payload["thumbnail"] = upload("ok.jpg", image_bytes("JPEG"))

    response = client.post(CREATE_URL, payload, format=fmt)

    errors = assert_error(response, 400)
    assert len(errors) >= 2, errors
    assert field_of(errors[1]) == named, errors
    assert says in errors[1], errors
    assert_nothing_written(media_root)


def test_a_title_just_over_100_after_trimming_is_refused(client, media_root):
    errors = assert_error(
        client.post(CREATE_URL, {"title": f"  {'x' * 101}  "}, format="json"), 400
    )
    assert field_of(errors[1]) == "title"
    assert_nothing_written(media_root)


def test_a_guests_value_that_is_not_a_list_is_refused(client, media_root):
    errors = assert_error(
        client.post(
            CREATE_URL,
            {"title": "x", "liveStreamType": "duoself", "guests": {"a": 1}},
            format="json",
        ),
        400,
    )
    assert field_of(errors[1]) == "guests"
    assert_nothing_written(media_root)


def test_every_unknown_guest_is_named(client, guests, media_root):
    unknown = ["64d15f9e2e6c8f4d5a123456", "64d15f9e2e6c8f4d5a654321"]
    errors = assert_error(
        client.post(
            CREATE_URL,
            {"title": "x", "liveStreamType": "duoself", "guests": [guests[0].pk, *unknown]},
            format="json",
        ),
        400,
    )
    assert all(field_of(e) == "guests" for e in errors[1:])
    assert all(any(pk in e for e in errors) for pk in unknown), errors
    assert not any(guests[0].pk in e for e in errors), errors
    assert_nothing_written(media_root)


# --- Errors: bad thumbnails --------------------------------------------------------


def _truncated_jpeg() -> bytes:
    whole = image_bytes("JPEG", (64, 64), with_metadata=False)
    return whole[: len(whole) // 2]


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10" fill="red"/></svg>'
)


@pytest.mark.parametrize(
    ("case", "make", "name", "content_type"),
    [
        ("text named .jpg", lambda: b"just some text, not a picture\n" * 4, "a.jpg", "image/jpeg"),
        ("truncated JPEG", _truncated_jpeg, "cut.jpg", "image/jpeg"),
        ("SVG", lambda: SVG, "vector.svg", "image/svg+xml"),
        ("SVG named .png", lambda: SVG, "vector.png", "image/png"),
        ("GIF", lambda: image_bytes("GIF", with_metadata=False), "anim.gif", "image/gif"),
        ("empty file", lambda: b"", "empty.jpg", "image/jpeg"),
        ("decompression bomb", decompression_bomb, "bomb.png", "image/png"),
        (
            "header declaring 3.6 gigapixels",
            lambda: png_declaring(60000, 60000, zlib.compress(b"\x00" * 1000)),
            "huge.png",
            "image/png",
        ),
    ],
)
def test_a_bad_thumbnail_is_400_and_writes_nothing(
    client, media_root, case, make, name, content_type
):
    response = client.post(
        CREATE_URL,
        {"title": "Thumb", "thumbnail": upload(name, make(), content_type)},
        format="multipart",
    )
    errors = assert_error(response, 400)
    assert field_of(errors[1]) == "thumbnail", errors
    assert_nothing_written(media_root)


def test_the_bomb_is_within_the_byte_limit_and_over_the_pixel_limit():
    bomb = decompression_bomb()
    assert len(bomb) < settings.IMAGE_MAX_BYTES
    with Image.open(io.BytesIO(bomb)) as image:
        width, height = image.size
    assert width * height > settings.IMAGE_MAX_PIXELS


def test_a_thumbnail_over_the_byte_limit_is_refused(client, media_root, settings):
    content = image_bytes("PNG", (64, 64))
    settings.IMAGE_MAX_BYTES = len(content) - 1
    errors = assert_error(
        client.post(
            CREATE_URL,
            {"title": "Thumb", "thumbnail": upload("big.png", content, "image/png")},
            format="multipart",
        ),
        400,
    )
    assert field_of(errors[1]) == "thumbnail"
    assert_nothing_written(media_root)


def test_a_thumbnail_at_the_byte_limit_is_accepted(client, media_root, settings):
    content = image_bytes("PNG", (64, 64))
    settings.IMAGE_MAX_BYTES = len(content)
    response = client.post(
        CREATE_URL,
        {"title": "Thumb", "thumbnail": upload("ok.png", content, "image/png")},
        format="multipart",
    )
    assert_envelope(response, 201)
    assert len(media_files(media_root)) == 1


def test_a_thumbnail_over_the_pixel_limit_is_refused(client, media_root, settings):
    settings.IMAGE_MAX_PIXELS = 24 * 16 - 1
    errors = assert_error(
        client.post(
            CREATE_URL,
            {"title": "Thumb", "thumbnail": upload("a.jpg", image_bytes("JPEG", (24, 16)))},
            format="multipart",
        ),
        400,
    )
    assert field_of(errors[1]) == "thumbnail"
    assert_nothing_written(media_root)


def test_a_failure_after_the_thumbnail_is_stored_removes_it(
    client, guests, media_root, monkeypatch
):
    """The file is written inside the unit of work; if a later step fails, it goes."""

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Guest.objects, "bulk_create", explode)
    response = client.post(
        CREATE_URL,
        {
            "title": "Thumb",
            "liveStreamType": "duoself",
            "guests": [guests[0].pk],
            "thumbnail": upload("a.jpg", image_bytes("JPEG")),
        },
        format="multipart",
    )
    errors = assert_error(response, 500)
    assert errors == ["Internal server error"]
    assert_nothing_written(media_root)


# --- 401 and 409 -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_no_token_is_401_and_writes_nothing(db, api_client, media_root, fmt):
    payload = {"title": "Anonymous"}
    if fmt == "multipart":
        payload["thumbnail"] = upload("a.jpg", image_bytes("JPEG"))
    assert_error(api_client.post(CREATE_URL, payload, format=fmt), 401)
    assert_nothing_written(media_root)


def test_a_tampered_token_is_401(api_client, creator, media_root):
    token = str(AccessToken.for_user(creator))
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")  # the signature
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tampered}")
    assert_error(api_client.post(CREATE_URL, {"title": "x"}, format="json"), 401)
    assert_nothing_written(media_root)


def test_a_deactivated_creator_is_401(client_for, media_root):
    gone = UserFactory(is_active=False)
    assert_error(client_for(gone).post(CREATE_URL, {"title": "x"}, format="json"), 401)
    assert_nothing_written(media_root)


@pytest.mark.parametrize("status", [LiveStreamStatus.PREPARING, LiveStreamStatus.ACTIVE])
@pytest.mark.parametrize("fmt", ["multipart", "json"])
def test_an_open_stream_is_409_and_writes_nothing(client, creator, guests, media_root, status, fmt):
    LiveStreamFactory(creator=creator, status=status)
    payload = {"title": "Second", "liveStreamType": "duoself", "guests": [guests[0].pk]}
    if fmt == "multipart":
        payload["thumbnail"] = upload("a.jpg", image_bytes("JPEG"))

    assert_error(client.post(CREATE_URL, payload, format=fmt), 409)
    assert_nothing_written(media_root, streams_before=1)


@pytest.mark.parametrize(
    "status",
    [
        LiveStreamStatus.SCHEDULED,
        LiveStreamStatus.ENDED,
        LiveStreamStatus.EXPIRED,
        LiveStreamStatus.CANCELLED_BY_HOST,
        LiveStreamStatus.CANCELLED_BY_GUEST,
    ],
)
def test_a_stream_that_is_not_open_does_not_block(client, creator, status):
    LiveStreamFactory(creator=creator, status=status)
    assert_envelope(client.post(CREATE_URL, {"title": "Next"}, format="json"), 201)
    assert LiveStream.objects.filter(creator=creator).count() == 2


def test_a_removed_open_stream_does_not_block(client, creator):
    LiveStreamFactory(creator=creator, status=LiveStreamStatus.ACTIVE, deleted_at=timezone.now())
    data = assert_envelope(client.post(CREATE_URL, {"title": "Next"}, format="json"), 201)
    assert data["status"] == "preparing"
    assert LiveStream.objects.filter(creator=creator).count() == 2


def test_another_creators_open_stream_does_not_block(client):
    LiveStreamFactory(status=LiveStreamStatus.ACTIVE)
    assert_envelope(client.post(CREATE_URL, {"title": "Mine"}, format="json"), 201)


def test_a_scheduled_stream_does_not_count_as_open_for_the_next_create(client, creator):
    first = client.post(CREATE_URL, {"title": "Later", "plannedStartDate": future(days=1)})
    assert assert_envelope(first, 201)["status"] == "scheduled"
    second = client.post(CREATE_URL, {"title": "Now"})
    assert assert_envelope(second, 201)["status"] == "preparing"
    assert_error(client.post(CREATE_URL, {"title": "Again"}), 409)
    assert LiveStream.objects.filter(creator=creator).count() == 2


# --- Query count --------------------------------------------------------------------


# Authenticate (1), the response's transaction (savepoint and release: 2; the
# stream is rendered before the commit), look up the guests (1), the unit of work's
# savepoint (1), lock the creator (1), the open-stream check (1), the insert in its
# own savepoint (3), all guests in one insert (1), release (1), load guests and
# fundings (2).
CREATE_QUERIES = 14


@pytest.mark.parametrize("guest_count", [1, 8])
def test_create_query_count_does_not_grow_with_guests(
    client, guests, django_assert_num_queries, guest_count
):
    assert guest_count <= settings.LIVESTREAM_MAX_GUESTS
    payload = {
        "title": "Counted",
        "liveStreamType": "duocrowd",
        "guests": [g.pk for g in guests[:guest_count]],
    }

    with django_assert_num_queries(CREATE_QUERIES):
        response = client.post(CREATE_URL, payload, format="json")

    assert len(assert_envelope(response, 201)["broadcasters"]) == 1 + guest_count
    assert Guest.objects.count() == guest_count


# --- Concurrency on PostgreSQL ---------------------------------------------------------


def _run_together(*calls):
    """Run each call in its own thread, released at the same moment."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # reported to the test below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_creators_same_title_at_once_get_different_channel_names(client_for, monkeypatch):
    """Both threads first draw the same name, so the database's unique index
    really decides; the loser must retry and still succeed."""
    first_draw = "yeni-urun-tanitimi-0000"
    drawn_by_thread = {}
    lock = threading.Lock()

    def same_first_name(title):
        with lock:
            seen = drawn_by_thread.setdefault(threading.get_ident(), [])
            name = first_draw if not seen else new_channel_name(title)
            seen.append(name)
        return name

    monkeypatch.setattr(creation, "new_channel_name", same_first_name)
    clients = [client_for(UserFactory()), client_for(UserFactory())]

    responses = _run_together(
        *(
            lambda c=c: c.post(CREATE_URL, {"title": "Yeni ürün tanıtımı"}, format="json")
            for c in clients
        )
    )

    names = [assert_envelope(r, 201)["channelName"] for r in responses]
    assert len(set(names)) == 2, names
    assert first_draw in names
    assert sorted(LiveStream.objects.values_list("channel_name", flat=True)) == sorted(names)
    assert sorted(len(d) for d in drawn_by_thread.values()) == [1, 2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_creators_same_title_at_once_without_a_forced_clash(client_for):
    clients = [client_for(UserFactory()) for _ in range(2)]
    responses = _run_together(
        *(lambda c=c: c.post(CREATE_URL, {"title": "Aynı başlık"}, format="json") for c in clients)
    )
    names = {assert_envelope(r, 201)["channelName"] for r in responses}
    assert len(names) == 2
    assert LiveStream.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_creator_creating_twice_at_once_gets_one_stream(client_for, media_root):
    creator = UserFactory()
    guest = UserFactory()
    clients = [client_for(creator), client_for(creator)]

    def create(client, title):
        return client.post(
            CREATE_URL,
            {
                "title": title,
                "liveStreamType": "duoself",
                "guests": [guest.pk],
                "thumbnail": upload(f"{title}.jpg", image_bytes("JPEG")),
            },
            format="multipart",
        )

    responses = _run_together(lambda: create(clients[0], "one"), lambda: create(clients[1], "two"))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409], [r.content for r in responses]
    winner = next(r for r in responses if r.status_code == 201)
    loser = next(r for r in responses if r.status_code == 409)
    assert_error(loser, 409)
    stream = LiveStream.objects.get()
    assert stream.pk == assert_envelope(winner, 201)["id"]
    assert Guest.objects.filter(live_stream=stream).count() == 1
    assert Guest.objects.count() == 1
    assert media_files(media_root) == [stream.thumbnail]
