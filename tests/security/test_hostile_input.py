"""Hostile requests, one test each (issue 6): oversized bodies and fields, deeply
nested JSON, wrong content types, control characters, injection strings, other
users' ids (BOLA), server-owned fields (mass assignment) and forged JWTs.

A refused request gets the right 4xx in the envelope and changes nothing: the
rows of every table a request could write to, every balance, every stream's
state and the media folder are compared before and after (`unchanged`).

What is accepted in text (a decision of this test file, see `no_control_characters`
in allmine/fields.py): any Unicode a person can type, emoji, right-to-left text
and marks, zero-width characters, is stored and returned verbatim; control
characters (NUL, escape, backspace, DEL, C1) are a 400, except tab and line breaks.
"""

import hashlib
import hmac
import io
import json
import os
import uuid
import warnings
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from jwt.warnings import InsecureKeyLengthWarning
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import CreditTransaction, User
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    AgoraNotice,
    Contribution,
    Gift,
    LiveStream,
    LiveStreamBan,
    StreamReminder,
    StreamReport,
)
from livestreams.services.audience import livestream_join_as_audience
from tests.api import assert_envelope, assert_error
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import world_snapshot

CREATE_URL = "/api/v1/live-stream/create"
REGISTER_URL = "/api/v1/auth/register"
ME_URL = "/api/v1/auth/me"
JSON = "application/json"


# --- Helpers ------------------------------------------------------------------------


def client_with_token(token: str | None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def client_of(user) -> APIClient:
    return client_with_token(str(AccessToken.for_user(user)))


def send_json(client, method: str, url: str, body, content_type: str = JSON):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.generic(method, url, raw, content_type=content_type)


def media_files(media_root: str) -> list[str]:
    return [os.path.join(d, f) for d, _dirs, files in os.walk(media_root) for f in files]


@pytest.fixture
def unchanged(world, media_root):
    """Asserts, after the test, that nothing the test's request could write was written."""
    before = world_snapshot()
    assert media_files(media_root) == []
    yield
    assert world_snapshot() == before
    assert media_files(media_root) == []


def register_body(**fields) -> dict:
    body = {
        "username": "fresh.user",
        "email": "fresh.user@example.com",
        "password": DEFAULT_PASSWORD,
        "name": "New",
        "surname": "Comer",
    }
    body.update(fields)
    return body


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def nested(depth: int, leaf: str = "") -> str:
    return "[" * depth + leaf + "]" * depth


# --- Oversized bodies and fields ------------------------------------------------------


def test_a_body_over_the_request_limit_is_refused_before_it_is_read(world, unchanged):
    body = b'{"title": "' + b"a" * settings.MAX_REQUEST_BYTES + b'"}'
    response = send_json(client_of(world.newcomer), "POST", CREATE_URL, body)
    assert_error(response, 413, contains="The request body exceeds")


def test_a_content_length_over_the_limit_is_refused_whatever_the_body(world, unchanged):
    response = client_of(world.newcomer).generic(
        "POST",
        CREATE_URL,
        b'{"title": "short"}',
        content_type=JSON,
        CONTENT_LENGTH=str(settings.MAX_REQUEST_BYTES + 1),
    )
    assert_error(response, 413)


def test_a_malformed_content_length_is_a_400(world, unchanged):
    response = client_of(world.newcomer).generic(
        "POST", CREATE_URL, b'{"title": "short"}', content_type=JSON, CONTENT_LENGTH="12abc"
    )
    assert_error(response, 400, contains="Invalid Content-Length.")


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(
            lambda c: send_json(c, "POST", CREATE_URL, {"title": "a" * (10 * 1024 * 1024)}),
            id="json-10mb-title",
        ),
        pytest.param(
            lambda c: c.post(CREATE_URL, {"title": "a" * (10 * 1024 * 1024)}, format="multipart"),
            id="multipart-10mb-title",
        ),
        pytest.param(
            lambda c: c.post(
                CREATE_URL,
                {"title": "Many fields", "guests": ["64d15f9e2e6c8f4d5a123456"] * 1001},
                format="multipart",
            ),
            id="multipart-1001-fields",
        ),
    ],
)
def test_an_oversized_field_in_a_body_under_the_limit_is_a_413(world, unchanged, send):
    assert_error(send(client_of(world.newcomer)), 413)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        pytest.param(CREATE_URL, {"title": "t" * 101}, "title", id="title-101"),
        pytest.param(
            CREATE_URL,
            {"title": "ok", "motivation": "m" * 1001},
            "motivation",
            id="motivation-1001",
        ),
        pytest.param(
            CREATE_URL,
            {
                "title": "ok",
                "liveStreamType": "duoself",
                "guests": ["64d15f9e2e6c8f4d5a123456"] * 9,
            },
            "guests",
            id="guests-over-the-maximum",
        ),
        pytest.param(
            CREATE_URL,
            {"title": "ok", "guests": ["64d15f9e2e6c8f4d5a123456"] * 10_000},
            "guests",
            id="guests-10000",
        ),
        pytest.param(REGISTER_URL, register_body(username="u" * 31), "username", id="username-31"),
        pytest.param(REGISTER_URL, register_body(name="n" * 101), "name", id="name-101"),
        pytest.param(REGISTER_URL, register_body(surname="s" * 101), "surname", id="surname-101"),
        pytest.param(
            REGISTER_URL,
            register_body(email="e" * 250 + "@example.com"),
            "email",
            id="email-over-254",
        ),
        pytest.param(
            REGISTER_URL, register_body(password="p" * 129), "password", id="password-129"
        ),
    ],
)
def test_a_field_over_its_maximum_length_is_a_400(world, unchanged, url, body, field):
    response = send_json(client_of(world.newcomer), "POST", url, body)
    assert_error(response, 400, contains=f"{field}:")


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        pytest.param(
            "/api/v1/live-stream-reports/{other_active}",
            {"type": "other", "description": "d" * 1001},
            "description",
            id="report-description-1001",
        ),
        pytest.param(
            "/api/v1/live-stream-reports/{other_active}",
            {"type": "x" * 10_000},
            "type",
            id="report-type-10000",
        ),
        pytest.param(
            "/api/v1/live-stream/{my_scheduled}/reminder",
            {"minute": 10**30},
            "minute",
            id="reminder-minute-huge",
        ),
        pytest.param(
            "/api/v1/gifts/create",
            {"giftTypeId": "a" * 10_000, "liveStreamId": "{other_active}"},
            "giftTypeId",
            id="gift-type-id-10000",
        ),
        pytest.param(
            "/api/v1/live-stream/{my_active}/chat/messages",
            {"content": "c" * 501},
            "content",
            id="chat-content-501",
        ),
        pytest.param(
            "/api/v1/live-stream/{my_active}/chat/messages",
            {"content": {"$ne": None}},
            "content",
            id="chat-content-object",
        ),
    ],
)
def test_a_room_field_over_its_limit_is_a_400(world, unchanged, url, body, field):
    response = send_json(client_of(world.me), "POST", with_ids(url, world), with_ids(body, world))
    assert_error(response, 400, contains=f"{field}:")


