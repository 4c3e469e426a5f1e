"""Every write endpoint of the API, with values at and beyond its fields' edges:
refused cleanly, or accepted and readable everywhere (tests/properties/conftest.py)."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import assume, event, given
from hypothesis import strategies as st
from PIL import Image

from accounts.models import CreditTransaction, ProfilePhoto, User
from livestreams.models import Contribution, LiveStream, LiveStreamBan
from tests.api import assert_envelope
from tests.properties import strategies as edge
from tests.properties.conftest import PROFILE, media_files
from tests.properties.support import (
    Outcome,
    client_of,
    parse_timestamp,
    post_json,
    read_stream_everywhere,
    same_to_the_millisecond,
)

CREATE_URL = "/api/v1/live-stream/create"
MAX_PRICE = Decimal(settings.LIVESTREAM_MAX_PRICE)
MAX_GOAL = Decimal(settings.LIVESTREAM_MAX_FUNDING_GOAL)
NOW = timezone.now()


def valid_dates():
    low, high = NOW - timedelta(days=3000), NOW + timedelta(days=300)
    return st.datetimes(
        min_value=low.replace(tzinfo=None), max_value=high.replace(tzinfo=None)
    ).map(lambda d: d.replace(tzinfo=timezone.get_current_timezone()).isoformat())


def create_bodies(guest_ids: list[str]):
    """Create bodies: mostly sensible fields, each now and then at or past an edge."""
    interests = settings.LIVESTREAM_INTERESTS
    return st.fixed_dictionaries(
        {"title": st.one_of(st.text(min_size=1, max_size=60), edge.text(100))},
        optional={
            "liveStreamType": st.sampled_from(["solo", "duocrowd", "duoself", "trio", ""]),
            "guests": st.one_of(
                st.lists(st.sampled_from(guest_ids), max_size=3),
                st.lists(st.text(max_size=30), max_size=2),
                st.just(["64d15f9e2e6c8f4d5a123456"]),
            ),
            "price": st.one_of(st.decimals(0, 50, places=2).map(float), edge.json_money(MAX_PRICE)),
            "fundingGoal": edge.json_money(MAX_GOAL),
            "replayCreditPrice": edge.json_money(MAX_PRICE),
            "interest": st.one_of(st.sampled_from([*interests, "", "cooking"]), st.none()),
            "durationGoal": st.one_of(st.integers(-2, 1442), st.none(), st.just("60")),
            "motivation": st.one_of(st.none(), edge.text(1000)),
            "plannedStartDate": st.one_of(
                valid_dates(), edge.planned_dates(NOW, settings.LIVESTREAM_MAX_SCHEDULE_DAYS)
            ),
            "plannedEndDate": st.one_of(
                valid_dates(), edge.planned_dates(NOW, settings.LIVESTREAM_MAX_SCHEDULE_DAYS)
            ),
            "recording": st.one_of(st.booleans(), st.just("yes")),
            "isActiveReplayOnCreatorProfile": st.one_of(st.booleans(), st.none()),
        },
    )


def _as_form(body: dict) -> dict:
    """The same fields as a multipart form sends them: text (lists repeated)."""
    form = {}
    for key, value in body.items():
        if value is None:
            form[key] = ""
        elif isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif isinstance(value, list):
            form[key] = [str(v) for v in value]
        elif isinstance(value, float):
            form[key] = repr(value)
        else:
            form[key] = str(value)
    return form


def _check_created(data: dict, body: dict) -> None:
    """What was accepted is what is shown (trimmed text, UTC times, money numbers)."""
    assert data["title"] == body["title"].strip()
    for field in ("plannedStartDate", "plannedEndDate"):
        if isinstance(body.get(field), str) and body[field]:
            sent = parse_timestamp(body[field].strip())
            assert same_to_the_millisecond(sent, data[field]), (body[field], data[field])
    for field in ("price", "fundingGoal", "replayCreditPrice"):
        if isinstance(body.get(field), int | float) and body[field]:
            assert Decimal(str(data[field])) == Decimal(str(body[field])), field


@PROFILE
@given(body=st.data(), form=st.booleans())
@pytest.mark.django_db
def test_a_create_is_refused_cleanly_or_readable_everywhere(
    world, admin_client, example, media_root, body, form
):
    guests = [world.other.pk, world.victim.pk, world.bystander.pk, world.deactivated.pk]
    drawn = body.draw(create_bodies(guests))
    client = client_of(world.newcomer)
    with example():
        outcome = Outcome(lambda: media_files(media_root))
        if form:
            payload = _as_form(drawn)
            payload["thumbnail"] = SimpleUploadedFile("t.png", _png(), content_type="image/png")
            response = client.post(CREATE_URL, payload, format="multipart")
        else:
            response = post_json(client, CREATE_URL, drawn)
        if response.status_code == 201:
            event("accepted")
            created = assert_envelope(response, 201)
            shown = read_stream_everywhere(client, admin_client, created["id"])
            assert shown["id"] == created["id"]
            if not form:
                _check_created(shown, drawn)
            assert LiveStream.objects.filter(pk=created["id"]).exists()
        else:
            event(f"refused {response.status_code} {refused_fields(response)}")
            outcome.refused(response)


def refused_fields(response) -> list[str]:
    """The fields a refusal names (for hypothesis' statistics)."""
    return sorted({entry.split(":")[0] for entry in response.json()["errors"][1:]})


def _png(size=(4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, "PNG")
    return buffer.getvalue()


@PROFILE
@given(amount=edge.json_money(MAX_GOAL))
@pytest.mark.django_db
def test_a_contribution_is_refused_cleanly_or_on_every_ledger(
    world, admin_client, example, media_root, amount
):
    client = client_of(world.me)
    url = f"/api/v1/live-stream/{world.other_scheduled.pk}/fund"
    with example():
        outcome = Outcome(lambda: media_files(media_root))
        balance = User.objects.get(pk=world.me.pk).credit_balance
        response = post_json(client, url, {"amount": amount})
        if response.status_code == 201:
            event("accepted")
            data = assert_envelope(response, 201)
            paid = Decimal(str(data["contribution"]["amount"]))
            assert paid == Decimal(str(amount)) and paid > 0
            assert User.objects.get(pk=world.me.pk).credit_balance == balance - paid
            assert Contribution.objects.filter(user=world.me).count() == 1
            shown = read_stream_everywhere(client, admin_client, world.other_scheduled.pk)
            assert Decimal(str(shown["collectedFunding"])) == paid
            ledger = assert_envelope(client.get("/api/v1/users/me/transactions"), 200)
            # Transactions show a positive amount and its direction (API-more §13).
            assert any(
                Decimal(str(t["amount"])) == paid and t["direction"] == "debit"
                for t in ledger["list"]
            )
            assert admin_client.get("/admin/livestreams/contribution/").status_code == 200
            assert admin_client.get("/admin/accounts/credittransaction/").status_code == 200
        else:
            event(f"refused {response.status_code} {refused_fields(response)}")
            outcome.refused(response)


@PROFILE
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "isActiveReplayOnCreatorProfile": st.one_of(st.booleans(), st.none(), st.just("x")),
            "replayCreditPrice": st.one_of(
                st.decimals(0, 100, places=2).map(float), edge.json_money(MAX_PRICE)
            ),
            "title": st.text(max_size=5),
        },
    )
)
@pytest.mark.django_db
def test_replay_settings_are_refused_cleanly_or_readable_everywhere(
    world, admin_client, example, media_root, body
):
    client = client_of(world.me)
    url = f"/api/v1/live-stream/{world.my_ended.pk}/replay-settings"
    with example():
        outcome = Outcome(lambda: media_files(media_root))
        response = post_json(client, url, body, method="PATCH")
        if response.status_code == 200:
            event("accepted")
            assert_envelope(response, 200)
            shown = read_stream_everywhere(client, admin_client, world.my_ended.pk)
            if isinstance(body.get("replayCreditPrice"), int | float):
                sent = Decimal(str(body["replayCreditPrice"]))
                assert Decimal(str(shown["replayCreditPrice"])) == sent
        else:
            event(f"refused {response.status_code} {refused_fields(response)}")
            outcome.refused(response)


