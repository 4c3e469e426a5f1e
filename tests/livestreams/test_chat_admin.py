"""Moderators and the chat in the back office: removing a message with a reason
(from the message's row, its page, the bulk action or the stream's page) hides it
from the history, is told in the stream's History and audited; others may not."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import translation

from allmine.core.history import tell
from allmine.core.models import AuditEntry
from livestreams.models import ChatMessage
from livestreams.services.chat import chat_message_remove, chat_message_send
from tests.api import assert_envelope
from tests.factories import LiveStreamFactory, ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:livestreams_chatmessage_changelist")


def remove_url(message) -> str:
    return reverse("admin:livestreams_chatmessage_do", args=[message.pk, "remove"])


def stream_page(stream) -> str:
    return reverse("admin:livestreams_livestream_change", args=[stream.pk])


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]*>", " ", response.content.decode()).split())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def room():
    stream = LiveStreamFactory(active=True, title="Late jazz")
    troll = ParticipantFactory(live_stream=stream, user=UserFactory(username="troll")).user
    return stream, troll


def say(stream, user, content) -> ChatMessage:
    return chat_message_send(user=user, live_stream_id=stream.pk, content=content)


def test_a_moderator_removes_a_message_with_a_reason_and_it_leaves_the_history(
    mod_client, moderator, room, client_for
):
    stream, troll = room
    bad = say(stream, troll, "Buy followers at spam.example")
    good = say(stream, stream.creator, "Welcome!")
    url = remove_url(bad)
    # Offered on the message's row and on the stream's page.
    assert f'href="{url}"' in mod_client.get(CHANGELIST).content.decode()
    page = mod_client.get(stream_page(stream)).content.decode()
    assert f'href="{url}"' in page and "Buy followers at spam.example" in page

    confirm = mod_client.get(url)
    assert "troll in “Late jazz”: Buy followers at spam.example" in text(confirm)
    response = mod_client.post(url, {"post": "yes", "reason": "Spam link"})

    assert messages_of(mod_client.get(response["Location"])) == ["Removed 1 message."]
    bad.refresh_from_db()
    assert (bad.hidden_by, bad.hidden_reason) == (moderator, "Spam link")
    assert bad.hidden_at is not None
    assert ChatMessage.objects.filter(pk=bad.pk).exists()  # a soft delete
    history = assert_envelope(
        client_for(stream.creator).get(f"/api/v1/live-stream/{stream.pk}/chat/messages"), 200
    )
    assert [m["_id"] for m in history["messages"]] == [good.pk]
    entry = AuditEntry.objects.get(action="chat_message_remove")
    assert (entry.actor, entry.reason, entry.target_id) == (moderator, "Spam link", stream.pk)
    assert entry.changes == {
        "chatMessage": ["Buy followers at spam.example", None],
        "messageSender": [troll.pk, None],
    }
    (told,) = tell([entry])
    assert "removed a chat message of" in str(told.sentence) and "troll" in str(told.sentence)
    # Removed: no more button, and the stream's History tells it.
    assert f'href="{url}"' not in mod_client.get(stream_page(stream)).content.decode()
    stream_history = mod_client.get(
        reverse("admin:livestreams_livestream_history", args=[stream.pk])
    )
    assert "Spam link" in text(stream_history)


def test_a_reason_is_required(mod_client, room):
    stream, troll = room
    message = say(stream, troll, "rude")
    response = mod_client.post(remove_url(message), {"post": "yes", "reason": ""})
    assert response.status_code == 200  # the form again
    message.refresh_from_db()
    assert message.hidden_at is None
    assert not AuditEntry.objects.filter(action="chat_message_remove").exists()


def test_removing_in_bulk_leaves_out_the_removed_ones(mod_client, moderator, room):
    stream, troll = room
    first, second, gone = (say(stream, troll, f"spam {n}") for n in range(3))
    chat_message_remove(actor=moderator, message_id=gone.pk, reason="earlier")
    chosen = [first.pk, second.pk, gone.pk]

    preview = mod_client.post(
        CHANGELIST, {"action": "remove", "_selected_action": chosen, "index": "0"}
    )
    assert "2 of the 3 chosen messages can be removed." in text(preview)

    response = mod_client.post(
        CHANGELIST,
        {
            "action": "remove",
            "_selected_action": chosen,
            "post": "yes",
            "select_across": "0",
            "reason": "Flood",
        },
    )
    assert response.status_code == 302
    assert ChatMessage.objects.shown().count() == 0
    assert AuditEntry.objects.filter(action="chat_message_remove", reason="Flood").count() == 2


def test_a_message_cannot_be_removed_twice(moderator, room):
    from allmine.core.errors import Conflict

    stream, troll = room
    message = say(stream, troll, "x")
    chat_message_remove(actor=moderator, message_id=message.pk, reason="one")
    with pytest.raises(Conflict):
        chat_message_remove(actor=moderator, message_id=message.pk, reason="two")


def test_only_moderators_remove(room):
    from allmine.core.errors import InsufficientPermissions

    stream, troll = room
    message = say(stream, troll, "x")
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_chatmessage"))
    client = Client()
    client.force_login(viewer)
    # A staff member who may only look sees the messages, without the action.
    page = client.get(CHANGELIST)
    assert page.status_code == 200 and remove_url(message) not in page.content.decode()
    assert client.post(remove_url(message), {"post": "yes", "reason": "x"}).status_code == 403
    with pytest.raises(InsufficientPermissions):
        chat_message_remove(actor=stream.creator, message_id=message.pk, reason="mine")
    message.refresh_from_db()
    assert message.hidden_at is None


def test_the_chat_pages_in_turkish(mod_client, room):
    stream, troll = room
    message = say(stream, troll, "x")
    with translation.override("tr"):
        mod_client.cookies["django_language"] = "tr"
        page = text(mod_client.get(remove_url(message), HTTP_ACCEPT_LANGUAGE="tr"))
        listing = text(mod_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="tr"))
    assert "Sohbet mesajını kaldır" in page
    assert "sohbet mesajı" in listing.lower()


@pytest.mark.parametrize("count", [1, 30])
def test_the_stream_page_costs_the_same_whatever_the_chat(
    mod_client, room, django_assert_max_num_queries, count
):
    stream, troll = room
    for n in range(count):
        say(stream, troll, f"m{n}")
    mod_client.get(stream_page(stream))  # warm the session and the caches
    with django_assert_max_num_queries(40) as captured:
        assert mod_client.get(stream_page(stream)).status_code == 200
    chat_queries = [q for q in captured.captured_queries if "livestreams_chatmessage" in q["sql"]]
    assert len(chat_queries) == 1
