"""The chat's live delivery (API-more §8.1, our rule): after the commit, the server
publishes each chat message, each superlike and each removal into the stream's
Signaling (RTM) channel through a background task (eager here, run by the commit
callbacks), against the local Agora stand-in; a failure is retried with backoff
by the sweep, a message too old or removed first is dropped, and nothing is
published for what was refused."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from livestreams.models import ChatMessage, RtmEvent, RtmMessage, RtmMessageStatus
from livestreams.services import rtm_messages
from livestreams.services.chat import chat_message_remove
from livestreams.tasks import periodic
from livestreams.tasks.chat import rtm_message_run
from tests.api import assert_envelope, assert_error
from tests.factories import BanFactory, LiveStreamFactory, ParticipantFactory
from tests.helpers import enqueued
from tests.livestreams.conftest import APP_ID, BASIC

API = "/api/v1/live-stream"
R = RtmMessageStatus


@pytest.fixture
def stream(db):
    return LiveStreamFactory(active=True)


@pytest.fixture
def viewer(stream):
    return ParticipantFactory(live_stream=stream, user__credits="100").user


def send(client, stream, content="Merhaba!"):
    return client.post(f"{API}/{stream.pk}/chat/messages", {"content": content}, format="json")


def published(agora) -> list[dict]:
    return [{**m, "payload": json.loads(m["payload"])} for m in agora.messages]


def make_due(message: RtmMessage) -> None:
    RtmMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_a_message_reaches_the_channel_as_the_api_returns_it_after_the_commit(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = send(client_for(viewer), stream)
        assert agora.requests == []  # nothing is published before the commit

    data = assert_envelope(response, 201)
    assert len(enqueued(callbacks)) == 1
    (request,) = agora.requests
    assert (request.method, request.path, request.authorization) == (
        "POST",
        f"/dev/v2/project/{APP_ID}/rtm/users/allmine-server/channel_messages",
        BASIC,
    )
    (message,) = published(agora)
    assert message["channel"] == stream.channel_name
    assert message["from"] == "allmine-server"
    assert message["payload"] == {"type": "chatMessage", "data": data}
    row = RtmMessage.objects.get()
    assert (row.event, row.status, row.attempts, row.last_error, row.request_id) == (
        RtmEvent.CHAT_MESSAGE,
        R.SENT,
        1,
        "",
        message["requestId"],
    )
    assert row.chat_message_id == data["_id"] and row.done_at is not None


@pytest.mark.django_db
def test_a_superlike_reaches_the_channel(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        data = assert_envelope(client_for(viewer).post(f"{API}/{stream.pk}/chat/superlike"), 201)
    (message,) = published(agora)
    assert message["channel"] == stream.channel_name
    assert message["payload"] == {"type": "superlike", "data": data}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["BLOCK", "CHAT_ONLY"])
def test_nothing_is_published_for_a_banned_user(
    agora, client_for, stream, viewer, kind, django_capture_on_commit_callbacks
):
    BanFactory(live_stream=stream, user=viewer, chat_only=kind == "CHAT_ONLY")
    with django_capture_on_commit_callbacks(execute=True):
        assert_error(send(client_for(viewer), stream), 403)
        assert_error(client_for(viewer).post(f"{API}/{stream.pk}/chat/superlike"), 403)
    assert agora.requests == []
    assert not RtmMessage.objects.exists()


@pytest.mark.django_db
def test_a_failure_is_retried_by_the_sweep_with_backoff(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("rtm.channel-message", "error", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        data = assert_envelope(send(client_for(viewer), stream), 201)  # the request never waits

    row = RtmMessage.objects.get()
    assert (row.status, row.attempts) == (R.FAILED, 1)
    assert "503" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert agora.messages == []
    # Not due yet: the sweep leaves it alone.
    assert periodic.retry_rtm_messages() == {"enqueued": 0}

    make_due(row)
    assert periodic.retry_rtm_messages() == {"enqueued": 1}  # eager: runs at once

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (R.SENT, 2, "")
    (message,) = published(agora)
    assert message["payload"] == {"type": "chatMessage", "data": data}


@pytest.mark.django_db
def test_backoff_grows_and_is_bounded():
    assert [rtm_messages.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [
        5,
        10,
        20,
        40,
        60,
        60,
    ]


@pytest.mark.django_db
def test_after_the_last_attempt_a_message_is_dropped(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("rtm.channel-message", "error", status=500, times=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(send(client_for(viewer), stream), 201)
    row = RtmMessage.objects.get()
    for _ in range(rtm_messages.MAX_ATTEMPTS - 1):
        make_due(row)
        periodic.retry_rtm_messages()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (R.DROPPED, rtm_messages.MAX_ATTEMPTS)
    assert row.last_error.startswith("Given up after 5 attempts")
    make_due(row)
    assert periodic.retry_rtm_messages() == {"enqueued": 0}
    # The history still has the message.
    assert ChatMessage.objects.shown().count() == 1


@pytest.mark.django_db
def test_a_message_too_old_to_show_live_is_dropped_unsent(
    agora, client_for, stream, viewer, settings, django_capture_on_commit_callbacks
):
    agora.answer("rtm.channel-message", "error", status=500)
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(send(client_for(viewer), stream), 201)
    row = RtmMessage.objects.get()
    RtmMessage.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.CHAT_RTM_MAX_AGE_SECONDS + 1)
    )
    make_due(row)
    periodic.retry_rtm_messages()
    row.refresh_from_db()
    assert row.status == R.DROPPED and "Not sent within 300 s" in row.last_error
    assert len(agora.requests) == 1  # the failed attempt only


@pytest.mark.django_db
def test_a_removal_is_published_and_a_message_removed_before_sending_is_never_sent(
    agora, client_for, stream, viewer, moderator, django_capture_on_commit_callbacks
):
    agora.answer("rtm.channel-message", "error", status=500)
    with django_capture_on_commit_callbacks(execute=True):
        data = assert_envelope(send(client_for(viewer), stream), 201)
    first = RtmMessage.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        chat_message_remove(actor=moderator, message_id=data["_id"], reason="Spam")

    removal = RtmMessage.objects.exclude(pk=first.pk).get()
    assert (removal.event, removal.status) == (RtmEvent.CHAT_MESSAGE_REMOVED, R.SENT)
    (message,) = published(agora)
    assert message["payload"] == {
        "type": "chatMessageRemoved",
        "data": {"_id": data["_id"], "streamId": stream.pk},
    }
    make_due(first)
    periodic.retry_rtm_messages()
    first.refresh_from_db()
    assert first.status == R.DROPPED and "removed before it was sent" in first.last_error
    assert len(agora.messages) == 1


@pytest.mark.django_db
def test_running_a_message_twice_sends_it_once(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(send(client_for(viewer), stream), 201)
    row = RtmMessage.objects.get()
    assert rtm_message_run(row.pk) == rtm_messages.SKIPPED
    assert len(agora.messages) == 1


@pytest.mark.django_db
def test_without_agora_credentials_nothing_is_recorded(client_for, stream, viewer, settings):
    settings.AGORA_CUSTOMER_KEY = ""
    assert_envelope(send(client_for(viewer), stream), 201)
    assert not RtmMessage.objects.exists()


@pytest.mark.django_db
def test_a_broker_down_at_the_commit_still_answers_and_the_sweep_sends_it(
    agora, client_for, stream, viewer, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    with monkeypatch.context() as patched:
        patched.setattr(rtm_message_run, "apply_async", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            assert_envelope(send(client_for(viewer), stream), 201)
    assert agora.messages == []
    assert periodic.retry_rtm_messages() == {"enqueued": 1}
    assert len(agora.messages) == 1  # sent once, by the sweep


@pytest.mark.django_db
def test_the_staff_command_publishes_what_is_due(
    agora, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora.answer("rtm.channel-message", "error", status=500)
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(send(client_for(viewer), stream), 201)
    row = RtmMessage.objects.get()
    make_due(row)
    dry = io.StringIO()
    call_command("retry_rtm_messages", "--dry-run", stdout=dry)
    assert f"would publish message {row.pk} (chatMessage)" in dry.getvalue()
    assert len(agora.messages) == 0
    out = io.StringIO()
    call_command("retry_rtm_messages", stdout=out)
    assert "Sent 1 message(s); 0 failed again" in out.getvalue()
    assert len(agora.messages) == 1