def test_a_ban_reason_over_its_maximum_length_is_a_400(world, unchanged):
    body = {
        "liveStreamId": world.my_active.pk,
        "targetUserId": world.bystander.pk,
        "actionType": "BLOCK",
        "reason": "r" * 501,
    }
    response = send_json(client_of(world.me), "POST", "/api/v1/live-stream-ban", body)
    assert_error(response, 400, contains="reason:")


def test_a_thumbnail_with_a_refused_create_leaves_no_file(world, unchanged):
    """The caller already has an active stream: 409, and the thumbnail it sent
    is not left behind in the media folder."""
    thumbnail = SimpleUploadedFile("t.jpg", jpeg_bytes(), content_type="image/jpeg")
    response = client_of(world.me).post(
        CREATE_URL, {"title": "Second stream", "thumbnail": thumbnail}, format="multipart"
    )
    assert_error(response, 409)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("t.jpg", b"<?php system($_GET['c']); ?>", id="php-named-jpg"),
        pytest.param("t.svg", b'<svg onload="alert(1)"/>', id="svg"),
        pytest.param("t.jpg", jpeg_bytes()[:200], id="truncated-jpeg"),
        pytest.param("../../../t.jpg", b"GIF89a", id="traversal-name"),
    ],
)
def test_a_thumbnail_that_is_not_an_image_is_a_400_and_leaves_no_file(
    world, unchanged, name, content
):
    thumbnail = SimpleUploadedFile(name, content, content_type="image/jpeg")
    response = client_of(world.newcomer).post(
        CREATE_URL, {"title": "With a thumbnail", "thumbnail": thumbnail}, format="multipart"
    )
    assert_error(response, 400, contains="thumbnail:")


# --- Deeply nested JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "raw"),
    [
        pytest.param(
            CREATE_URL, '{"title": "Deep", "guests": ' + nested(10_000) + "}", id="guests-10000"
        ),
        pytest.param(CREATE_URL, nested(100_000), id="top-level-100000"),
        pytest.param(
            CREATE_URL,
            '{"title": "Deep", "motivation": ' + '{"a": ' * 10_000 + "1" + "}" * 10_000 + "}",
            id="objects-10000",
        ),
        pytest.param(
            REGISTER_URL, '{"username": ' + nested(10_000, '"x"') + "}", id="register-10000"
        ),
        pytest.param(
            "/api/v1/live-stream/join", '{"liveStreamId": ' + nested(5_000) + "}", id="join-5000"
        ),
    ],
)
def test_json_nested_beyond_the_recursion_limit_is_a_400(world, unchanged, url, raw):
    response = send_json(client_of(world.newcomer), "POST", url, raw)
    assert_error(response, 400, contains="could not be parsed")


def test_json_nested_within_the_recursion_limit_is_refused_by_validation(world, unchanged):
    raw = '{"title": "Deep", "liveStreamType": "duoself", "guests": ' + nested(500) + "}"
    response = send_json(client_of(world.newcomer), "POST", CREATE_URL, raw)
    assert_error(response, 400, contains="guests")


def test_a_deeply_nested_guests_field_in_multipart_is_a_400(world, unchanged):
    response = client_of(world.newcomer).post(
        CREATE_URL,
        {"title": "Deep", "liveStreamType": "duoself", "guests": nested(10_000)},
        format="multipart",
    )
    assert_error(response, 400, contains="guests:")


# --- Wrong content types and unparsable bodies ------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "raw", "status"),
    [
        pytest.param("text/plain", "title=Plain", 415, id="text-plain"),
        pytest.param("application/xml", "<stream><title>x</title></stream>", 415, id="xml"),
        pytest.param("application/yaml", "title: x", 415, id="yaml"),
        pytest.param("image/png", b"\x89PNG\r\n\x1a\n", 415, id="png-body"),
        pytest.param("multipart/form-data", "--x\r\n", 400, id="multipart-without-boundary"),
        pytest.param(
            "multipart/form-data; boundary=abc", "not multipart at all", 400, id="bad-multipart"
        ),
        pytest.param(JSON, '{"title": "unterminated', 400, id="json-unterminated"),
        pytest.param(JSON, b'{"title": "\xff\xfe"}', 400, id="json-invalid-utf8"),
        pytest.param(JSON, '{"title": NaN}', 400, id="json-nan"),
        pytest.param(JSON, '["a", "list"]', 400, id="json-list"),
        pytest.param(JSON, '"a string"', 400, id="json-string"),
        pytest.param(JSON, "null", 400, id="json-null"),
        pytest.param(JSON, "", 400, id="json-empty"),
    ],
)
def test_a_body_in_the_wrong_media_type_or_unparsable_is_refused(
    world, unchanged, content_type, raw, status
):
    response = send_json(client_of(world.newcomer), "POST", CREATE_URL, raw, content_type)
    assert_error(response, status)


def test_the_profile_photo_takes_only_multipart(world, unchanged):
    response = send_json(
        client_of(world.newcomer), "PATCH", "/api/v1/users/profile/photo", {"file": "x"}
    )
    assert_error(response, 415)


# --- Unicode and control characters ------------------------------------------------------

CONTROL_CHARACTERS = {
    "nul": "\x00",
    "bell": "\x07",
    "backspace": "\x08",
    "vertical-tab": "\x0b",
    "escape": "\x1b",
    "unit-separator": "\x1f",
    "delete": "\x7f",
    "c1-csi": "\x9b",
}
CREATE_TEXT_FIELDS = ("title", "motivation", "interest")
REGISTER_TEXT_FIELDS = ("username", "name", "surname")


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
@pytest.mark.parametrize("field", CREATE_TEXT_FIELDS)
@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_a_control_character_in_a_create_text_field_is_a_400(world, unchanged, field, char, fmt):
    body = {"title": "Clean title", field: f"bad{char}text"}
    client = client_of(world.newcomer)
    if fmt == "json":
        response = send_json(client, "POST", CREATE_URL, body)
    else:
        response = client.post(CREATE_URL, body, format="multipart")
    assert_error(response, 400, contains=f"{field}:")


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
@pytest.mark.parametrize("field", REGISTER_TEXT_FIELDS)
def test_a_control_character_in_a_register_text_field_is_a_400(world, unchanged, field, char):
    response = send_json(
        APIClient(), "POST", REGISTER_URL, register_body(**{field: f"bad{char}text"})
    )
    assert_error(response, 400, contains=f"{field}:")