@PROFILE
@given(
    target=st.sampled_from(["victim", "bystander", "other", "me", "deactivated", "nobody", "bad"]),
    action=st.sampled_from(["BLOCK", "CHAT_ONLY", "block", "", "MUTE"]),
    reason=st.one_of(st.none(), edge.text(500)),
)
@pytest.mark.django_db
def test_a_ban_is_refused_cleanly_or_readable_everywhere(
    world, admin_client, example, media_root, target, action, reason
):
    ids = {
        "nobody": "64d15f9e2e6c8f4d5a123456",
        "bad": "not-an-id",
        **{name: getattr(world, name).pk for name in ("victim", "bystander", "other", "me")},
        "deactivated": world.deactivated.pk,
    }
    body = {
        "liveStreamId": world.my_scheduled.pk,
        "targetUserId": ids[target],
        "actionType": action,
    }
    if reason is not None:
        body["reason"] = reason
    client = client_of(world.me)
    with example():
        outcome = Outcome(lambda: media_files(media_root))
        response = post_json(client, "/api/v1/live-stream-ban", body)
        if response.status_code == 200:  # the reference's Ban answer (API-more §14)
            event("accepted")
            ban = assert_envelope(response, 200)
            assert ban["reason"] == (reason or "").strip()
            listed = assert_envelope(
                client.get(f"/api/v1/live-stream-ban?liveStreamId={world.my_scheduled.pk}"), 200
            )
            assert ban["_id"] in [b["_id"] for b in listed["list"]]
            assert LiveStreamBan.objects.filter(pk=ban["_id"]).exists()
            assert admin_client.get("/admin/livestreams/livestreamban/").status_code == 200
            read_stream_everywhere(client, admin_client, world.my_scheduled.pk)
        else:
            event(f"refused {response.status_code} {refused_fields(response)}")
            outcome.refused(response)


