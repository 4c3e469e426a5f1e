"""The server publishing a message into a Signaling (RTM) channel through Agora's
RESTful API (`agora.rtm.publish_channel_message`), against the stand-in."""

import pytest

from livestreams.agora.rest import AgoraRestError
from livestreams.agora.rtm import MAX_PAYLOAD_BYTES, publish_channel_message
from tests.livestreams.conftest import APP_ID, BASIC


def test_a_message_is_published_in_the_channel(agora):
    request_id = publish_channel_message(
        channel_name="yeni-urun-1a2b", payload='{"text": "Merhaba"}'
    )

    (request,) = agora.requests
    assert (request.method, request.path, request.authorization, request.content_type) == (
        "POST",
        f"/dev/v2/project/{APP_ID}/rtm/users/allmine-server/channel_messages",
        BASIC,
        "application/json",
    )
    assert request.body == {
        "channel_name": "yeni-urun-1a2b",
        "enable_historical_messaging": False,
        "payload": '{"text": "Merhaba"}',
    }
    assert agora.messages == [
        {
            "from": "allmine-server",
            "channel": "yeni-urun-1a2b",
            "payload": '{"text": "Merhaba"}',
            "history": False,
            "requestId": request_id,
        }
    ]


def test_the_sender_and_history_can_be_chosen(agora, settings):
    settings.AGORA_RTM_SERVER_USER_ID = "moderation-bot"
    publish_channel_message(channel_name="c", payload="hi", store_in_history=True)
    publish_channel_message(channel_name="c", payload="hi", sender_user_id="user #7")

    assert [m["from"] for m in agora.messages] == ["moderation-bot", "user #7"]
    assert agora.messages[0]["history"] is True
    assert agora.requests[1].path.endswith("/rtm/users/user%20%237/channel_messages")


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"channel_name": "", "payload": "x"}, "channel_name"),
        ({"channel_name": "c" * 65, "payload": "x"}, "channel_name"),
        ({"channel_name": "c", "payload": ""}, "payload"),
        ({"channel_name": "c", "payload": "ş" * (MAX_PAYLOAD_BYTES // 2 + 1)}, "payload"),
        ({"channel_name": "c", "payload": "x", "sender_user_id": " bot"}, "space"),
    ],
)
def test_what_agora_would_refuse_is_never_sent(agora, kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        publish_channel_message(**kwargs)
    assert agora.requests == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"mode": "error", "status": 429}, "HTTP 429"),
        ({"mode": "error", "status": 200, "body": {"result": "failed"}}, "did not send"),
        ({"mode": "504", "effect": False}, "HTTP 504"),
        ({"mode": "slow", "delay": 2, "effect": False}, "timed out"),
    ],
)
def test_a_message_agora_does_not_confirm_is_an_error(agora, answer, error):
    agora.answer("rtm.channel-message", **answer)
    with pytest.raises(AgoraRestError, match=error):
        publish_channel_message(channel_name="c", payload="hi")
