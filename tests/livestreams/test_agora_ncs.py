"""The Notification Center's details (issue 11, and finding 3 of issue 10):
`clientSeq` is an unsigned 64-bit integer (2**63 and above stored exactly and
ordered), a signed body holding a lone surrogate is a 400 (never a 500 Agora
would retry forever), a user Agora reports as abnormal (left with reason 999) is
kicked once 60 s later, and old notices are pruned."""

import importlib
import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from livestreams.models import (
    AgoraClientSequence,
    AgoraKick,
    AgoraKickReason,
    AgoraKickStatus,
    AgoraNotice,
    Participant,
)
from livestreams.services.agora_notices import agora_notices_prune
from livestreams.tasks import periodic
from tests.api import assert_error
from tests.helpers import enqueued
from tests.livestreams.conftest import APP_ID
from tests.livestreams.test_agora_events import (
    AUDIENCE_JOINED,
    AUDIENCE_LEFT,
    BROADCASTER_LEFT,
    deliver,
    notice,
    post_raw,
    sign,
    stored,
    watcher,
)
from tests.livestreams.test_agora_events import (
    stream as stream,
)

TOP = 2**64 - 1
HALF = 2**63

pytestmark = pytest.mark.usefixtures("_ncs_secret")


@pytest.fixture
def _ncs_secret(settings):
    from tests.livestreams.test_agora_events import SECRET

    settings.AGORA_NCS_SECRET = SECRET


# --- clientSeq: an unsigned 64-bit integer ------------------------------------------------


@pytest.mark.django_db
def test_client_seq_of_2_63_and_above_is_applied_stored_exactly_and_ordered(api_client, stream):
    viewer = watcher(stream, present=False)
    uid = viewer.user.agora_uid

    joined = notice(AUDIENCE_JOINED, stream.channel_name, uid=uid, seq=HALF + 5)
    assert deliver(api_client, joined) == "applied"
    late = notice(AUDIENCE_LEFT, stream.channel_name, uid=uid, seq=HALF + 4)
    assert deliver(api_client, late) == "stale"  # older, though both are above 2**63
    assert Participant.objects.get(pk=viewer.pk).is_present is True
    left = notice(AUDIENCE_LEFT, stream.channel_name, uid=uid, seq=TOP)
    assert deliver(api_client, left) == "applied"

    assert Participant.objects.get(pk=viewer.pk).is_present is False
    assert stored(joined).client_seq == HALF + 5
    assert stored(left).client_seq == TOP
    sequence = AgoraClientSequence.objects.get(uid=uid)
    assert sequence.client_seq == TOP
    # Order and comparisons in the database follow the unsigned values.
    assert list(
        AgoraNotice.objects.filter(uid=uid)
        .order_by("client_seq")
        .values_list("client_seq", flat=True)
    ) == [HALF + 4, HALF + 5, TOP]
    assert AgoraNotice.objects.filter(client_seq__gt=HALF + 4).count() == 2
    assert AgoraNotice.objects.filter(client_seq__lt=HALF).count() == 0


@pytest.mark.django_db
def test_small_and_zero_client_seqs_still_order_below_the_large_ones(api_client, stream):
    viewer = watcher(stream, present=False)
    uid = viewer.user.agora_uid
    assert deliver(api_client, notice(AUDIENCE_JOINED, stream.channel_name, uid=uid, seq=0)) == (
        "applied"
    )
    assert deliver(api_client, notice(AUDIENCE_LEFT, stream.channel_name, uid=uid, seq=HALF)) == (
        "applied"
    )
    assert deliver(api_client, notice(AUDIENCE_JOINED, stream.channel_name, uid=uid, seq=1)) == (
        "stale"
    )
    assert AgoraClientSequence.objects.get(uid=uid).client_seq == HALF


