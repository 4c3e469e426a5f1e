"""Gifts (API-more §12): the gift types on offer, sending one (a ledger debit with
the revenue shares of §6.4), the rate limit, and the staff's gift-type admin with
its strictly checked SVG upload."""

import os
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import CreditTransaction, TransactionKind, User
from allmine.core.ids import new_object_id
from allmine.core.models import AuditEntry
from livestreams.lifecycle import LiveStreamStatus as S
from livestreams.models import (
    BanAction,
    Gift,
    GiftType,
    LiveStream,
    LiveStreamBan,
    LiveStreamType,
    Participant,
)
from livestreams.services.audience import livestream_join_as_audience
from livestreams.services.gifts import gift_send
from tests.api import assert_envelope, assert_error
from tests.factories import GuestFactory, LiveStreamFactory, UserFactory

TYPES_URL = "/api/v1/gifts/gift-types"
CREATE_URL = "/api/v1/gifts/create"
ADMIN_TYPES = "/admin/livestreams/gifttype/"
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    b'<path d="M12 21l-1-1C5 15 2 12 2 8a5 5 0 0 1 10-2 5 5 0 0 1 10 2c0 4-3 7-9 12z" '
    b'fill="#e11d48"/></svg>'
)


def gift_type(amount: str = "10", *, active: bool = True, **fields) -> GiftType:
    return GiftType.objects.create(
        credit_amount=Decimal(amount), svg="gifts/heart.svg", is_active=active, **fields
    )


def live_stream(**fields) -> LiveStream:
    now = timezone.now()
    return LiveStreamFactory(
        status=S.ACTIVE, started_at=now, host_joined_at=now, host_present=True, **fields
    )


def viewer_of(stream, credits: str = "100") -> User:
    user = UserFactory(credits=credits)
    livestream_join_as_audience(user=user, live_stream_id=stream.pk)
    return user


def send(client, stream_id, gift_type_id):
    body = {"giftTypeId": gift_type_id, "liveStreamId": stream_id}
    return client.post(CREATE_URL, body, format="json")


def balance(user) -> Decimal:
    return User.objects.get(pk=user.pk).credit_balance


def money_state() -> dict:
    return {
        "gifts": list(Gift.objects.order_by("pk").values()),
        "ledger": list(CreditTransaction.objects.order_by("pk").values()),
        "balances": dict(User.objects.values_list("pk", "credit_balance")),
    }


# --- Gift types (§12.1) -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_gift_types_on_offer_cheapest_first(client_for):
    now = timezone.now()
    later = gift_type("5", created_at=now)
    earlier = gift_type("5", created_at=now - timezone.timedelta(days=1))
    cheap = gift_type("0.5")
    gift_type("1", active=False)

    data = assert_envelope(client_for(UserFactory()).get(TYPES_URL), 200)

    assert [t["id"] for t in data] == [cheap.pk, earlier.pk, later.pk]
    assert set(data[0]) == {"id", "creditAmount", "svgUrl", "isActive", "createdAt", "updatedAt"}
    assert data[0]["creditAmount"] == 0.5 and data[1]["creditAmount"] == 5
    assert data[0]["svgUrl"].startswith("http") and data[0]["isActive"] is True
    assert_error(APIClient().get(TYPES_URL), 401)


# --- Sending a gift (§12.2) ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_gift_to_a_solo_stream_pays_the_creator_80_percent(client_for):
    stream = live_stream()
    sender = viewer_of(stream, "20")
    heart = gift_type("9.99")

    data = assert_envelope(send(client_for(sender), stream.pk, heart.pk), 201)

    assert data == {"message": "Success"}
    gift = Gift.objects.get()
    assert (gift.live_stream_id, gift.sender_id, gift.gift_type_id) == (
        stream.pk,
        sender.pk,
        heart.pk,
    )
    assert gift.credit_amount == Decimal("9.99")
    assert gift.transaction.kind == TransactionKind.GIFT_SPEND
    assert gift.transaction.amount == Decimal("-9.99")
    assert balance(sender) == Decimal("10.01")
    revenue = CreditTransaction.objects.get(kind=TransactionKind.GIFT_REVENUE)
    assert (revenue.user_id, revenue.amount, revenue.status) == (
        stream.creator_id,
        Decimal("7.99"),  # 80 % of 9.99 = 7.992, rounded down
        "completed",
    )
    assert revenue.related_id == gift.transaction_id
    assert balance(stream.creator) == Decimal("7.99")


