"""Kicking users from Agora channels through Agora's REST API (issue 5, "Agora events").

A small HTTP server on 127.0.0.1 stands in for Agora's REST API: it records each
request (path, Basic auth header, JSON body) and answers 200, 500, or not at all.
The moderator's action is made through the API; the kick is sent once it commits."""

import base64
import io
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.utils import timezone

from livestreams.agora.kicks import MAX_ATTEMPTS, backoff
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import (
    AgoraKick,
    AgoraKickStatus,
    BanAction,
    LiveStream,
    LiveStreamBan,
    Participant,
)
from tests.api import assert_envelope
from tests.factories import LiveStreamFactory, UserFactory

BAN_URL = "/api/v1/live-stream-ban"
API = "/api/v1/live-stream"
KEY, SECRET = "customer-key-for-tests", "customer-secret-for-tests"
APP_ID = "0123456789abcdef0123456789abcdef"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
TIMEOUT = 0.5


# --- The stand-in for Agora's REST API --------------------------------------------------


class AgoraStandIn:
    """What the stand-in received, and how it answers: "ok", "error" (a 500), "hang"
    (no answer until the test is over) or "not json" (a 200 that is not JSON)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.mode = "ok"
        self.release = threading.Event()
        self.next_rule_id = 1000
        self.lock = threading.Lock()

    def record(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        with self.lock:
            self.requests.append(
                {
                    "method": handler.command,
                    "path": handler.path,
                    "authorization": handler.headers.get("Authorization"),
                    "content_type": handler.headers.get("Content-Type"),
                    "body": json.loads(raw),
                }
            )


def _handler_for(stand_in: AgoraStandIn):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            stand_in.record(self, raw)
            if stand_in.mode == "hang":
                stand_in.release.wait(10)
                return
            if stand_in.mode == "error":
                self._answer(500, b'{"message": "internal error"}')
                return
            if stand_in.mode == "not json":
                self._answer(200, b"<html>gateway</html>")
                return
            with stand_in.lock:
                stand_in.next_rule_id += 1
                rule_id = stand_in.next_rule_id
            self._answer(200, json.dumps({"status": "success", "id": rule_id}).encode())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def agora_api(settings):
    """The stand-in, running on a free local port, and the settings pointing at it."""
    stand_in = AgoraStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(stand_in))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    settings.AGORA_CUSTOMER_KEY = KEY
    settings.AGORA_CUSTOMER_SECRET = SECRET
    settings.AGORA_APP_ID = APP_ID
    settings.AGORA_REST_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.AGORA_REST_TIMEOUT = TIMEOUT
    settings.AGORA_KICK_MINUTES = 60
    yield stand_in
    stand_in.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _private_lock_dir(settings, tmp_path):
    """The retry command's file lock (SQLite) in a folder of this test only."""
    settings.VAR_DIR = tmp_path


# --- Helpers ---------------------------------------------------------------------------


@pytest.fixture
def moderator(db):
    return UserFactory(moderator=True)


@pytest.fixture
def stream(db):
    now = timezone.now()
    return LiveStreamFactory(
        status=LiveStreamStatus.ACTIVE, started_at=now, host_joined_at=now, host_present=True
    )


@pytest.fixture
def viewer(stream):
    participant = Participant.objects.create(live_stream=stream, user=UserFactory())
    return participant.user


def ban(client, stream, target, action=BanAction.BLOCK):
    body = {"liveStreamId": stream.pk, "targetUserId": target.pk, "actionType": action}
    return client.post(BAN_URL, body, format="json")


def end(client, stream):
    return client.post(f"{API}/{stream.pk}/end")


def kicking_rule(cname: str, uid: int | None = None, minutes: int = 60) -> dict:
    body = {"appid": APP_ID, "cname": cname}
    if uid is not None:
        body["uid"] = uid
    return {**body, "time": minutes, "privileges": ["join_channel"]}


def run_retry(*args) -> str:
    out = io.StringIO()
    call_command("retry_agora_kicks", *args, stdout=out)
    return out.getvalue()