def test_a_control_character_in_a_ban_reason_is_a_400(world, unchanged):
    body = {
        "liveStreamId": world.my_active.pk,
        "targetUserId": world.bystander.pk,
        "actionType": "CHAT_ONLY",
        "reason": "spam\x1b[2J",
    }
    response = send_json(client_of(world.me), "POST", "/api/v1/live-stream-ban", body)
    assert_error(response, 400, contains="reason:")


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
def test_a_control_character_in_a_report_description_is_a_400(world, unchanged, char):
    body = {"type": "other", "description": f"bad{char}text"}
    url = f"/api/v1/live-stream-reports/{world.other_active.pk}"
    assert_error(send_json(client_of(world.me), "POST", url, body), 400, contains="description:")


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
def test_a_control_character_in_a_search_or_filter_is_a_400(world, unchanged, char):
    client = client_of(world.me)
    viewers = f"/api/v1/live-stream/{world.my_active.pk}/viewers"
    assert_error(client.get(viewers, {"search": f"a{char}b"}), 400, contains="search:")
    bans = "/api/v1/live-stream-ban"
    assert_error(client.get(bans, {"targetUser": f"a{char}b"}), 400, contains="targetUser:")


@pytest.mark.parametrize(
    "char", [*CONTROL_CHARACTERS.values(), "\t"], ids=[*CONTROL_CHARACTERS, "tab"]
)
def test_a_control_character_in_a_chat_message_is_a_400(world, unchanged, char):
    url = f"/api/v1/live-stream/{world.my_active.pk}/chat/messages"
    body = {"content": f"bad{char}text"}
    assert_error(send_json(client_of(world.me), "POST", url, body), 400, contains="content:")


ACCEPTED_TEXT = {
    "emoji": "Launch party 🎉🚀 👩‍👩‍👧",
    "rtl-override": "harmless\u202etxt.exe",
    "rtl-text": "مرحبا بالعالم שלום",
    "zero-width": "zero\u200bwidth\u200d\ufeffjoin",
    "combining": "Zalgo z\u0335\u0321a\u0336l\u0337g\u0338o",
    "turkish": "Yeni ürün tanıtımı İĞŞÇÖ",
    "astral": "𝕱𝖗𝖆𝖐𝖙𝖚𝖗 𓀀",
}
INJECTION_TEXT = {
    "jinja": "{{7*7}}",
    "shell-template": "${7*7}",
    "sql-or": "' OR 1=1 --",
    "sql-drop": "x'); DROP TABLE livestreams_livestream; --",
    "sql-union": '" UNION SELECT password FROM accounts_user --',
    "django-template": "{% debug %}{{ settings.SECRET_KEY }}",
    "percent-format": "%(password)s %s %n",
    "html": "<script>alert(1)</script>",
    "nosql": '{"$ne": null}',
    "ldap": "*)(uid=*))(|(uid=*",
    "path": "../../../../etc/passwd",
}


@pytest.mark.parametrize(
    "text",
    [*ACCEPTED_TEXT.values(), *INJECTION_TEXT.values()],
    ids=[*ACCEPTED_TEXT, *INJECTION_TEXT],
)
def test_unicode_and_injection_strings_in_a_stream_are_stored_and_returned_verbatim(
    world, media_root, text
):
    client = client_of(world.newcomer)
    body = {"title": text, "motivation": f"Because:\r\n\t{text}"}
    created = assert_envelope(send_json(client, "POST", CREATE_URL, body), 201)
    assert created["title"] == text
    assert created["motivation"] == f"Because:\r\n\t{text}"
    assert created["channelName"].isascii()

    stream = LiveStream.objects.get(pk=created["id"])
    assert (stream.title, stream.motivation) == (text, f"Because:\r\n\t{text}")
    shown = assert_envelope(client.get(f"/api/v1/live-stream/{stream.pk}"), 200)
    assert (shown["title"], shown["motivation"]) == (text, f"Because:\r\n\t{text}")
    listed = assert_envelope(client.get(f"/api/v1/live-stream?creator={world.newcomer.pk}"), 200)
    assert [s["title"] for s in listed] == [text]
    assert LiveStream.objects.count() == len(world.streams) + 1  # nothing else happened


@pytest.mark.parametrize(
    "text",
    [*ACCEPTED_TEXT.values(), *INJECTION_TEXT.values()],
    ids=[*ACCEPTED_TEXT, *INJECTION_TEXT],
)
def test_unicode_and_injection_strings_in_a_chat_message_are_stored_and_returned_verbatim(
    world, text
):
    client = client_of(world.me)
    url = f"/api/v1/live-stream/{world.my_active.pk}/chat/messages"
    sent = assert_envelope(send_json(client, "POST", url, {"content": f"{text}\r\n{text}"}), 201)
    assert sent["content"] == f"{text}\r\n{text}"
    history = assert_envelope(client.get(url), 200)
    assert [m["content"] for m in history["messages"]] == [f"{text}\r\n{text}"]


@pytest.mark.parametrize(
    "text",
    [*ACCEPTED_TEXT.values(), *INJECTION_TEXT.values()],
    ids=[*ACCEPTED_TEXT, *INJECTION_TEXT],
)
def test_unicode_and_injection_strings_in_a_name_are_stored_and_returned_verbatim(world, text):
    body = register_body(name=text, surname=text)
    data = assert_envelope(send_json(APIClient(), "POST", REGISTER_URL, body), 201)
    assert (data["user"]["name"], data["user"]["surname"]) == (text, text)
    user = User.objects.get(pk=data["user"]["_id"])
    assert (user.name, user.surname) == (text, text)
    me = assert_envelope(client_with_token(data["accessToken"]).get(ME_URL), 200)
    assert (me["name"], me["surname"]) == (text, text)


@pytest.mark.parametrize(
    "username",
    [
        "emoji🎉",
        "rtl\u202euser",
        "zero\u200bwidth",
        "ünïcode",
        "' OR 1=1 --",
        "{{7*7}}",
        "a b",
        "../admin",
    ],
)
def test_a_username_outside_its_alphabet_is_a_400(world, unchanged, username):
    response = send_json(APIClient(), "POST", REGISTER_URL, register_body(username=username))
    assert_error(response, 400, contains="username:")