@pytest.mark.django_db
def test_a_gift_to_a_duo_stream_shares_between_the_creator_and_the_guests(client_for):
    stream = live_stream(live_stream_type=LiveStreamType.DUOCROWD)
    first, second = GuestFactory(live_stream=stream).user, GuestFactory(live_stream=stream).user
    sender = viewer_of(stream)
    assert_envelope(send(client_for(sender), stream.pk, gift_type("10").pk), 201)

    assert balance(stream.creator) == Decimal("4.00")
    assert balance(first) == balance(second) == Decimal("2.00")
    assert balance(sender) == Decimal("90.00")
    shares = CreditTransaction.objects.filter(kind=TransactionKind.GIFT_REVENUE)
    assert sorted(shares.values_list("amount", flat=True)) == [Decimal("2"), Decimal("2"), 4]
    # The sender's ledger shows the gift as a debit.
    ledger = assert_envelope(
        client_for(sender).get("/api/v1/users/me/transactions", {"types": "gift_spend"}), 200
    )
    (entry,) = ledger["list"]
    assert (entry["type"], entry["direction"], entry["amount"]) == ("gift_spend", "debit", 10)


@pytest.mark.django_db
def test_each_call_is_one_more_gift(client_for):
    stream = live_stream()
    sender = viewer_of(stream)
    heart = gift_type("1")
    client = client_for(sender)
    for _ in range(3):
        assert_envelope(send(client, stream.pk, heart.pk), 201)
    assert Gift.objects.count() == 3
    assert balance(sender) == Decimal("97.00")


@pytest.mark.django_db
def test_credits_that_do_not_cover_the_gift_are_a_409_and_write_nothing(client_for):
    stream = live_stream()
    sender = viewer_of(stream, "4.99")
    before = money_state()
    assert_error(send(client_for(sender), stream.pk, gift_type("5").pk), 409, contains="credits")
    assert money_state() == before


@pytest.mark.django_db
def test_who_may_send_a_gift(client_for):
    stream = live_stream(live_stream_type=LiveStreamType.DUOSELF, creator__credits="10")
    guest = GuestFactory(live_stream=stream, user__credits="10").user
    heart = gift_type("1")
    stranger, blocked, chat_only = UserFactory(credits="10"), viewer_of(stream), viewer_of(stream)
    LiveStreamBan.objects.create(
        live_stream=stream, user=blocked, action_type=BanAction.BLOCK, created_by=stream.creator
    )
    LiveStreamBan.objects.create(
        live_stream=stream,
        user=chat_only,
        action_type=BanAction.CHAT_ONLY,
        created_by=stream.creator,
    )
    before = money_state()
    assert_error(send(client_for(stream.creator), stream.pk, heart.pk), 403)
    assert_error(send(client_for(guest), stream.pk, heart.pk), 403)
    assert_error(send(client_for(stranger), stream.pk, heart.pk), 403, contains="join it first")
    assert_error(send(client_for(blocked), stream.pk, heart.pk), 403, contains="banned")
    assert_error(send(APIClient(), stream.pk, heart.pk), 401)
    assert money_state() == before
    # A chat-only ban does not stop gifts: a gift is not chat.
    assert_envelope(send(client_for(chat_only), stream.pk, heart.pk), 201)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.ENDED, S.SCHEDULED, S.PREPARING])
def test_a_gift_needs_a_live_stream(client_for, status):
    stream = live_stream()
    sender = viewer_of(stream)
    LiveStream.objects.filter(pk=stream.pk).update(status=status)
    before = money_state()
    assert_error(send(client_for(sender), stream.pk, gift_type().pk), 409, contains=status)
    assert money_state() == before