def make_due(kick: AgoraKick) -> None:
    AgoraKick.objects.filter(pk=kick.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# --- The kick follows the moderator's action -------------------------------------------


@pytest.mark.django_db
def test_a_block_ban_kicks_the_user_once_after_the_commit(
    agora_api, client_for, moderator, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = ban(client_for(moderator), stream, viewer)
        assert agora_api.requests == []  # nothing is sent before the ban commits

    assert_envelope(response, 200)
    assert len(callbacks) == 1
    assert agora_api.requests == [
        {
            "method": "POST",
            "path": "/dev/v1/kicking-rule",
            "authorization": BASIC,
            "content_type": "application/json",
            "body": kicking_rule(stream.channel_name, viewer.agora_uid),
        }
    ]
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts, kick.reason, kick.uid, kick.last_error) == (
        AgoraKickStatus.DONE,
        1,
        "ban",
        viewer.agora_uid,
        "",
    )
    assert kick.rule_id == 1001
    assert kick.done_at is not None
    assert kick.live_stream_id == stream.pk


@pytest.mark.django_db
def test_the_creator_banning_kicks_too(
    agora_api, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(ban(client_for(stream.creator), stream, viewer), 200)

    assert [r["body"] for r in agora_api.requests] == [
        kicking_rule(stream.channel_name, viewer.agora_uid)
    ]


@pytest.mark.django_db
def test_a_chat_only_ban_kicks_nobody(
    agora_api, client_for, moderator, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(ban(client_for(moderator), stream, viewer, BanAction.CHAT_ONLY), 200)

    assert agora_api.requests == []
    assert not AgoraKick.objects.exists()


@pytest.mark.django_db
def test_a_refused_ban_kicks_nobody(
    agora_api, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    stranger = UserFactory()  # neither the creator nor a moderator
    with django_capture_on_commit_callbacks(execute=True):
        assert ban(client_for(stranger), stream, viewer).status_code == 403

    assert agora_api.requests == []
    assert not AgoraKick.objects.exists()


@pytest.mark.django_db
def test_ending_a_stream_kicks_everyone_from_its_channel(
    agora_api, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = end(client_for(stream.creator), stream)

    assert assert_envelope(response, 200)["status"] == "ended"
    assert len(agora_api.requests) == 1
    request = agora_api.requests[0]
    assert (request["path"], request["authorization"]) == ("/dev/v1/kicking-rule", BASIC)
    assert request["body"] == kicking_rule(stream.channel_name)
    assert "uid" not in request["body"]
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.reason, kick.uid) == (AgoraKickStatus.DONE, "end", None)


@pytest.mark.django_db
def test_a_moderator_removing_a_live_stream_kicks_everyone(
    agora_api, client_for, moderator, stream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(client_for(moderator).delete(f"{API}/{stream.pk}"), 200)

    assert [r["body"] for r in agora_api.requests] == [kicking_rule(stream.channel_name)]


@pytest.mark.django_db
def test_the_rule_lasts_the_configured_minutes(
    agora_api, settings, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    settings.AGORA_KICK_MINUTES = 5
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(ban(client_for(stream.creator), stream, viewer), 200)

    assert agora_api.requests[0]["body"]["time"] == 5


# --- A failure at Agora never blocks the moderator --------------------------------------


FAILURES = {
    "500": ("error", "HTTP 500"),
    "timeout": ("hang", "timed out"),
    "not JSON": ("not json", "not JSON"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("failure", FAILURES, ids=list(FAILURES))
def test_a_failing_kick_leaves_the_ban_in_place_and_is_recorded_for_retry(
    agora_api, client_for, moderator, stream, viewer, django_capture_on_commit_callbacks, failure
):
    agora_api.mode, error = FAILURES[failure]
    started = time.monotonic()

    with django_capture_on_commit_callbacks(execute=True):
        response = ban(client_for(moderator), stream, viewer)

    assert time.monotonic() - started < TIMEOUT + 2
    data = assert_envelope(response, 200)
    assert data["isActive"] is True
    assert LiveStreamBan.objects.in_force().filter(live_stream=stream, user=viewer).exists()
    assert Participant.objects.get(user=viewer).is_present is False
    assert len(agora_api.requests) == 1
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts) == (AgoraKickStatus.FAILED, 1)
    assert error in kick.last_error
    assert SECRET not in kick.last_error
    assert kick.next_attempt_at > timezone.now()
    assert kick.claimed_until is None


@pytest.mark.django_db
def test_a_failing_kick_leaves_the_stream_ended(
    agora_api, client_for, stream, viewer, django_capture_on_commit_callbacks
):
    agora_api.mode = "error"

    with django_capture_on_commit_callbacks(execute=True):
        response = end(client_for(stream.creator), stream)

    assert assert_envelope(response, 200)["status"] == "ended"
    assert LiveStream.objects.get(pk=stream.pk).status == LiveStreamStatus.ENDED
    assert Participant.objects.get(user=viewer).is_present is False
    assert AgoraKick.objects.get().status == AgoraKickStatus.FAILED


@pytest.mark.django_db
def test_an_unreachable_agora_is_a_failed_kick(
    agora_api, settings, client_for, stream, viewer, django_capture_on_commit_callbacks, caplog
):
    # A port nobody listens on: the connection is refused.
    settings.AGORA_REST_BASE_URL = "http://127.0.0.1:9"

    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(ban(client_for(stream.creator), stream, viewer), 200)

    kick = AgoraKick.objects.get()
    assert kick.status == AgoraKickStatus.FAILED
    assert "unreachable" in kick.last_error
    logged = [r.getMessage() for r in caplog.records if r.name == "allmine.agora"]
    assert len(logged) == 1
    assert "failed" in logged[0]
    assert SECRET not in logged[0]
    assert KEY not in logged[0]


# --- retry_agora_kicks ------------------------------------------------------------------


@pytest.fixture
def failed_kick(agora_api, client_for, stream, viewer, django_capture_on_commit_callbacks):
    agora_api.mode = "error"
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(ban(client_for(stream.creator), stream, viewer), 200)
    agora_api.mode = "ok"
    agora_api.requests.clear()
    return AgoraKick.objects.get()


@pytest.mark.django_db
def test_the_retry_waits_for_the_backoff(agora_api, failed_kick):
    output = run_retry()

    assert "Sent 0 kick(s)" in output
    assert agora_api.requests == []
    assert AgoraKick.objects.get().status == AgoraKickStatus.FAILED


@pytest.mark.django_db
def test_the_retry_sends_a_failed_kick_and_is_idempotent(agora_api, failed_kick, stream, viewer):
    make_due(failed_kick)

    output = run_retry()

    assert "Sent 1 kick(s); 0 failed again" in output
    assert [(r["path"], r["authorization"], r["body"]) for r in agora_api.requests] == [
        ("/dev/v1/kicking-rule", BASIC, kicking_rule(stream.channel_name, viewer.agora_uid))
    ]
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts, kick.last_error) == (AgoraKickStatus.DONE, 2, "")

    again = run_retry()

    assert "Sent 0 kick(s)" in again
    assert len(agora_api.requests) == 1
    assert AgoraKick.objects.get().attempts == 2


@pytest.mark.django_db
def test_a_retry_that_fails_again_backs_off_longer(agora_api, failed_kick):
    agora_api.mode = "error"
    make_due(failed_kick)
    before = timezone.now()

    output = run_retry()

    assert "Sent 0 kick(s); 1 failed again" in output
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts) == (AgoraKickStatus.FAILED, 2)
    assert kick.next_attempt_at >= before + backoff(2) - timedelta(seconds=1)
    assert backoff(2) > backoff(1)


@pytest.mark.django_db
def test_the_retry_dry_run_sends_nothing(agora_api, failed_kick, stream, viewer):
    make_due(failed_kick)

    output = run_retry("--dry-run")

    assert f"would send kick {failed_kick.pk} (ban): uid {viewer.agora_uid}" in output
    assert "[dry run] 1 kick(s) would be sent" in output
    assert agora_api.requests == []
    assert AgoraKick.objects.get().attempts == 1


@pytest.mark.django_db
def test_a_kick_whose_send_never_ran_is_picked_up(agora_api, client_for, stream, viewer):
    # The ban commits but the process dies before its commit callback runs (here:
    # the callbacks are never executed).
    assert_envelope(ban(client_for(stream.creator), stream, viewer), 200)
    kick = AgoraKick.objects.get()
    assert (kick.status, kick.attempts) == (AgoraKickStatus.PENDING, 0)
    assert "Sent 0 kick(s)" in run_retry()  # not before FIRST_RETRY_AFTER

    make_due(kick)
    assert "Sent 1 kick(s)" in run_retry()

    assert len(agora_api.requests) == 1
    assert AgoraKick.objects.get().status == AgoraKickStatus.DONE


@pytest.mark.django_db
def test_a_kick_being_sent_elsewhere_is_not_sent_twice(agora_api, failed_kick):
    make_due(failed_kick)
    AgoraKick.objects.filter(pk=failed_kick.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=30)
    )

    assert "1 skipped" in run_retry()
    assert agora_api.requests == []


@pytest.mark.django_db
def test_a_kick_is_given_up_after_the_maximum_attempts(agora_api, failed_kick):
    AgoraKick.objects.filter(pk=failed_kick.pk).update(
        attempts=MAX_ATTEMPTS, next_attempt_at=timezone.now() - timedelta(hours=1)
    )

    output = run_retry()

    assert "Sent 0 kick(s)" in output
    assert f"1 given up after {MAX_ATTEMPTS} attempts" in output
    assert agora_api.requests == []


# --- Not configured ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["AGORA_CUSTOMER_KEY", "AGORA_CUSTOMER_SECRET"])
def test_without_a_customer_key_and_secret_nothing_is_sent(
    agora_api, settings, client_for, stream, viewer, django_capture_on_commit_callbacks, missing
):
    setattr(settings, missing, "")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert_envelope(ban(client_for(stream.creator), stream, viewer), 200)
        assert_envelope(end(client_for(stream.creator), stream), 200)

    assert callbacks == []
    assert agora_api.requests == []
    assert not AgoraKick.objects.exists()
    assert "not configured" in run_retry()