@pytest.mark.parametrize("text", INJECTION_TEXT.values(), ids=INJECTION_TEXT.keys())
def test_injection_strings_in_a_sign_in_are_refused(world, unchanged, text):
    for body in ({"login": text, "password": text}, {"login": world.me.username, "password": text}):
        response = send_json(APIClient(), "POST", "/api/v1/auth/login", body)
        assert_error(response, 401)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/live-stream?status=' OR 1=1 --",
        "/api/v1/live-stream?interest={{7*7}}",
        "/api/v1/live-stream?creator=' OR '1'='1",
        "/api/v1/live-stream-ban?liveStreamId=${7*7}",
        "/api/v1/live-stream/' OR 1=1 --",
        "/api/v1/live-stream/{{7*7}}/replay-status",
        "/api/v1/live-stream/64d15f9e2e6c8f4d5a12345%00/viewer-count",
        "/api/v1/live-stream/' OR 1=1 --/viewers",
        "/api/v1/live-stream/{{7*7}}/gift-statistics",
        "/api/v1/live-stream/' OR 1=1 --/chat/messages",
        "/api/v1/live-stream/user/' OR '1'='1/past-streams",
        "/api/v1/live-stream/user/%00/upcoming-live-streams",
        "/api/v2/live-stream/user/${7*7}/upcoming-live-streams",
        "/api/v1/participant/stream/' OR 1=1 --/statistics",
        "/api/v1/live-stream-ban/check/{{7*7}}",
        "/api/v1/live-stream-ban?targetUserId=' OR 1=1 --",
        "/api/v1/live-stream-ban?startDate={{7*7}}",
        "/api/v1/live-stream-ban?actionType=' OR 1=1 --",
        "/api/v1/live-stream/catch-streamers?limit=1 OR 1=1",
        "/api/v1/live-stream/most-watched-creators?limit=${7*7}",
        "/api/v1/live-stream/guest-streams?sortBy=title; DROP TABLE x",
        "/api/v1/live-stream/guest-streams?sortOrder=' OR 1=1 --",
        "/api/v1/live-stream/my-past-streams?limit=%00",
        "/api/v1/users/me/transactions?types=' OR 1=1 --",
        "/api/v1/users/me/transactions?statuses={{7*7}}",
        "/api/v1/users/me/transactions?dateFrom=' OR 1=1 --",
        "/api/v1/users/me/transactions?dateTo=2026-01-01T00:00:00%00",
        "/api/v1/users/me/transactions?sort=created_at; DROP TABLE x",
        '/api/v1/users/me/transactions?direction={"$ne": null}',
    ],
)
def test_injection_strings_in_a_url_are_a_400(world, unchanged, url):
    assert_error(client_of(world.me).get(url), 400)


@pytest.mark.parametrize(
    "query",
    [{"page": "' OR 1=1 --"}, {"limit": "${7*7}"}, {"page": "1e999"}, {"limit": "%00"}],
)
def test_injection_strings_in_the_chat_historys_paging_are_a_400(world, unchanged, query):
    url = f"/api/v1/live-stream/{world.my_active.pk}/chat/messages"
    assert_error(client_of(world.me).get(url, query), 400)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999", "0x10", "1_0"])
def test_a_window_that_is_no_finite_number_is_a_400(world, unchanged, value):
    client = client_of(world.me)
    v1 = f"/api/v1/live-stream/user/{world.other.pk}/upcoming-live-streams"
    v2 = f"/api/v2/live-stream/user/{world.other.pk}/upcoming-live-streams"
    assert_error(client.get(v1, {"hoursBefore": value}), 400, contains="hoursBefore:")
    assert_error(client.get(v2, {"minutesAfter": value}), 400, contains="minutesAfter:")


# --- Other users' objects (BOLA) ---------------------------------------------------------


S = "/api/v1/live-stream"
BANS = "/api/v1/live-stream-ban"
# (id, method, path, body, status); "{name}" stands for the id of `world.<name>`.
BOLA = [
    ("end-another-creators-stream", "POST", S + "/{other_active}/end", None, 403),
    ("cancel-another-creators-stream", "POST", S + "/{other_scheduled}/cancel", None, 403),
    ("delete-another-creators-stream", "DELETE", S + "/{other_scheduled}", None, 403),
    ("delete-another-creators-ended-stream", "DELETE", S + "/{other_ended}", None, 403),
    (
        "replay-settings-of-another-creators-stream",
        "PATCH",
        S + "/{other_ended}/replay-settings",
        {"isActiveReplayOnCreatorProfile": False, "replayCreditPrice": 0.5},
        403,
    ),
    (
        "replay-settings-as-an-invited-guest",
        "PATCH",
        S + "/{duo_live}/replay-settings",
        {"replayCreditPrice": 1},
        403,
    ),
    ("end-as-an-invited-guest", "POST", S + "/{duo_live}/end", None, 403),
    ("delete-as-an-invited-guest", "DELETE", S + "/{other_duo}", None, 403),
    ("fund-own-stream", "POST", S + "/{my_active}/fund", {"amount": 5}, 403),
    ("lift-another-creators-ban", "DELETE", BANS + "/{other_ban}", None, 403),
    ("list-another-creators-bans", "GET", BANS + "?liveStreamId={other_scheduled}", None, 403),
    (
        "ban-on-another-creators-stream",
        "POST",
        BANS,
        {"liveStreamId": "{other_active}", "targetUserId": "{bystander}", "actionType": "BLOCK"},
        403,
    ),
    (
        "join-as-creator-of-another-creators-stream",
        "POST",
        S + "/join-as-creator",
        {"liveStreamId": "{other_active}"},
        403,
    ),
    (
        "join-as-guest-uninvited",
        "POST",
        S + "/join-as-guest",
        {"liveStreamId": "{other_active}"},
        403,
    ),
    (
        "renew-token-never-joined",
        "POST",
        S + "/renew-token",
        {"liveStreamId": "{other_active}"},
        403,
    ),
    ("leave-never-joined", "POST", S + "/leave", {"liveStreamId": "{other_active}"}, 403),
    (
        "statistics-of-another-creators-stream",
        "GET",
        "/api/v1/participant/stream/{other_active}/statistics",
        None,
        403,
    ),
    (
        "check-another-users-ban-elsewhere",
        "GET",
        BANS + "/check/{bystander}?liveStreamId={other_scheduled}",
        None,
        403,
    ),
    (
        "gift-to-own-stream",
        "POST",
        "/api/v1/gifts/create",
        {"giftTypeId": "{gift_type}", "liveStreamId": "{my_active}"},
        403,
    ),
    (
        "gift-to-a-stream-never-joined",
        "POST",
        "/api/v1/gifts/create",
        {"giftTypeId": "{gift_type}", "liveStreamId": "{other_active}"},
        403,
    ),
    (
        "gift-as-an-invited-guest",
        "POST",
        "/api/v1/gifts/create",
        {"giftTypeId": "{gift_type}", "liveStreamId": "{duo_live}"},
        403,
    ),
    ("report-own-stream", "POST", "/api/v1/live-stream-reports/{my_active}", {"type": "spam"}, 403),
    (
        "a-ban-id-as-a-report-stream",
        "POST",
        "/api/v1/live-stream-reports/{my_ban}",
        {"type": "spam"},
        404,
    ),
    (
        "a-stream-id-as-a-gift-type",
        "POST",
        "/api/v1/gifts/create",
        {"giftTypeId": "{other_active}", "liveStreamId": "{other_active}"},
        404,
    ),
    ("a-stream-id-as-a-user-id", "GET", S + "/user/{other_active}/past-streams", None, 404),
    (
        "a-deactivated-users-upcoming-streams",
        "GET",
        S + "/user/{deactivated}/upcoming-live-streams",
        None,
        404,
    ),
    ("a-ban-id-as-a-stream-id", "GET", S + "/{my_ban}", None, 404),
    ("a-user-id-as-a-stream-id", "POST", S + "/{other}/end", None, 404),
    ("a-stream-id-as-a-ban-id", "DELETE", BANS + "/{other_scheduled}", None, 404),
]