@pytest.mark.django_db
def test_a_client_seq_beyond_64_bits_is_a_400(api_client, stream):
    viewer = watcher(stream)
    message = notice(AUDIENCE_LEFT, stream.channel_name, uid=viewer.user.agora_uid, seq=TOP + 1)
    body = json.dumps(message).encode()
    assert_error(post_raw(api_client, body, sign(body)), 400, contains="payload.clientSeq")
    assert not AgoraNotice.objects.exists()


@pytest.mark.django_db
def test_an_unhandled_event_keeps_a_large_client_seq_too(api_client):
    message = {
        "noticeId": "unhandled-1",
        "productId": 1,
        "eventType": 107,
        "payload": {"channelName": "c", "uid": 5, "clientSeq": TOP},
    }
    assert deliver(api_client, message) == "unknown_event"
    assert stored(message).client_seq == TOP


@pytest.mark.django_db
def test_the_migration_shifts_stored_sequences_and_back():
    """The data migration moves the values the old signed column held (0 ..
    2**63-1) into the new storage, and back."""
    migration = importlib.import_module("livestreams.migrations.0009_agora_client_seq_unsigned")
    editor = SimpleNamespace(connection=connection)
    table = connection.ops.quote_name(AgoraClientSequence._meta.db_table)
    with connection.cursor() as cursor:
        for uid, old in ((1, 7), (2, HALF - 1), (3, 0)):
            cursor.execute(
                f"INSERT INTO {table} (channel_name, uid, client_seq, updated_at) "
                "VALUES (%s, %s, %s, %s)",
                ["c", uid, old, timezone.now()],
            )

    migration.shift(None, editor)

    values = dict(AgoraClientSequence.objects.values_list("uid", "client_seq"))
    assert values == {1: 7, 2: HALF - 1, 3: 0}
    AgoraClientSequence.objects.filter(uid=3).update(client_seq=TOP)  # the new range
    migration.unshift(None, editor)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT uid, client_seq FROM {table} ORDER BY uid")
        assert cursor.fetchall() == [(1, 7), (2, HALF - 1), (3, HALF - 1)]


# --- A lone surrogate (issue 10, finding 3) --------------------------------------------------