def images():
    """Uploads: real images of every accepted format and mode at small sizes, and
    files that only look like one (truncated, empty, another format, no image)."""

    def encode(fmt, mode, size):
        image = Image.new(mode, size)
        buffer = io.BytesIO()
        try:
            image.save(buffer, fmt)
        except (OSError, ValueError):  # a mode the format cannot hold: as RGB
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, fmt)
        return buffer.getvalue()

    real = st.builds(
        encode,
        st.sampled_from(["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"]),
        st.sampled_from(["RGB", "RGBA", "L", "P", "1", "CMYK"]),
        st.tuples(st.integers(1, 120), st.integers(1, 120)),
    )
    return st.one_of(
        real,
        real.map(lambda data: data[: max(1, len(data) // 2)]),
        st.binary(max_size=200),
        st.just(b""),
    )


@PROFILE
@given(content=images(), name=st.sampled_from(["p.jpg", "p.png", "p", "../p.svg"]))
@pytest.mark.django_db
def test_a_profile_photo_is_refused_cleanly_or_readable_everywhere(
    world, admin_client, example, media_root, content, name
):
    client = client_of(world.me)
    with example():
        outcome = Outcome(lambda: media_files(media_root))
        try:
            upload = SimpleUploadedFile(name, content, content_type="image/png")
            response = client.patch(
                "/api/v1/users/profile/photo", {"file": upload}, format="multipart"
            )
        except ValueError:  # the test client refuses a CMYK PNG before sending: nothing sent
            assume(False)
        if response.status_code == 200:
            event("accepted")
            photo = assert_envelope(response, 200)
            me = assert_envelope(client.get("/api/v1/auth/me"), 200)
            assert me["profilePhoto"]["_id"] == photo["_id"]
            stored = ProfilePhoto.objects.get(user=world.me)
            assert set(stored.variants) == {str(e) for e in settings.PROFILE_PHOTO_VARIANT_SIZES}
            assert len(media_files(media_root) - outcome.files_before) == 1 + len(stored.variants)
            assert (
                admin_client.get(f"/admin/accounts/user/{world.me.pk}/change/").status_code == 200
            )
            assert admin_client.get("/admin/accounts/profilephoto/").status_code == 200
        else:
            event(f"refused {response.status_code} {refused_fields(response)}")
            outcome.refused(response)


@PROFILE
@given(
    username=edge.mostly(
        st.from_regex(r"[A-Za-z0-9._-]{3,30}", fullmatch=True),
        st.one_of(edge.text(30), st.just("ab"), st.just("a" * 31)),
    ),
    email=edge.mostly(
        st.emails(), st.one_of(st.just("not-an-email"), st.just("a@b"), edge.text(254))
    ),
    password=edge.mostly(
        st.text(min_size=10, max_size=40).filter(lambda p: not p.isdigit()),
        st.sampled_from(["12345678", "short", "password", "a" * 129]),
    ),
    name=edge.mostly(edge.names(), edge.text(100)),
    surname=edge.mostly(edge.names(), edge.text(100)),
)
@pytest.mark.django_db
def test_a_registration_is_refused_cleanly_or_readable_everywhere(
    world, admin_client, example, media_root, username, email, password, name, surname
):
    body = {
        "username": username,
        "email": email,
        "password": password,
        "name": name,
        "surname": surname,
    }
    from rest_framework.test import APIClient

    with example():
        outcome = Outcome(lambda: media_files(media_root))
        response = post_json(APIClient(), "/api/v1/auth/register", body)
        if response.status_code == 201:
            event("accepted")
            session = assert_envelope(response, 201)
            user = User.objects.get(pk=session["user"]["_id"])
            assert (user.name, user.surname) == (name.strip(), surname.strip())
            me = APIClient()
            me.credentials(HTTP_AUTHORIZATION=f"Bearer {session['accessToken']}")
            shown = assert_envelope(me.get("/api/v1/auth/me"), 200)
            assert (shown["name"], shown["surname"], shown["username"]) == (
                user.name,
                user.surname,
                user.username,
            )
            login = post_json(
                APIClient(), "/api/v1/auth/login", {"login": username, "password": password}
            )
            assert_envelope(login, 200)
            assert admin_client.get(f"/admin/accounts/user/?q={user.username}").status_code == 200
            assert admin_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200
            assert not CreditTransaction.objects.filter(user=user).exists()
        else:
            event(f"refused {response.status_code} {refused_fields(response)}")
            outcome.refused(response)


@PROFILE
@given(
    content=st.one_of(
        edge.text(500),
        st.sampled_from([None, 0, True, ["hi"], {"text": "hi"}, "a\tb", "\r\n", "ok\r\nok"]),
    )
)
@pytest.mark.django_db
def test_a_chat_message_is_refused_cleanly_or_readable_in_the_history(
    world, example, media_root, settings, content
):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "chat": None}
    client = client_of(world.me)
    url = f"/api/v1/live-stream/{world.my_active.pk}/chat/messages"
    with example():
        outcome = Outcome(lambda: media_files(media_root))
        response = post_json(client, url, {"content": content})
        if response.status_code == 201:
            event("accepted")
            sent = assert_envelope(response, 201)
            assert isinstance(content, str)
            assert sent["content"] == content.strip() and 1 <= len(sent["content"]) <= 500
            history = assert_envelope(client.get(url), 200)
            assert [m["_id"] for m in history["messages"]] == [sent["_id"]]
            assert history["messages"][0]["content"] == sent["content"]
        else:
            event(f"refused {response.status_code} {refused_fields(response)}")
            assert response.status_code == 400
            outcome.refused(response)