def with_ids(template, world):
    """`template` with every "{name}" replaced by the id of `world.<name>`."""
    if isinstance(template, dict):
        return {key: with_ids(value, world) for key, value in template.items()}
    if isinstance(template, str):
        ids = {name: getattr(value, "pk", None) for name, value in vars(world).items()}
        return template.format(**ids)
    return template


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [pytest.param(*row[1:], id=row[0]) for row in BOLA],
)
def test_another_users_object_is_out_of_reach(world, unchanged, method, path, body, status):
    """The caller (`me`) aims at objects of another creator, or at its own where the
    rule says no; 403 where the object may be seen, 404 where it may not."""
    url = with_ids(path, world)
    response = send_json(client_of(world.me), method, url, with_ids(body, world) or b"")
    assert_error(response, status)


def test_a_removed_stream_of_another_creator_is_a_404_to_the_caller(world, media_root):
    LiveStream.objects.filter(pk=world.other_ended.pk).update(deleted_at=timezone.now())
    before = world_snapshot()
    for method, url in [
        ("GET", f"/api/v1/live-stream/{world.other_ended.pk}"),
        ("POST", f"/api/v1/live-stream/{world.other_ended.pk}/replay-rentals"),
        ("DELETE", f"/api/v1/live-stream/{world.other_ended.pk}"),
    ]:
        assert_error(send_json(client_of(world.me), method, url, b""), 404)
    assert world_snapshot() == before
    assert media_files(media_root) == []


def test_a_banned_user_cannot_lift_their_own_ban(world, unchanged):
    response = client_of(world.victim).delete(f"/api/v1/live-stream-ban/{world.my_ban.pk}")
    assert_error(response, 403)


# --- Server-owned fields (mass assignment) ------------------------------------------------


def test_server_owned_fields_in_a_create_are_ignored(world, media_root):
    client = client_of(world.newcomer)
    planted = timezone.now() - timedelta(days=3)
    body = {
        "title": "Owned by the server",
        "id": "0123456789abcdef01234567",
        "_id": "0123456789abcdef01234567",
        "status": "ended",
        "collectedFunding": 5000,
        "collected_funding": 5000,
        "fundingPercentage": 100,
        "creator": world.other.pk,
        "creator_id": world.other.pk,
        "channelName": "hijacked-channel",
        "channel_name": "hijacked-channel",
        "recordingUrl": "https://evil.example.com/r.mp4",
        "recording_url": "https://evil.example.com/r.mp4",
        "thumbnailUrl": "https://evil.example.com/t.png",
        "startedAt": planted.isoformat(),
        "endedAt": planted.isoformat(),
        "createdAt": planted.isoformat(),
        "deletedAt": planted.isoformat(),
        "role": "host",
        "accessType": "paid",
        "broadcasters": [{"user": world.other.pk, "role": "host", "uid": 1}],
        "replayAccess": {"status": "owner", "canViewRecording": True},
        "miniCrowdFundings": [{"title": "x", "goal": 1, "collected": 1}],
    }
    data = assert_envelope(send_json(client, "POST", CREATE_URL, body), 201)
    stream = LiveStream.objects.get(pk=data["id"])
    assert data["id"] != "0123456789abcdef01234567"
    assert data["status"] == "preparing" == stream.status
    assert data["collectedFunding"] == 0 and stream.collected_funding == 0
    assert data["fundingPercentage"] == 0
    assert data["creator"]["_id"] == world.newcomer.pk == stream.creator_id
    assert data["channelName"].startswith("owned-by-the-server-")
    assert data["recordingUrl"] is None and stream.recording_url is None
    assert data["thumbnailUrl"].endswith("default-thumbnail.png")
    assert data["startedAt"] is None and data["endedAt"] is None
    assert stream.started_at is None and stream.ended_at is None and stream.deleted_at is None
    assert stream.created_at > planted + timedelta(days=2)
    assert data["accessType"] == "free" and data["broadcasters"][0]["user"] == world.newcomer.pk
    assert data["miniCrowdFundings"] == []
    assert media_files(media_root) == []


def test_server_owned_fields_in_a_registration_are_ignored(world):
    body = register_body(
        credit_balance=1_000_000,
        creditBalance=1_000_000,
        is_staff=True,
        isStaff=True,
        is_superuser=True,
        isSuperuser=True,
        is_active=False,
        agora_uid=1,
        agoraUid=1,
        availabilityStatus="busy",
        _id="0123456789abcdef01234567",
        id="0123456789abcdef01234567",
        groups=[1],
        user_permissions=[1],
    )
    data = assert_envelope(send_json(APIClient(), "POST", REGISTER_URL, body), 201)
    user = User.objects.get(username="fresh.user")
    assert data["user"]["creditBalance"] == 0 and user.credit_balance == 0
    assert not user.is_staff and not user.is_superuser and user.is_active
    assert user.pk != "0123456789abcdef01234567" and user.agora_uid != 1
    assert user.groups.count() == 0 and user.user_permissions.count() == 0
    assert data["user"]["availabilityStatus"] == user.availability_status
    assert not CreditTransaction.objects.filter(user=user).exists()


def test_server_owned_fields_in_the_replay_settings_are_ignored(world):
    url = f"/api/v1/live-stream/{world.my_active.pk}/replay-settings"
    body = {
        "replayCreditPrice": 2.5,
        "status": "ended",
        "recordingUrl": "https://evil.example.com/r.mp4",
        "collectedFunding": 999,
        "creator": world.other.pk,
        "title": "Renamed",
    }
    data = assert_envelope(send_json(client_of(world.me), "PATCH", url, body), 200)
    stream = LiveStream.objects.get(pk=world.my_active.pk)
    assert data["replayCreditPrice"] == 2.5
    assert (stream.status, stream.title, stream.creator_id) == (
        LiveStreamStatus.ACTIVE,
        world.my_active.title,
        world.me.pk,
    )
    assert stream.recording_url is None and stream.collected_funding == 0


def test_replay_settings_without_a_body_change_nothing(world):
    url = f"/api/v1/live-stream/{world.my_active.pk}/replay-settings"
    before = LiveStream.objects.get(pk=world.my_active.pk)
    answer = client_of(world.me).patch(url)
    assert_envelope(answer, 400)
    refusal = "Send isActiveReplayOnCreatorProfile and/or replayCreditPrice."
    assert refusal in answer.json()["errors"]
    after = LiveStream.objects.get(pk=world.my_active.pk)
    assert (after.replay_credit_price, after.is_active_replay_on_creator_profile) == (
        before.replay_credit_price,
        before.is_active_replay_on_creator_profile,
    )
    assert after.updated_at == before.updated_at