@pytest.mark.django_db
def test_unknown_removed_or_inactive(client_for):
    stream = live_stream()
    sender = viewer_of(stream)
    client = client_for(sender)
    before = money_state()
    assert_error(send(client, stream.pk, new_object_id()), 404, contains="gift type")
    assert_error(send(client, new_object_id(), gift_type().pk), 404, contains="live stream")
    assert_error(send(client, stream.pk, gift_type(active=False).pk), 409, contains="no longer")
    assert_error(send(client, "nope", gift_type().pk), 400, contains="liveStreamId:")
    assert_error(send(client, stream.pk, "x" * 24), 400, contains="giftTypeId:")
    assert_error(client.post(CREATE_URL, {}, format="json"), 400, contains="giftTypeId:")
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(send(client, stream.pk, gift_type().pk), 404)
    assert money_state() == before


@pytest.mark.django_db
def test_gifts_are_rate_limited_per_user(client_for, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "gifts": "2/minute"}
    stream = live_stream()
    heart = gift_type("1")
    sender, other = viewer_of(stream), viewer_of(stream)
    client = client_for(sender)
    assert_envelope(send(client, stream.pk, heart.pk), 201)
    assert_envelope(send(client, stream.pk, heart.pk), 201)
    response = send(client, stream.pk, heart.pk)
    assert_error(response, 429)
    assert int(response["Retry-After"]) >= 1
    assert Gift.objects.filter(sender=sender).count() == 2
    assert_envelope(send(client_for(other), stream.pk, heart.pk), 201)


@pytest.mark.django_db
@pytest.mark.parametrize("audience", [1, 5])
def test_sending_a_gift_costs_the_same_whatever_the_audience(
    client_for, django_assert_num_queries, audience
):
    stream = live_stream()
    for _ in range(audience):
        viewer_of(stream, "0")
    sender = viewer_of(stream)
    heart = gift_type("1")
    client = client_for(sender)
    # Authentication, the stream with the caller's flags and ban, the type, locking
    # the sender and the creator, the debit (lock, update, insert), the creator's
    # share (lock, update, insert), the gift, and the savepoint around it all (2).
    with django_assert_num_queries(13):
        response = send(client, stream.pk, heart.pk)
    assert_envelope(response, 201)


# --- The staff's gift-type admin ----------------------------------------------------------


@pytest.fixture
def staff_client(db):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_gifttype", "add_gifttype", "change_gifttype", "delete_gifttype"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


def upload(content: bytes, name: str = "gift.svg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/svg+xml")


def stored(media_root) -> list[str]:
    return [os.path.join(d, f) for d, _dirs, files in os.walk(media_root) for f in files]


@pytest.mark.django_db
def test_staff_add_a_gift_type_with_a_checked_svg(
    staff_client, media_root, client_for, django_capture_on_commit_callbacks
):
    response = staff_client.post(
        f"{ADMIN_TYPES}add/",
        {"credit_amount": "2.50", "is_active": "on", "svg_file": upload(SVG)},
    )
    assert response.status_code == 302, response.content[:2000]
    gift = GiftType.objects.get()
    assert gift.credit_amount == Decimal("2.50")
    assert gift.svg.startswith(f"gifts/{gift.pk}/") and gift.svg.endswith(".svg")
    with open(os.path.join(media_root, gift.svg), "rb") as handle:
        assert handle.read() == SVG  # the checked bytes, as sent
    assert AuditEntry.objects.filter(action="gift_type_create", target_id=gift.pk).exists()
    listed = assert_envelope(client_for(UserFactory()).get(TYPES_URL), 200)
    assert listed[0]["svgUrl"].endswith(gift.svg)

    # A new image replaces the old file; the price changes with it.
    old = gift.svg
    new_svg = SVG.replace(b"#e11d48", b"#2563eb")
    with django_capture_on_commit_callbacks(execute=True):  # the old file goes on commit
        response = staff_client.post(
            f"{ADMIN_TYPES}{gift.pk}/change/",
            {"credit_amount": "3", "is_active": "on", "svg_file": upload(new_svg)},
        )
    assert response.status_code == 302
    gift.refresh_from_db()
    assert gift.credit_amount == Decimal("3") and gift.svg != old
    assert [os.path.relpath(p, media_root) for p in stored(media_root)] == [gift.svg]
    # No file: the image stays.
    staff_client.post(f"{ADMIN_TYPES}{gift.pk}/change/", {"credit_amount": "3"})
    gift.refresh_from_db()
    assert gift.is_active is False and gift.svg.endswith(".svg")

    # Its History button tells the audit trail: who added it, who changed what.
    history = staff_client.get(f"{ADMIN_TYPES}{gift.pk}/history/")
    assert history.status_code == 200
    page = history.content.decode()
    assert "added the gift type" in page and "changed the gift type" in page
    assert f'href="{ADMIN_TYPES}{gift.pk}/change/"' in page  # the entries link to it
    assert "price" in page and "creditAmount" not in page and "isActive" not in page