SURROGATES = {
    "in noticeId": b'{"noticeId": "\\ud800", "eventType": 101, "payload": {"channelName": "c"}}',
    "in a channel name": (
        b'{"noticeId": "a", "eventType": 101, "payload": {"channelName": "c\\udfff"}}'
    ),
    "in a key": (
        b'{"noticeId": "a", "eventType": 101, "payload": {"channelName": "c", "\\ud800": 1}}'
    ),
    "deep in an unknown event": (
        b'{"noticeId": "a", "eventType": 7, "payload": {"x": [{"y": ["\\udbff"]}]}}'
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", SURROGATES, ids=list(SURROGATES))
def test_a_signed_body_with_a_lone_surrogate_is_a_400(api_client, case):
    body = SURROGATES[case]

    response = post_raw(api_client, body, sign(body))

    assert_error(response, 400, contains="lone surrogate")
    assert not AgoraNotice.objects.exists()


@pytest.mark.django_db
def test_a_proper_surrogate_pair_is_text_and_accepted(api_client):
    body = b'{"noticeId": "emoji-\\ud83c\\udf89", "eventType": 7, "payload": {}}'
    response = post_raw(api_client, body, sign(body))
    assert response.status_code == 200
    assert AgoraNotice.objects.get().notice_id == "emoji-🎉"


# --- Reason 999: an abnormal user is kicked once, a minute later ---------------------------


def left_with(message: dict, reason: int) -> dict:
    message["payload"]["reason"] = reason
    return message


@pytest.mark.django_db
@pytest.mark.parametrize("event", [BROADCASTER_LEFT, AUDIENCE_LEFT])
def test_a_user_agora_reports_as_abnormal_is_kicked_once_60_s_later(
    agora, api_client, stream, event, django_capture_on_commit_callbacks
):
    viewer = watcher(stream)
    uid = viewer.user.agora_uid
    message = left_with(notice(event, stream.channel_name, uid=uid, seq=5), 999)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert deliver(api_client, message) in ("applied", "not_in_stream")

    kick = AgoraKick.objects.get()
    assert (kick.reason, kick.uid, kick.minutes, kick.channel_name) == (
        AgoraKickReason.ABNORMAL,
        uid,
        0,
        stream.channel_name,
    )
    # Enqueued for 60 s later (Celery's countdown); run eagerly now, it waits.
    (callback,) = enqueued(callbacks)
    assert (callback.task.name, callback.args) == ("livestreams.agora_kick_run", (kick.pk,))
    assert callback.countdown == 60.0
    assert agora.requests == []
    assert kick.next_attempt_at >= timezone.now() + timedelta(seconds=55)
    assert AgoraKick.objects.get().status == AgoraKickStatus.PENDING

    AgoraKick.objects.filter(pk=kick.pk).update(next_attempt_at=timezone.now())
    periodic.retry_agora_kicks.delay()

    (post,) = agora.requests
    assert post.body == {
        "appid": APP_ID,
        "cname": stream.channel_name,
        "uid": uid,
        "time": 0,  # kicked out once: free to come back
        "privileges": ["join_channel"],
    }
    assert agora.rules == {}
    assert [k["uid"] for k in agora.one_time_kicks] == [uid]
    assert AgoraKick.objects.get().status == AgoraKickStatus.DONE


@pytest.mark.django_db
def test_reason_999_twice_kicks_once_and_other_reasons_never(agora, api_client, stream):
    uid = watcher(stream).user.agora_uid
    for seq, reason in ((5, 999), (6, 999), (7, 2)):
        deliver(
            api_client,
            left_with(notice(AUDIENCE_LEFT, stream.channel_name, uid=uid, seq=seq), reason),
        )
    assert AgoraKick.objects.count() == 1


@pytest.mark.django_db
def test_reason_999_in_the_consoles_test_channel_kicks_nobody(agora, api_client):
    # The console's "Check" sends test events for channel test_webhook, uid 12121212.
    message = left_with(notice(AUDIENCE_LEFT, "test_webhook", uid=12121212, seq=1), 999)
    assert deliver(api_client, message) == "unknown_channel"
    assert not AgoraKick.objects.exists()


# --- Pruning ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_notices_and_sequences_older_than_the_retention_are_pruned(settings, api_client, stream):
    settings.AGORA_NOTICE_RETENTION_DAYS = 30
    viewer = watcher(stream)
    uid = viewer.user.agora_uid
    old = notice(AUDIENCE_LEFT, stream.channel_name, uid=uid, seq=1)
    new = notice(AUDIENCE_JOINED, stream.channel_name, uid=uid, seq=2)
    other = notice(AUDIENCE_JOINED, "another-channel", uid=uid, seq=1)
    for message in (old, new, other):
        deliver(api_client, message)
    long_ago = timezone.now() - timedelta(days=31)
    AgoraNotice.objects.filter(notice_id__in=[old["noticeId"], other["noticeId"]]).update(
        received_at=long_ago
    )
    AgoraClientSequence.objects.create(channel_name="an-old-channel", uid=uid, client_seq=3)
    AgoraClientSequence.objects.filter(channel_name="an-old-channel").update(updated_at=long_ago)

    out = io.StringIO()
    call_command("prune_agora_notices", "--dry-run", stdout=out)
    assert "2 notice(s) and 1 sequence(s) older than 30 days" in out.getvalue()
    assert AgoraNotice.objects.count() == 3

    assert periodic.prune_agora_notices.delay().get() == {"notices": 2, "sequences": 1}

    assert list(AgoraNotice.objects.values_list("notice_id", flat=True)) == [new["noticeId"]]
    assert list(AgoraClientSequence.objects.values_list("channel_name", flat=True)) == [
        stream.channel_name
    ]
    assert agora_notices_prune() == (0, 0)  # nothing left to prune