@pytest.mark.parametrize("value", ["", "yes", 1])
def test_a_replay_switch_that_is_not_a_json_boolean_changes_nothing(world, value):
    url = f"/api/v1/live-stream/{world.my_active.pk}/replay-settings"
    before = LiveStream.objects.get(pk=world.my_active.pk)
    body = {"replayCreditPrice": 0, "isActiveReplayOnCreatorProfile": value}
    answer = send_json(client_of(world.me), "PATCH", url, body)
    assert_envelope(answer, 400)
    assert "isActiveReplayOnCreatorProfile: Must be a valid boolean." in answer.json()["errors"]
    after = LiveStream.objects.get(pk=world.my_active.pk)
    assert (after.replay_credit_price, after.updated_at) == (
        before.replay_credit_price,
        before.updated_at,
    )


def test_server_owned_fields_in_a_contribution_are_ignored(world):
    url = f"/api/v1/live-stream/{world.other_scheduled.pk}/fund"
    body = {"amount": 4, "status": "refunded", "user": world.other.pk, "liveStreamId": "x" * 24}
    data = assert_envelope(send_json(client_of(world.me), "POST", url, body), 201)
    contribution = Contribution.objects.get()
    assert (contribution.user_id, contribution.status, contribution.amount) == (
        world.me.pk,
        "completed",
        4,
    )
    assert data["contribution"]["liveStreamId"] == world.other_scheduled.pk


def test_server_owned_fields_in_a_ban_are_ignored(world):
    body = {
        "liveStreamId": world.my_active.pk,
        "targetUserId": world.bystander.pk,
        "actionType": "CHAT_ONLY",
        "createdBy": world.other.pk,
        "liftedAt": timezone.now().isoformat(),
        "isActive": False,
    }
    data = assert_envelope(
        send_json(client_of(world.me), "POST", "/api/v1/live-stream-ban", body), 200
    )
    ban = LiveStreamBan.objects.get(pk=data["id"])
    assert (ban.created_by_id, ban.lifted_at) == (world.me.pk, None)
    assert data["isActive"] is True


def test_server_owned_fields_in_a_report_are_ignored(world):
    url = f"/api/v1/live-stream-reports/{world.other_active.pk}"
    body = {
        "type": "spam",
        "status": "resolved",
        "reporterId": world.other.pk,
        "liveStreamId": world.my_active.pk,
        "_id": "0123456789abcdef01234567",
        "note": "closed already",
    }
    data = assert_envelope(send_json(client_of(world.me), "POST", url, body), 201)
    report = StreamReport.objects.get()
    assert (report.status, report.reporter_id, report.live_stream_id, report.note) == (
        "open",
        world.me.pk,
        world.other_active.pk,
        "",
    )
    assert data["_id"] == report.pk != "0123456789abcdef01234567"


def test_server_owned_fields_in_a_gift_are_ignored(world):
    livestream_join_as_audience(user=world.me, live_stream_id=world.other_active.pk)
    balance = User.objects.get(pk=world.me.pk).credit_balance
    body = {
        "giftTypeId": world.gift_type.pk,
        "liveStreamId": world.other_active.pk,
        "creditAmount": 0.01,
        "price": 0,
        "senderId": world.other.pk,
        "count": 100,
    }
    assert_envelope(send_json(client_of(world.me), "POST", "/api/v1/gifts/create", body), 201)
    gift = Gift.objects.get()
    assert (gift.sender_id, gift.credit_amount) == (world.me.pk, 2)
    assert User.objects.get(pk=world.me.pk).credit_balance == balance - 2


def test_server_owned_fields_in_a_reminder_are_ignored(world):
    url = f"/api/v1/live-stream/{world.my_scheduled.pk}/reminder"
    body = {"minute": 10, "mode": "ON_START", "status": "FIRED", "scheduledFor": "2020-01-01"}
    data = assert_envelope(send_json(client_of(world.me), "POST", url, body), 200)
    assert (data["mode"], data["status"]) == ("BEFORE_START", "ARMED")
    reminder = StreamReminder.objects.get()
    assert (reminder.user_id, reminder.state) == (world.me.pk, "armed")


# --- Forged and unusable JWTs -----------------------------------------------------------


def _claims(user_id, **extra) -> dict:
    now = timezone.now()
    claims = {
        "token_type": "access",
        "exp": int((now + timedelta(minutes=30)).timestamp()),
        "iat": int(now.timestamp()),
        "jti": "0" * 32,
        "sub": user_id,
    }
    claims.update(extra)
    return claims


def _signed(claims, key=None, algorithm="HS256", headers=None) -> str:
    with warnings.catch_warnings():  # the development key is short for HS512: that is fine here
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(
            claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm, headers=headers
        )


def _unsigned(claims) -> str:
    return jwt.encode(claims, None, algorithm="none")


def _alg_none_relabelled(user) -> str:
    """A genuine token whose header is rewritten to `none` and its signature dropped."""
    import base64

    token = str(AccessToken.for_user(user))
    _header, payload, _signature = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{payload}."


JWT_CASES = {
    "alg-none": lambda w: _unsigned(_claims(w.newcomer.pk)),
    "alg-none-relabelled": lambda w: _alg_none_relabelled(w.newcomer),
    "another-key": lambda w: _signed(_claims(w.newcomer.pk), key="not-the-signing-key-" * 3),
    "hs512-with-the-right-key": lambda w: _signed(_claims(w.newcomer.pk), algorithm="HS512"),
    "expired": lambda w: _signed(
        _claims(w.newcomer.pk, exp=int((timezone.now() - timedelta(seconds=5)).timestamp()))
    ),
    "refresh-used-as-access": lambda w: str(RefreshToken.for_user(w.newcomer)),
    "refresh-claims-as-access": lambda w: _signed(_claims(w.newcomer.pk, token_type="refresh")),
    "no-token-type": lambda w: _signed(
        {k: v for k, v in _claims(w.newcomer.pk).items() if k != "token_type"}
    ),
    "deactivated-user": lambda w: str(AccessToken.for_user(w.deactivated)),
    "sub-names-no-user": lambda w: _signed(_claims("64d15f9e2e6c8f4d5a123456")),
    "sub-malformed": lambda w: _signed(_claims("not-an-object-id")),
    "sub-sql-injection": lambda w: _signed(_claims("' OR 1=1 --")),
    "sub-integer": lambda w: _signed(_claims(12345)),
    "sub-object": lambda w: _signed(_claims({"$ne": None})),
    "sub-nul": lambda w: _signed(_claims("\x00")),
    "sub-id-with-a-nul": lambda w: _signed(_claims(w.newcomer.pk[:23] + "\x00")),
    "sub-missing": lambda w: _signed(
        {k: v for k, v in _claims(w.newcomer.pk).items() if k != "sub"}
    ),
    "tampered-payload": lambda w: _tampered(w),
    "garbage": lambda w: "not.a.jwt",
    "empty": lambda w: "",
}


def _tampered(w) -> str:
    """The newcomer's genuine token with the payload swapped for the other user's."""
    import base64

    token = str(AccessToken.for_user(w.newcomer))
    header, _payload, signature = token.split(".")
    forged = json.dumps(_claims(w.other.pk)).encode()
    payload = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