HOSTILE_SVGS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "onload": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "foreign-object": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org'
        b'/1999/xhtml">x</div></foreignObject></svg>'
    ),
    "javascript-href": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<use xlink:href="javascript:alert(1)"/></svg>'
    ),
    "external-href": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><use href="https://evil.example/x.svg#a"/></svg>'
    ),
    "data-url": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(data:image/png;base64,AA)"/>'
        b"</svg>"
    ),
    "entity": (
        b'<!DOCTYPE svg [<!ENTITY x "boom">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'
    ),
    "external-entity": (
        b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'
    ),
    "not-svg": b"\x89PNG\r\n\x1a\n",
    "html": b"<html><body><script>alert(1)</script></body></html>",
}


@pytest.mark.django_db
@pytest.mark.parametrize("content", HOSTILE_SVGS.values(), ids=HOSTILE_SVGS.keys())
def test_a_hostile_svg_is_refused_and_nothing_is_stored(staff_client, media_root, content):
    response = staff_client.post(
        f"{ADMIN_TYPES}add/", {"credit_amount": "1", "svg_file": upload(content)}
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"errorlist" in response.content
    assert not GiftType.objects.exists()
    assert stored(media_root) == []


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0", "-1", "1.234", "abc"])
def test_a_gift_type_needs_a_positive_price_with_2_decimals(staff_client, media_root, amount):
    response = staff_client.post(
        f"{ADMIN_TYPES}add/", {"credit_amount": amount, "svg_file": upload(SVG)}
    )
    assert response.status_code == 200
    assert not GiftType.objects.exists()
    assert stored(media_root) == []


@pytest.mark.django_db
def test_a_gift_type_once_sent_is_never_deleted(staff_client, client_for):
    stream = live_stream()
    sender = viewer_of(stream)
    sent, unsent = gift_type("1"), gift_type("2")
    gift_send(user=sender, live_stream_id=stream.pk, gift_type_id=sent.pk)
    assert staff_client.get(f"{ADMIN_TYPES}{sent.pk}/delete/").status_code == 403
    response = staff_client.post(f"{ADMIN_TYPES}{unsent.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert list(GiftType.objects.values_list("pk", flat=True)) == [sent.pk]


@pytest.mark.django_db
def test_a_moderator_sees_the_gift_types_but_does_not_edit_them(client):
    moderator = UserFactory(is_staff=True)
    moderator.user_permissions.add(
        *Permission.objects.filter(codename__in=["moderate_livestream", "view_gifttype"])
    )
    client.force_login(moderator)
    gift = gift_type()
    assert client.get(ADMIN_TYPES).status_code == 200
    response = client.post(f"{ADMIN_TYPES}{gift.pk}/change/", {"credit_amount": "99"})
    assert response.status_code == 403
    assert GiftType.objects.get().credit_amount == Decimal("10")
    assert client.get(f"{ADMIN_TYPES}add/").status_code == 403
    assert Participant.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("types", [1, 12])
def test_the_gift_types_cost_one_query(client_for, django_assert_num_queries, types):
    for n in range(types):
        gift_type(str(n + 1))
    client = client_for(UserFactory())
    with django_assert_num_queries(2):  # authentication, the types
        response = client.get(TYPES_URL)
    assert len(assert_envelope(response, 200)) == types
