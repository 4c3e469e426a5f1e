"""Cloud Recording feeds replays (issue 11): a stream created with `recording:
true` is recorded (acquire + start in mix mode into our storage) when its creator
goes live, stopped when it ends, expires or is removed, and its `recordingUrl`
is set once the files are uploaded (stop's file list, or the Notification
Center's cloud-recording events). The stand-in plays Agora; the tasks run
eagerly after each commit."""

import hashlib
import hmac
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionStatus, User
from livestreams.models import LiveStream, Recording, RecordingStatus
from livestreams.services import recording as recording_service
from livestreams.services.recording import MAX_ATTEMPTS, recording_run
from livestreams.tasks import periodic
from tests import agora_tokens
from tests.api import assert_envelope
from tests.factories import LiveStreamFactory, UserFactory
from tests.helpers import enqueued
from tests.livestreams.conftest import APP_ID, BASIC, BUCKET, REST_TIMEOUT

API = "/api/v1/live-stream"
R = RecordingStatus
CERTIFICATE = "fedcba9876543210fedcba9876543210"


@pytest.fixture
def recorded(agora, settings, db):
    settings.AGORA_APP_CERTIFICATE = CERTIFICATE
    return LiveStreamFactory(recording=True, title="Recorded")


def go_live(client_for, stream, capture):
    with capture(execute=True):
        return assert_envelope(
            client_for(stream.creator).post(
                f"{API}/join-as-creator", {"liveStreamId": stream.pk}, format="json"
            ),
            200,
        )


def end(client_for, stream, capture):
    with capture(execute=True):
        return assert_envelope(client_for(stream.creator).post(f"{API}/{stream.pk}/end"), 200)