@pytest.mark.parametrize("make_token", JWT_CASES.values(), ids=JWT_CASES.keys())
def test_an_unusable_access_token_is_a_401(world, unchanged, make_token):
    client = client_with_token(make_token(world))
    assert_error(send_json(client, "POST", CREATE_URL, {"title": "Should not exist"}), 401)
    assert_error(client.get(ME_URL), 401)


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer  ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b", "bearer x.y.z"],
)
def test_a_malformed_authorization_header_is_a_401(world, unchanged, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(send_json(client, "POST", CREATE_URL, {"title": "Should not exist"}), 401)


def _refresh_claims(user_id, **extra) -> dict:
    return _claims(user_id, token_type="refresh", jti=uuid.uuid4().hex, **extra)


REFRESH_CASES = {
    "alg-none": lambda w: _unsigned(_refresh_claims(w.newcomer.pk)),
    "another-key": lambda w: _signed(
        _refresh_claims(w.newcomer.pk), key="not-the-signing-key-" * 4
    ),
    "expired": lambda w: _signed(
        _refresh_claims(w.newcomer.pk, exp=int((timezone.now() - timedelta(seconds=5)).timestamp()))
    ),
    "access-used-as-refresh": lambda w: str(AccessToken.for_user(w.newcomer)),
    "sub-malformed": lambda w: _signed(_refresh_claims("not-an-object-id")),
    "sub-nul": lambda w: _signed(_refresh_claims("\x00")),
    "sub-id-with-a-nul": lambda w: _signed(_refresh_claims(w.newcomer.pk[:23] + "\x00")),
    "sub-integer": lambda w: _signed(_refresh_claims(12345)),
    "garbage": lambda w: "not.a.jwt",
}


@pytest.mark.parametrize("make_token", REFRESH_CASES.values(), ids=REFRESH_CASES.keys())
@pytest.mark.parametrize("url", ["/api/v1/auth/refresh", "/api/v1/auth/logout"])
def test_an_unusable_refresh_token_is_a_401_and_revokes_nothing(world, unchanged, make_token, url):
    blacklisted = BlacklistedToken.objects.count()
    response = send_json(APIClient(), "POST", url, {"refreshToken": make_token(world)})
    assert_error(response, 401)
    assert BlacklistedToken.objects.count() == blacklisted


def test_a_refresh_token_of_a_deactivated_user_is_a_401(world, unchanged):
    token = str(RefreshToken.for_user(world.deactivated))
    blacklisted = BlacklistedToken.objects.count()
    response = send_json(APIClient(), "POST", "/api/v1/auth/refresh", {"refreshToken": token})
    assert_error(response, 401)
    assert BlacklistedToken.objects.count() == blacklisted


# --- The Agora webhook: signed, but never trusted blindly ---------------------------------

NCS_SECRET = "hostile-ncs-secret"


def post_notice(body: bytes, signature: str | None = None):
    signature = signature or hmac.new(NCS_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return APIClient().generic(
        "POST", "/api/v1/agora/events", body, content_type=JSON, HTTP_AGORA_SIGNATURE_V2=signature
    )


def _notice(**fields) -> dict:
    """A well-formed notice (a broadcaster joined), with `fields` changed."""
    notice = {
        "noticeId": "n1",
        "productId": 1,
        "eventType": 103,
        "notifyMs": 1,
        "payload": {"channelName": "c", "uid": 1, "clientSeq": 1, "ts": 1},
    }
    notice.update(fields)
    return notice


NUL_PAYLOAD = {"channelName": "c", "uid": 1, "clientSeq": 1}


@pytest.mark.parametrize(
    "notice",
    [
        pytest.param(_notice(noticeId="a\x00b"), id="notice-id"),
        pytest.param(_notice(payload={**NUL_PAYLOAD, "channelName": "c\x00"}), id="channel-name"),
        pytest.param(_notice(payload={**NUL_PAYLOAD, "extra": "\x00"}), id="payload-value"),
        pytest.param(_notice(payload={**NUL_PAYLOAD, "\x00": 1}), id="payload-key"),
        pytest.param(_notice(payload={**NUL_PAYLOAD, "a": [[["\x00"]]]}), id="nested"),
        pytest.param(_notice(eventType=999, payload={"x": "\x00"}), id="unhandled-event"),
    ],
)
def test_a_signed_notice_with_a_nul_character_is_a_400(world, unchanged, settings, notice):
    settings.AGORA_NCS_SECRET = NCS_SECRET
    assert_error(post_notice(json.dumps(notice).encode()), 400, contains="NUL")
    assert not AgoraNotice.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"noticeId": "\\ud800", "eventType": 101, "payload": {}}', id="notice-id"),
        pytest.param(
            b'{"noticeId": "n1", "eventType": 103, "payload": {"channelName": "c\\udfff", '
            b'"uid": 1, "clientSeq": 1}}',
            id="channel-name",
        ),
        pytest.param(
            b'{"noticeId": "n1", "eventType": 7, "payload": {"\\udbff": [["x"]]}}',
            id="unhandled-event-key",
        ),
    ],
)
def test_a_signed_notice_with_a_lone_surrogate_is_a_400(world, unchanged, settings, body):
    # Issue 10, finding 3: valid JSON, but no Unicode text; it was stored and a 500.
    settings.AGORA_NCS_SECRET = NCS_SECRET
    assert_error(post_notice(body), 400, contains="lone surrogate")
    assert not AgoraNotice.objects.exists()


def test_a_deeply_nested_signed_notice_is_a_400(world, unchanged, settings):
    settings.AGORA_NCS_SECRET = NCS_SECRET
    body = ('{"noticeId": "n1", "eventType": 103, "payload": ' + nested(10_000) + "}").encode()
    assert_error(post_notice(body), 400, contains="not valid JSON")
    assert not AgoraNotice.objects.exists()


def test_a_notice_signed_with_another_secret_is_a_401(world, unchanged, settings):
    settings.AGORA_NCS_SECRET = NCS_SECRET
    body = json.dumps({"noticeId": "n1", "eventType": 101, "payload": {}}).encode()
    forged = hmac.new(b"another-secret", body, hashlib.sha256).hexdigest()
    assert_error(post_notice(body, forged), 401)
    assert not AgoraNotice.objects.exists()


# --- Issue 10: what the service accepts it can read back --------------------------------
# (Each finding has its own file with the whole story: test_out_of_range_dates.py,
# test_money_input.py, test_uploads.py, test_pre_view_errors.py, test_nginx_proxy.py,
# test_cache_hang.py, test_login_limits.py, test_admin_money.py; the rows below keep
# the table complete.)

