"""A stream's chat (API-more §8): sending a message (§8.1), the history (§8.2),
superlikes (§8.3, a paid message through the ledger with the split of §6.4), who
may do what (§6.3: BLOCK and CHAT_ONLY bans refuse both), the rate limits (§6.5),
and pinned query counts that do not grow with the history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import CreditTransaction, ProfilePhoto, TransactionKind, User
from allmine.core.ids import new_object_id
from livestreams.lifecycle import LiveStreamStatus as S
from livestreams.models import ChatMessage, LiveStream, LiveStreamType, RtmMessage, Superlike
from livestreams.services.chat import chat_message_send
from tests.api import TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import (
    BanFactory,
    GuestFactory,
    LiveStreamFactory,
    ParticipantFactory,
    UserFactory,
)

API = "/api/v1/live-stream"


def messages_url(stream_id) -> str:
    return f"{API}/{stream_id}/chat/messages"


def superlike_url(stream_id) -> str:
    return f"{API}/{stream_id}/chat/superlike"


def send(client, stream_id, content="Merhaba!"):
    return client.post(messages_url(stream_id), {"content": content}, format="json")


def viewer_of(stream, credits: str = "0") -> User:
    user = ParticipantFactory(live_stream=stream, user__credits=credits).user
    return User.objects.get(pk=user.pk)


def balance(user) -> Decimal:
    return User.objects.get(pk=user.pk).credit_balance


def state() -> dict:
    """Everything sending a message or a superlike may write."""
    return {
        "messages": list(ChatMessage.objects.order_by("pk").values()),
        "superlikes": list(Superlike.objects.order_by("pk").values()),
        "rtm": list(RtmMessage.objects.order_by("pk").values()),
        "ledger": list(CreditTransaction.objects.order_by("pk").values()),
        "balances": dict(User.objects.values_list("pk", "credit_balance")),
    }


@pytest.fixture
def stream(db):
    return LiveStreamFactory(active=True)


def summary(user) -> dict:
    return {
        "_id": user.pk,
        "username": user.username,
        "name": user.name,
        "surname": user.surname,
        "profilePhoto": None,
        "availabilityStatus": user.availability_status,
    }


# --- Sending (§8.1) ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_member_sends_a_message_and_gets_it_back(client_for, stream):
    viewer = viewer_of(stream)

    data = assert_envelope(send(client_for(viewer), stream.pk, "  Merhaba, nasılsın? 👋\n "), 201)

    message = ChatMessage.objects.get()
    assert data == {
        "_id": message.pk,
        "streamId": stream.pk,
        "content": "Merhaba, nasılsın? 👋",
        "sender": summary(viewer),
        "createdAt": data["createdAt"],
        "updatedAt": data["updatedAt"],
    }
    assert TIMESTAMP_RE.match(data["createdAt"]) and TIMESTAMP_RE.match(data["updatedAt"])
    assert (message.live_stream_id, message.sender_id, message.content) == (
        stream.pk,
        viewer.pk,
        "Merhaba, nasılsın? 👋",
    )


@pytest.mark.django_db
def test_markup_and_line_breaks_are_kept_as_plain_text(client_for, stream):
    text = "<b>bold</b> & <script>alert(1)</script>\r\nsecond line"
    data = assert_envelope(send(client_for(stream.creator), stream.pk, text), 201)
    assert data["content"] == text
    assert ChatMessage.objects.get().content == text


@pytest.mark.django_db
def test_the_creator_and_the_guests_chat_too(client_for):
    stream = LiveStreamFactory(active=True, live_stream_type=LiveStreamType.DUOSELF)
    guest = GuestFactory(live_stream=stream).user
    assert_envelope(send(client_for(stream.creator), stream.pk), 201)
    assert_envelope(send(client_for(guest), stream.pk), 201)
    assert set(ChatMessage.objects.values_list("sender_id", flat=True)) == {
        stream.creator_id,
        guest.pk,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["BLOCK", "CHAT_ONLY"])
def test_a_banned_member_cannot_chat_and_nothing_is_stored_or_published(
    client_for, stream, kind, django_capture_on_commit_callbacks
):
    viewer = viewer_of(stream, "100")
    BanFactory(live_stream=stream, user=viewer, chat_only=kind == "CHAT_ONLY")
    before = state()
    with django_capture_on_commit_callbacks() as callbacks:
        errors = assert_error(send(client_for(viewer), stream.pk), 403)
        assert_error(client_for(viewer).post(superlike_url(stream.pk)), 403)
    assert errors[1] == (
        "You are banned from this live stream."
        if kind == "BLOCK"
        else "You are banned from chatting in this live stream."
    )
    assert state() == before
    assert callbacks == []


@pytest.mark.django_db
def test_a_lifted_ban_no_longer_stops_chat(client_for, stream):
    viewer = viewer_of(stream)
    BanFactory(live_stream=stream, user=viewer, chat_only=True, lifted=True)
    assert_envelope(send(client_for(viewer), stream.pk), 201)


@pytest.mark.django_db
def test_only_members_chat(client_for, stream):
    stranger = UserFactory()
    moderator = UserFactory(moderator=True)
    before = state()
    for user in (stranger, moderator):
        assert_error(send(client_for(user), stream.pk), 403, contains="audience")
    assert_error(send(APIClient(), stream.pk), 401)
    assert state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.SCHEDULED, S.PREPARING, S.ENDED, S.EXPIRED])
def test_chat_needs_an_active_stream(client_for, stream, status):
    viewer = viewer_of(stream, "100")
    LiveStream.objects.filter(pk=stream.pk).update(status=status)
    before = state()
    assert_error(send(client_for(viewer), stream.pk), 409, contains=status)
    assert_error(client_for(viewer).post(superlike_url(stream.pk)), 409, contains=status)
    assert state() == before


BAD_CONTENT = {
    "empty": ("", "content:"),
    "blank": (" \n\t ", "content:"),
    "too-long": ("x" * 501, "500"),
    "number": (5, "content:"),
    "null": (None, "content:"),
    "list": (["hi"], "content:"),
    "nul": ("a\x00b", "content:"),
    "escape": ("a\x1b[31mb", "content:"),
    "tab": ("a\tb", "content:"),
    "c1": ("a\x85b", "content:"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("content", "contains"), BAD_CONTENT.values(), ids=BAD_CONTENT.keys())
def test_a_bad_message_is_a_400_and_stores_nothing(client_for, stream, content, contains):
    before = state()
    assert_error(send(client_for(stream.creator), stream.pk, content), 400, contains=contains)
    assert state() == before


@pytest.mark.django_db
def test_500_characters_once_trimmed_are_accepted(client_for, stream):
    data = assert_envelope(send(client_for(stream.creator), stream.pk, " " + "ş" * 500 + " "), 201)
    assert data["content"] == "ş" * 500


@pytest.mark.django_db
def test_unknown_removed_or_malformed_streams(client_for, stream):
    client = client_for(stream.creator)
    assert_error(client.post(messages_url(stream.pk), {}, format="json"), 400, contains="content:")
    assert_error(send(client, "nope"), 400, contains="streamId:")
    # A malformed id is a 400 before a bad body is looked at... and before anything is looked up.
    assert_error(send(client, "nope", ""), 400, contains="streamId:")
    assert_error(send(client, new_object_id()), 404)
    assert_error(client.post(superlike_url("nope")), 400, contains="streamId:")
    assert_error(client.post(superlike_url(new_object_id())), 404)
    LiveStream.objects.filter(pk=stream.pk).update(deleted_at=timezone.now())
    assert_error(send(client, stream.pk), 404)
    assert_error(client.get(messages_url(stream.pk)), 404)
    assert not ChatMessage.objects.exists()


@pytest.mark.django_db
def test_chat_is_rate_limited_per_user_and_stream(client_for, stream, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "chat": "2/minute"}
    other_stream = LiveStreamFactory(active=True)
    viewer = viewer_of(stream)
    ParticipantFactory(live_stream=other_stream, user=viewer)
    client = client_for(viewer)
    assert_envelope(send(client, stream.pk), 201)
    assert_envelope(send(client, stream.pk), 201)
    response = send(client, stream.pk)
    assert_error(response, 429)
    assert int(response["Retry-After"]) >= 1
    assert ChatMessage.objects.filter(live_stream=stream).count() == 2
    # Another stream, another user: their own counts. Reading is not limited.
    assert_envelope(send(client, other_stream.pk), 201)
    assert_envelope(send(client_for(stream.creator), stream.pk), 201)
    assert_envelope(client.get(messages_url(stream.pk)), 200)


# --- The history (§8.2) ----------------------------------------------------------------


def post_messages(stream, sender, count: int) -> list[ChatMessage]:
    """`count` messages a second apart, the oldest first."""
    start = timezone.now() - timedelta(minutes=5)
    sent = []
    for n in range(count):
        message = chat_message_send(user=sender, live_stream_id=stream.pk, content=f"m{n}")
        ChatMessage.objects.filter(pk=message.pk).update(created_at=start + timedelta(seconds=n))
        sent.append(message)
    return sent


@pytest.mark.django_db
def test_the_history_is_paged_the_newest_first_in_its_own_shape(client_for, stream):
    sent = post_messages(stream, stream.creator, 7)
    client = client_for(UserFactory())  # any signed-in user reads it

    data = assert_envelope(client.get(messages_url(stream.pk), {"limit": 3}), 200)

    assert set(data) == {
        "messages",
        "page",
        "limit",
        "total",
        "totalPages",
        "hasNextPage",
        "hasPreviousPage",
    }
    assert [m["content"] for m in data["messages"]] == ["m6", "m5", "m4"]
    assert (data["page"], data["limit"], data["total"], data["totalPages"]) == (1, 3, 7, 3)
    assert (data["hasNextPage"], data["hasPreviousPage"]) == (True, False)
    assert data["messages"][0] == {
        "_id": sent[6].pk,
        "streamId": stream.pk,
        "content": "m6",
        "sender": summary(stream.creator),
        "createdAt": data["messages"][0]["createdAt"],
        "updatedAt": data["messages"][0]["updatedAt"],
    }
    last = assert_envelope(client.get(messages_url(stream.pk), {"limit": 3, "page": 3}), 200)
    assert [m["content"] for m in last["messages"]] == ["m0"]
    assert (last["hasNextPage"], last["hasPreviousPage"]) == (False, True)
    beyond = assert_envelope(client.get(messages_url(stream.pk), {"page": 9}), 200)
    assert (beyond["messages"], beyond["page"], beyond["limit"]) == ([], 9, 30)


@pytest.mark.django_db
def test_the_history_defaults_to_30_and_clamps_the_limit(client_for, stream):
    post_messages(stream, stream.creator, 31)
    client = client_for(stream.creator)
    data = assert_envelope(client.get(messages_url(stream.pk)), 200)
    assert (len(data["messages"]), data["limit"], data["totalPages"]) == (30, 30, 2)
    assert assert_envelope(client.get(messages_url(stream.pk), {"limit": 500}), 200)["limit"] == 100
    clamped = assert_envelope(client.get(messages_url(stream.pk), {"limit": 0, "page": -1}), 200)
    assert (clamped["limit"], clamped["page"]) == (1, 1)


@pytest.mark.django_db
def test_ties_in_time_are_ordered_by_id(client_for, stream):
    sent = post_messages(stream, stream.creator, 3)
    ChatMessage.objects.update(created_at=timezone.now())
    data = assert_envelope(client_for(stream.creator).get(messages_url(stream.pk)), 200)
    assert [m["_id"] for m in data["messages"]] == sorted((m.pk for m in sent), reverse=True)


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"page": "x"}, {"limit": "1.5"}, {"page": ""}, {"limit": "+3"}])
def test_a_malformed_page_or_limit_is_a_400(client_for, stream, query):
    response = client_for(stream.creator).get(messages_url(stream.pk), query)
    assert_error(response, 400, contains=f"{next(iter(query))}:")
    # ... even for an unknown stream: the query is checked before anything is looked up.
    response = client_for(stream.creator).get(messages_url(new_object_id()), query)
    assert_error(response, 400)


@pytest.mark.django_db
def test_who_reads_the_history(client_for, stream):
    post_messages(stream, stream.creator, 1)
    blocked, chat_only = viewer_of(stream), viewer_of(stream)
    BanFactory(live_stream=stream, user=blocked)
    BanFactory(live_stream=stream, user=chat_only, chat_only=True)
    assert_error(client_for(blocked).get(messages_url(stream.pk)), 403, contains="banned")
    assert_error(APIClient().get(messages_url(stream.pk)), 401)
    # A chat-only ban still reads; so do strangers, in any status.
    assert assert_envelope(client_for(chat_only).get(messages_url(stream.pk)), 200)["total"] == 1
    LiveStream.objects.filter(pk=stream.pk).update(status=S.ENDED)
    assert (
        assert_envelope(client_for(UserFactory()).get(messages_url(stream.pk)), 200)["total"] == 1
    )


@pytest.mark.django_db
def test_a_removed_message_disappears_from_the_history(client_for, stream):
    sent = post_messages(stream, stream.creator, 3)
    ChatMessage.objects.filter(pk=sent[1].pk).update(hidden_at=timezone.now())
    data = assert_envelope(client_for(stream.creator).get(messages_url(stream.pk)), 200)
    assert [m["content"] for m in data["messages"]] == ["m2", "m0"]
    assert data["total"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize("history", [1, 40])
def test_reading_the_history_costs_the_same_whatever_its_length(
    client_for, stream, django_assert_num_queries, history
):
    senders = [viewer_of(stream) for _ in range(3)]
    for n in range(history):
        chat_message_send(user=senders[n % 3], live_stream_id=stream.pk, content=f"m{n}")
    ProfilePhoto.objects.create(user=senders[0], original="profiles/a.jpg", variants={})
    client = client_for(UserFactory())
    # Authentication, the stream with the caller's flags and ban, the count, the page
    # (with the senders and their photos).
    with django_assert_num_queries(4):
        response = client.get(messages_url(stream.pk))
    assert_envelope(response, 200)


@pytest.mark.django_db
@pytest.mark.parametrize("history", [0, 25])
def test_sending_costs_the_same_whatever_the_history(
    client_for, stream, django_assert_num_queries, history
):
    viewer = viewer_of(stream)
    for n in range(history):
        chat_message_send(user=stream.creator, live_stream_id=stream.pk, content=f"m{n}")
    client = client_for(viewer)
    # Authentication (the user comes with their photo), atomic_response's and the
    # service's savepoints and their releases (4), the stream with the caller's flags
    # and ban, the message. (With Agora configured, one more: its RtmMessage row.)
    with django_assert_num_queries(7):
        response = send(client, stream.pk)
    assert_envelope(response, 201)


# --- Superlikes (§8.3) ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_superlike_in_a_solo_stream_pays_the_creator_80_percent(client_for, stream):
    viewer = viewer_of(stream, "25")
    ProfilePhoto.objects.create(
        user=viewer,
        original="profiles/v/original.jpg",
        variants={"40": "profiles/v/40.webp", "76": "profiles/v/76.webp"},
    )

    data = assert_envelope(client_for(viewer).post(superlike_url(stream.pk)), 201)

    superlike = Superlike.objects.get()
    assert data == {
        "streamId": stream.pk,
        "senderId": viewer.pk,
        "senderSnapshot": {
            "_id": viewer.pk,
            "username": viewer.username,
            "name": viewer.name,
            "surname": viewer.surname,
            "profilePhoto": data["senderSnapshot"]["profilePhoto"],
        },
        "price": 10,
        "timestamp": data["timestamp"],
    }
    assert data["senderSnapshot"]["profilePhoto"].startswith("http")
    assert data["senderSnapshot"]["profilePhoto"].endswith("profiles/v/76.webp")
    assert TIMESTAMP_RE.match(data["timestamp"])
    assert (superlike.price, superlike.transaction.kind, superlike.transaction.amount) == (
        Decimal("10"),
        TransactionKind.SUPERLIKE_SPEND,
        Decimal("-10"),
    )
    assert balance(viewer) == Decimal("15.00")
    revenue = CreditTransaction.objects.get(kind=TransactionKind.SUPERLIKE_REVENUE)
    assert (revenue.user_id, revenue.amount, revenue.status, revenue.related_id) == (
        stream.creator_id,
        Decimal("8.00"),
        "completed",
        superlike.transaction_id,
    )
    assert balance(stream.creator) == Decimal("8.00")
    # A superlike is not a chat message: the history does not show it.
    assert not ChatMessage.objects.exists()


@pytest.mark.django_db
def test_the_snapshot_photo_falls_back_to_the_original_then_null(client_for, stream):
    viewer = viewer_of(stream, "100")
    client = client_for(viewer)
    assert (
        assert_envelope(client.post(superlike_url(stream.pk)), 201)["senderSnapshot"][
            "profilePhoto"
        ]
        is None
    )
    ProfilePhoto.objects.create(user=viewer, original="profiles/v/original.jpg", variants={})
    photo = assert_envelope(client.post(superlike_url(stream.pk)), 201)["senderSnapshot"][
        "profilePhoto"
    ]
    assert photo.startswith("http") and photo.endswith("profiles/v/original.jpg")


@pytest.mark.django_db
def test_a_superlike_in_a_duo_stream_shows_in_both_ledgers(client_for, settings):
    settings.SUPERLIKE_PRICE = Decimal("9.99")
    stream = LiveStreamFactory(active=True, live_stream_type=LiveStreamType.DUOCROWD)
    first, second = GuestFactory(live_stream=stream).user, GuestFactory(live_stream=stream).user
    viewer = viewer_of(stream, "20")

    data = assert_envelope(
        client_for(viewer).post(superlike_url(stream.pk), {"ignored": 1}, format="json"), 201
    )

    assert data["price"] == 9.99
    # 40 % of 9.99 = 3.996 → 3.99; 20 % each = 1.998 → 1.99; the platform keeps the rest.
    assert balance(stream.creator) == Decimal("3.99")
    assert balance(first) == balance(second) == Decimal("1.99")
    assert balance(viewer) == Decimal("10.01")
    ledger = assert_envelope(
        client_for(viewer).get("/api/v1/users/me/transactions", {"types": "superlike_spend"}), 200
    )
    (entry,) = ledger["list"]
    assert (entry["type"], entry["direction"], entry["amount"], entry["status"]) == (
        "superlike_spend",
        "debit",
        9.99,
        "completed",
    )
    assert entry["liveStreamId"] == stream.pk
    for earner, amount in ((stream.creator, 3.99), (first, 1.99), (second, 1.99)):
        earnings = assert_envelope(
            client_for(earner).get("/api/v1/users/me/transactions", {"types": "superlike_revenue"}),
            200,
        )
        (entry,) = earnings["list"]
        assert (entry["type"], entry["direction"], entry["amount"], entry["status"]) == (
            "superlike_revenue",
            "credit",
            amount,
            "completed",
        )
        assert entry["relatedTransactionId"] == Superlike.objects.get().transaction_id


@pytest.mark.django_db
def test_each_call_is_one_more_charged_superlike(client_for, stream):
    viewer = viewer_of(stream, "100")
    client = client_for(viewer)
    for _ in range(3):
        assert_envelope(client.post(superlike_url(stream.pk)), 201)
    assert Superlike.objects.count() == 3
    assert balance(viewer) == Decimal("70.00")


@pytest.mark.django_db
def test_credits_that_do_not_cover_a_superlike_are_a_409_and_write_nothing(client_for, stream):
    viewer = viewer_of(stream, "9.99")
    before = state()
    errors = assert_error(client_for(viewer).post(superlike_url(stream.pk)), 409)
    assert errors[1] == "Insufficient credits: this needs 10.00 credits and the balance is 9.99."
    assert state() == before


@pytest.mark.django_db
def test_who_may_superlike(client_for):
    stream = LiveStreamFactory(
        active=True, live_stream_type=LiveStreamType.DUOSELF, creator__credits="50"
    )
    guest = GuestFactory(live_stream=stream, user__credits="50").user
    stranger = UserFactory(credits="50")
    before = state()
    assert_error(client_for(stream.creator).post(superlike_url(stream.pk)), 403)
    assert_error(client_for(guest).post(superlike_url(stream.pk)), 403)
    assert_error(client_for(stranger).post(superlike_url(stream.pk)), 403, contains="join it first")
    assert_error(APIClient().post(superlike_url(stream.pk)), 401)
    assert state() == before


@pytest.mark.django_db
def test_superlikes_are_rate_limited_per_user(client_for, stream, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "superlikes": "1/minute"}
    viewer, other = viewer_of(stream, "100"), viewer_of(stream, "100")
    assert_envelope(client_for(viewer).post(superlike_url(stream.pk)), 201)
    response = client_for(viewer).post(superlike_url(stream.pk))
    assert_error(response, 429)
    assert int(response["Retry-After"]) >= 1
    assert Superlike.objects.count() == 1
    assert_envelope(client_for(other).post(superlike_url(stream.pk)), 201)


@pytest.mark.django_db
@pytest.mark.parametrize("audience", [1, 5])
def test_a_superlike_costs_the_same_whatever_the_audience(
    client_for, stream, django_assert_num_queries, audience
):
    for _ in range(audience):
        viewer_of(stream)
    viewer = viewer_of(stream, "100")
    client = client_for(viewer)
    # Authentication (the user comes with their photo), atomic_response's and the
    # service's savepoints and their releases (4), the stream with the caller's flags
    # and ban, locking the sender and the creator, the debit (read, update, insert),
    # the creator's share (read, update, insert), the superlike.
    with django_assert_num_queries(14):
        response = client.post(superlike_url(stream.pk))
    assert_envelope(response, 201)