def make_due(rec: Recording) -> None:
    Recording.objects.filter(pk=rec.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def run_retry() -> str:
    out = io.StringIO()
    call_command("retry_agora_recordings", stdout=out)
    return out.getvalue()


def playlist(rec: Recording, stream) -> str:
    return f"recordings/{stream.pk}/{rec.sid}_{stream.channel_name}.m3u8"


# --- Going live starts the recording ---------------------------------------------------


@pytest.mark.django_db
def test_going_live_starts_recording_the_channel_into_our_storage(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(recorded.creator).post(
            f"{API}/join-as-creator", {"liveStreamId": recorded.pk}, format="json"
        )
        assert agora.requests == []  # the request waits for nothing at Agora

    assert_envelope(response, 200)
    assert len(enqueued(callbacks)) == 1
    acquire, start = agora.requests
    rec = Recording.objects.get()
    assert (acquire.method, acquire.path, acquire.authorization) == (
        "POST",
        f"/v1/apps/{APP_ID}/cloud_recording/acquire",
        BASIC,
    )
    assert acquire.body == {
        "cname": recorded.channel_name,
        "uid": str(rec.uid),
        "clientRequest": {"scene": 0, "resourceExpiredHour": 24},
    }
    resource = agora.recordings[rec.sid]["resourceId"]
    assert start.path == (f"/v1/apps/{APP_ID}/cloud_recording/resourceid/{resource}/mode/mix/start")
    client = start.body["clientRequest"]
    assert (start.body["cname"], start.body["uid"]) == (recorded.channel_name, str(rec.uid))
    assert client["storageConfig"] == {
        "vendor": 11,
        "region": 0,
        "bucket": BUCKET,
        "accessKey": "storage-access-key",
        "secretKey": "storage-secret-key",
        "fileNamePrefix": ["recordings", recorded.pk],
        "extensionParams": {"endpoint": "https://s3.example.com"},
    }
    assert client["recordingConfig"]["channelType"] == 1  # live broadcasting
    assert client["recordingConfig"]["streamTypes"] == 2
    assert client["recordingFileConfig"] == {"avFileType": ["hls"]}
    # The recorder joins with a subscriber token of its own uid, no user's.
    privileges = agora_tokens.verify(
        client["token"],
        app_id=APP_ID,
        certificate=CERTIFICATE,
        channel=recorded.channel_name,
        uid_or_account=rec.uid,
    )
    assert set(privileges) == agora_tokens.SUBSCRIBER_PRIVILEGES
    assert not User.objects.filter(agora_uid=rec.uid).exists()
    assert (rec.status, rec.resource_id, rec.attempts, rec.last_error) == (
        R.RECORDING,
        resource,
        0,
        "",
    )
    assert rec.started_at is not None
    assert rec.next_attempt_at > timezone.now()  # checked later


@pytest.mark.django_db
def test_a_stream_not_recorded_is_not_recorded(
    agora, client_for, django_capture_on_commit_callbacks
):
    stream = LiveStreamFactory(recording=False)
    go_live(client_for, stream, django_capture_on_commit_callbacks)
    assert agora.requests == []
    assert not Recording.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "missing",
    ["AGORA_RECORDING_STORAGE_BUCKET", "AGORA_CUSTOMER_KEY", "AGORA_RECORDING_STORAGE_SECRET_KEY"],
)
def test_without_storage_or_rest_api_nothing_is_recorded(
    agora, recorded, settings, client_for, django_capture_on_commit_callbacks, missing
):
    setattr(settings, missing, "")
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    assert agora.requests_to("recording.acquire") == []
    assert not Recording.objects.exists()


@pytest.mark.django_db
def test_joining_again_while_recording_starts_no_second_recording(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    assert Recording.objects.count() == 1
    assert len(agora.requests_to("recording.start")) == 1


# --- Ending stops it, and the replay gets its URL ----------------------------------------


@pytest.mark.django_db
def test_ending_stops_the_recording_and_sets_the_recording_url(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    rec = Recording.objects.get()

    end(client_for, recorded, django_capture_on_commit_callbacks)

    stop = agora.requests_to("recording.stop")[0]
    assert stop.path.endswith(f"/sid/{rec.sid}/mode/mix/stop")
    assert stop.body == {
        "cname": recorded.channel_name,
        "uid": str(rec.uid),
        "clientRequest": {"async_stop": False},
    }
    rec.refresh_from_db()
    url = f"http://localhost:8000/media/{playlist(rec, recorded)}"
    assert (rec.status, rec.url) == (R.READY, url)
    assert rec.stopped_at and rec.ready_at
    assert LiveStream.objects.get(pk=recorded.pk).recording_url == url
    data = assert_envelope(client_for(recorded.creator).get(f"{API}/{recorded.pk}"), 200)
    assert data["recordingUrl"] == url  # the owner sees it


@pytest.mark.django_db
def test_mp4_where_configured(
    agora, recorded, settings, client_for, django_capture_on_commit_callbacks
):
    settings.AGORA_RECORDING_FORMAT = "mp4"
    settings.AGORA_RECORDING_PUBLIC_BASE_URL = "https://cdn.example.com"
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    start = agora.requests_to("recording.start")[0]
    assert start.body["clientRequest"]["recordingFileConfig"] == {"avFileType": ["hls", "mp4"]}

    end(client_for, recorded, django_capture_on_commit_callbacks)

    rec = Recording.objects.get()
    assert rec.url == (
        f"https://cdn.example.com/recordings/{recorded.pk}/{rec.sid}_{recorded.channel_name}_0.mp4"
    )
    assert LiveStream.objects.get(pk=recorded.pk).recording_url == rec.url


@pytest.mark.django_db
def test_a_moderator_removing_the_live_stream_stops_its_recording(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    moderator = UserFactory()
    moderator.user_permissions.add(Permission.objects.get(codename="moderate_livestream"))
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(client_for(moderator).delete(f"{API}/{recorded.pk}"), 200)

    assert len(agora.requests_to("recording.stop")) == 1
    assert Recording.objects.get().status == R.READY


@pytest.mark.django_db
def test_the_overdue_job_ending_a_stream_stops_its_recording(
    agora, recorded, settings, client_for, django_capture_on_commit_callbacks
):
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    LiveStream.objects.filter(pk=recorded.pk).update(
        started_at=timezone.now() - timedelta(hours=settings.LIVESTREAM_MAX_DURATION_HOURS + 1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert periodic.end_overdue_streams.delay().get() == {"ended": 1}

    assert Recording.objects.get().status == R.READY
    assert LiveStream.objects.get(pk=recorded.pk).recording_url


# --- Failures are retried, and visible ----------------------------------------------------


@pytest.mark.django_db
def test_a_failed_start_is_retried_with_a_fresh_resource_and_uid(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    agora.answer("recording.start", "slow", delay=3 * REST_TIMEOUT, effect=False)
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    rec = Recording.objects.get()
    assert (rec.status, rec.attempts, rec.resource_id) == (R.STARTING, 1, "")
    assert "Starting failed" in rec.last_error and "timed out" in rec.last_error
    first_uid = agora.requests_to("recording.acquire")[0].body["uid"]
    assert rec.uid != int(first_uid)

    assert "Worked on 0 recording(s)" in run_retry()  # not before its backoff
    make_due(rec)
    run_retry()

    rec.refresh_from_db()
    assert (rec.status, rec.attempts, rec.last_error) == (R.RECORDING, 0, "")
    assert len(agora.requests_to("recording.acquire")) == 2


@pytest.mark.django_db
def test_a_start_that_keeps_failing_is_given_up_and_shown_to_moderators(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    agora.answer("recording.acquire", "error", status=400, times=None)
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    rec = Recording.objects.get()
    Recording.objects.filter(pk=rec.pk).update(attempts=MAX_ATTEMPTS - 1)
    make_due(rec)

    recording_run(recording_id=rec.pk)

    rec.refresh_from_db()
    assert rec.status == R.FAILED
    assert rec.last_error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts. Starting failed")
    assert "HTTP 400" in rec.last_error
    moderator = _staff_moderator()
    page = moderator.get(reverse("admin:livestreams_recording_changelist") + "?attention=failed")
    assert page.status_code == 200
    assert "Gave up after" in page.content.decode()
    assert recorded.title in page.content.decode()


@pytest.mark.django_db
def test_ending_before_the_recording_started_cancels_it(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    agora.answer("recording.start", "error", status=500)
    go_live(client_for, recorded, django_capture_on_commit_callbacks)

    end(client_for, recorded, django_capture_on_commit_callbacks)

    assert Recording.objects.get().status == R.CANCELLED
    assert agora.requests_to("recording.stop") == []


@pytest.mark.django_db
def test_a_failed_stop_is_retried(agora, recorded, client_for, django_capture_on_commit_callbacks):
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    agora.answer("recording.stop", "error", status=500)
    end(client_for, recorded, django_capture_on_commit_callbacks)
    rec = Recording.objects.get()
    assert (rec.status, rec.attempts) == (R.STOPPING, 1)
    assert "Stopping failed" in rec.last_error
    assert not LiveStream.objects.get(pk=recorded.pk).recording_url

    make_due(rec)
    assert periodic.retry_agora_recordings.delay().get() == {"enqueued": 1}

    rec.refresh_from_db()
    assert rec.status == R.READY
    assert LiveStream.objects.get(pk=recorded.pk).recording_url == rec.url


@pytest.mark.django_db
def test_a_stop_agora_answers_404_uses_the_files_it_reported_before(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    rec = Recording.objects.get()
    make_due(rec)
    recording_run(recording_id=rec.pk)  # a check: the query names the playlist
    rec.refresh_from_db()
    assert rec.confirmed_at is not None
    assert [f["name"] for f in rec.files] == [playlist(rec, recorded)]
    agora.exit_recording(rec.sid)  # Agora ended it by itself (the channel was idle)
    LiveStream.objects.filter(pk=recorded.pk).update(host_present=False)

    end(client_for, recorded, django_capture_on_commit_callbacks)

    rec.refresh_from_db()
    assert rec.status == R.READY
    assert rec.url.endswith(playlist(rec, recorded))


@pytest.mark.django_db
def test_a_recording_agora_ended_while_the_host_is_live_is_kept_and_a_new_one_starts(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    first = Recording.objects.get()
    make_due(first)
    recording_run(recording_id=first.pk)  # confirmed, files known
    agora.exit_recording(first.sid)
    make_due(first)

    outcome = recording_run(recording_id=first.pk)

    first.refresh_from_db()
    assert first.status == R.READY
    assert outcome.follow_up is not None
    second = Recording.objects.get(pk=outcome.follow_up)
    assert second.status == R.STARTING
    recording_run(recording_id=second.pk)
    end(client_for, recorded, django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert second.status == R.READY
    # The replay plays the longest of the two.
    Recording.objects.filter(pk=first.pk).update(started_at=timezone.now() - timedelta(hours=1))
    recording_service._publish_replay(recorded.pk)
    assert LiveStream.objects.get(pk=recorded.pk).recording_url == first.url


# --- The Notification Center's cloud-recording events ---------------------------------------


NCS_SECRET = "ncs-recording-secret-for-tests"


def notice(event_type: int, sid: str, cname: str, details: dict) -> bytes:
    return json.dumps(
        {
            "noticeId": f"rec-{event_type}-{sid}",
            "productId": 3,
            "eventType": event_type,
            "notifyMs": 1,
            "payload": {
                "cname": cname,
                "uid": "12345",
                "sid": sid,
                "sequence": 1,
                "sendts": 1_700_000_000_000,
                "serviceType": 2,
                "details": details,
            },
        }
    ).encode()


def deliver(api_client, body: bytes, secret: str = NCS_SECRET):
    return api_client.post(
        "/api/v1/agora/events",
        body,
        content_type="application/json",
        HTTP_AGORA_SIGNATURE_V2=hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    )


@pytest.mark.django_db
def test_the_uploaded_event_sets_the_recording_url(
    agora, recorded, settings, api_client, client_for, django_capture_on_commit_callbacks
):
    settings.AGORA_NCS_SECRET = "the-rtc-events-secret"
    settings.AGORA_NCS_RECORDING_SECRET = NCS_SECRET  # Cloud Recording's own secret
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    agora.answer("recording.stop", "error", status=400, times=None, body={"code": 50})
    end(client_for, recorded, django_capture_on_commit_callbacks)
    rec = Recording.objects.get()
    assert rec.status == R.STOPPING
    name = f"recordings/{recorded.pk}/{rec.sid}_{recorded.channel_name}.m3u8"
    details = {
        "msgName": "uploaded",
        "status": 0,
        "fileList": [
            {
                "fileName": name,
                "trackType": "audio_and_video",
                "uid": "0",
                "mixedAllUser": True,
                "isPlayable": True,
                "sliceStartTime": 1_700_000_000_000,
            }
        ],
    }

    response = deliver(api_client, notice(31, rec.sid, recorded.channel_name, details))

    assert assert_envelope(response, 200)["outcome"] == "applied"
    rec.refresh_from_db()
    assert rec.status == R.READY
    assert LiveStream.objects.get(pk=recorded.pk).recording_url == (
        f"http://localhost:8000/media/{name}"
    )


@pytest.mark.django_db
def test_a_recording_event_of_an_unknown_recording_is_recorded_only(settings, api_client):
    settings.AGORA_NCS_SECRET = NCS_SECRET
    body = notice(31, "no-such-sid", "test_webhook", {"msgName": "uploaded", "fileList": []})
    assert assert_envelope(deliver(api_client, body), 200)["outcome"] == "unknown_recording"


@pytest.mark.django_db
def test_the_session_exit_event_has_the_recording_checked_now(
    agora, recorded, settings, api_client, client_for, django_capture_on_commit_callbacks
):
    settings.AGORA_NCS_SECRET = NCS_SECRET
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    rec = Recording.objects.get()
    agora.exit_recording(rec.sid)  # Agora ended it (a failure) and says so

    with django_capture_on_commit_callbacks(execute=True):
        body = notice(11, rec.sid, recorded.channel_name, {"msgName": "session_exit"})
        assert assert_envelope(deliver(api_client, body), 200)["outcome"] == "applied"

    assert len(agora.requests_to("recording.query")) == 1  # checked at once
    rec.refresh_from_db()
    # Nothing was ever reported recorded: it waits for Agora's upload notice.
    assert rec.status == R.UPLOADING
    assert "404" in rec.last_error
    # The host is live: recording goes on in a new recording.
    again = Recording.objects.exclude(pk=rec.pk).get()
    assert again.status == R.RECORDING


# --- The whole replay, end to end (eagerly; test_celery_worker.py with a worker) -----------


@pytest.mark.django_db
def test_a_recorded_stream_goes_live_ends_and_its_replay_is_rented_watched_and_settled(
    agora, recorded, client_for, django_capture_on_commit_callbacks
):
    go_live(client_for, recorded, django_capture_on_commit_callbacks)
    end(client_for, recorded, django_capture_on_commit_callbacks)
    owner = client_for(recorded.creator)
    assert_envelope(
        owner.patch(
            f"{API}/{recorded.pk}/replay-settings",
            {"isActiveReplayOnCreatorProfile": True, "replayCreditPrice": 5},
            format="json",
        ),
        200,
    )
    renter = UserFactory(credits="10")
    viewer = client_for(renter)
    before = assert_envelope(viewer.get(f"{API}/{recorded.pk}"), 200)
    assert before["recordingUrl"] is None  # not before renting

    assert assert_envelope(viewer.post(f"{API}/{recorded.pk}/replay-rentals"), 200)["status"] == (
        "rented"
    )

    watched = assert_envelope(viewer.get(f"{API}/{recorded.pk}"), 200)
    assert watched["recordingUrl"] == Recording.objects.get().url
    assert watched["replayAccess"]["canViewRecording"] is True
    CreditTransaction.objects.filter(status=TransactionStatus.PENDING).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )
    assert periodic.settle_replay_revenue.delay().get() == {"paid": 1, "credits": "4.00"}
    assert User.objects.get(pk=recorded.creator_id).credit_balance == Decimal("4.00")


def _staff_moderator() -> Client:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="moderate_livestream"))
    client = Client()
    client.force_login(user)
    return client