LISTS = [
    "/api/v1/live-stream",
    "/api/v1/live-stream/funded",
    "/api/v1/live-stream/my-replay-rentals",
    "/api/v1/users/me/transactions",
]
PAGING = {
    "page-empty": "page=",
    "limit-empty": "limit=",
    "page-repeated": "page=1&page=2",
    "limit-repeated": "limit=5&limit=50",
    "page-object": "page[a]=1",
    "limit-object": "limit.x=1",
    "page-decimal": "page=1.5",
    "page-plus": "page=%2B2",
    "page-space": "page=%201",
    "page-arabic-indic-digit": "page=%D9%A2",
    "limit-full-width-digit": "limit=%EF%BC%95",
    "limit-exponent": "limit=1e2",
    "page-huge": "page=" + "9" * 5000,
}


@pytest.mark.parametrize("query", PAGING.values(), ids=PAGING.keys())
@pytest.mark.parametrize("url", LISTS)
def test_a_paging_parameter_that_is_not_one_whole_number_is_a_400(world, unchanged, url, query):
    response = client_of(world.me).get(f"{url}?{query}")
    field = query.split("=")[0].split("[")[0].split(".")[0]
    assert_error(response, 400, contains=f"{field}: ")


# A filter given empty is refused, never read as "no filter" (DRF's form reading
# would); a list filter alone may be repeated. (GET /live-stream's own filters are
# the exception its schema states: empty there means no filter, as apps send it.)
EMPTY_FILTERS = {
    "guest-streams-status": "/api/v1/live-stream/guest-streams?status=",
    "guest-streams-sort": "/api/v1/live-stream/guest-streams?sortBy=",
    "ban-target": "/api/v1/live-stream-ban?targetUserId=",
    "ban-action": "/api/v1/live-stream-ban?actionType=",
    "transactions-sort": "/api/v1/users/me/transactions?sort=",
    "transactions-direction": "/api/v1/users/me/transactions?direction=",
    "catch-streamers-limit": "/api/v1/live-stream/catch-streamers?limit=",
    "upcoming-hours": "/api/v1/live-stream/user/{other}/upcoming-live-streams?hoursAfter=",
}


@pytest.mark.parametrize("url", EMPTY_FILTERS.values(), ids=EMPTY_FILTERS.keys())
def test_an_empty_filter_is_a_400(world, unchanged, url):
    url = url.format(other=world.other.pk)
    field = url.rsplit("?", 1)[1].split("=")[0]
    assert_error(client_of(world.me).get(url), 400, contains=f"{field}: ")


def test_a_list_filter_may_be_repeated(world):
    response = client_of(world.me).get(
        "/api/v1/users/me/transactions?types=gift_spend&types=replay_rental"
    )
    assert response.status_code == 200, response.content


PLANNED_DATES = {
    "year-10000-in-utc": "9999-12-31T23:59:59-14:00",
    "year-0-in-utc": "0001-01-01T00:00:00+14:00",
    "before-2000": "1999-12-31T23:59:59Z",
    "next-century": "2100-01-01T00:00:01Z",
    "naive": "2026-06-01T10:00:00",
    "date-only": "2026-06-01",
    "week-date": "2026-W23-1T10:00:00Z",
    "compact": "20260601T100000Z",
    "full-width-digits": "\uff12\uff10\uff12\uff16-06-01T10:00:00Z",
    "leap-second": "2026-06-30T23:59:60Z",
    "offset-24h": "2026-06-01T10:00:00+24:00",
    "number": 1780000000,
}


@pytest.mark.parametrize("value", PLANNED_DATES.values(), ids=PLANNED_DATES.keys())
@pytest.mark.parametrize("field", ["plannedStartDate", "plannedEndDate"])
def test_a_planned_date_outside_the_window_or_not_rfc_3339_is_a_400(world, unchanged, field, value):
    response = send_json(
        client_of(world.newcomer), "POST", CREATE_URL, {"title": "T", field: value}
    )
    assert_error(response, 400, contains=f"{field}: ")


MONEY_IN_JSON = {
    "exponent-string": "1e2",
    "arabic-indic-string": "\u0661\u0662",
    "full-width-string": "\uff15",
    "digits-string": "12",
    "empty-string": "",
    "three-decimals": 1.234,
    "thirteen-digits": 12345678901.5,
    "huge-integer": 10**40,
    "negative": -1,
    "boolean": True,
    "list": [5],
    "object": {"amount": 5},
}


@pytest.mark.parametrize("amount", MONEY_IN_JSON.values(), ids=MONEY_IN_JSON.keys())
def test_a_contribution_that_is_not_a_plain_json_amount_is_a_400(world, unchanged, amount):
    url = f"/api/v1/live-stream/{world.other_scheduled.pk}/fund"
    response = send_json(client_of(world.me), "POST", url, {"amount": amount})
    assert_error(response, 400, contains="amount: ")


@pytest.mark.parametrize("field", ["price", "fundingGoal", "replayCreditPrice"])
@pytest.mark.parametrize("value", ["1e2", "\u0661\u0662", "\uff15", "7,50", "1 000", "0x10", "NaN"])
def test_money_in_a_multipart_create_is_plain_digits_or_a_400(world, unchanged, field, value):
    response = client_of(world.newcomer).post(
        CREATE_URL, {"title": "Money", field: value}, format="multipart"
    )
    assert_error(response, 400, contains=f"{field}: ")


def test_replay_settings_need_a_field(world, unchanged):
    url = f"/api/v1/live-stream/{world.my_ended.pk}/replay-settings"
    for body in ({}, {"unknown": 1}):
        assert_error(send_json(client_of(world.me), "PATCH", url, body), 400)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(
            lambda: __import__("tests.security.test_uploads", fromlist=["x"]).png_declaring(
                6000, 6600
            ),
            "decoded whole",
            id="attack-png-6000x6600",
        ),
        pytest.param(lambda: b"", "empty", id="empty-file"),
    ],
)
def test_an_image_over_the_decode_budget_or_empty_is_a_400_and_leaves_no_file(
    world, unchanged, make, says
):
    thumbnail = SimpleUploadedFile("t.png", make(), content_type="image/png")
    response = client_of(world.newcomer).post(
        CREATE_URL, {"title": "Image", "thumbnail": thumbnail}, format="multipart"
    )
    assert_error(response, 400, contains=says)


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "[::1]:80@evil"])
def test_a_host_header_not_allowed_is_a_400_envelope(world, unchanged, host):
    response = client_of(world.me).get("/api/v1/auth/me", HTTP_HOST=host)
    assert_error(response, 400, contains="Host header")


def test_a_distributed_guess_at_one_account_is_stopped(world, unchanged, settings):
    settings.LOGIN_ACCOUNT_MAX_FAILURES = 3
    for n in range(3):
        response = APIClient().post(
            "/api/v1/auth/login",
            {"login": world.victim.username, "password": "guess"},
            format="json",
            REMOTE_ADDR=f"198.51.100.{n + 1}",
        )
        assert_error(response, 401)
    response = APIClient().post(
        "/api/v1/auth/login",
        {"login": world.victim.username, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="198.51.100.99",
    )
    assert_error(response, 429)
