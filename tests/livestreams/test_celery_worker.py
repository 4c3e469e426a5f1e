"""With a real Celery worker process on the real Redis (issue 11, "Done when"):
a recorded stream goes live, a viewer is banned and the ban lifted, the stream
ends, its replay is offered, rented and watched through the API, and the revenue
settled; the stand-in plays Agora. The requests return at once: the worker does
the talking to Agora after each commit.

PostgreSQL only: the worker is another process and must see the test's
committed rows (SQLite's test database lives in this process's memory). Redis:
CELERY_TEST_BROKER_URL (default redis://127.0.0.1:6379/11), emptied first."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from accounts.models import CreditTransaction, TransactionStatus, User
from allmine.celery import app as celery_app
from livestreams.models import AgoraKick, AgoraKickStatus, LiveStream, Recording, RecordingStatus
from livestreams.tasks import periodic
from tests.agora_standin import AgoraStandIn
from tests.api import assert_envelope
from tests.factories import UserFactory
from tests.helpers import database_url_of_tests
from tests.livestreams.conftest import APP_ID, KEY, SECRET

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/11")
CERTIFICATE = "fedcba9876543210fedcba9876543210"
API = "/api/v1/live-stream"
# Generous: the machine may be busy; a task normally lands in well under a second.
WAIT = 60


def wait_for(check, what: str, worker=None, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if worker is not None and worker.process.poll() is not None:
            pytest.fail(f"the worker exited while waiting for {what}:\n{worker.log()}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}" + (f":\n{worker.log()}" if worker else ""))


class Worker:
    """`celery -A allmine worker` in its own process group, stopped at the end."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self.handle = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "allmine",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname=issue11-test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        self.handle.flush()
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.handle.close()


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"no Redis for the Celery worker test at {BROKER}: {exc}")
        pytest.skip(f"no Redis at {BROKER}: {exc}")
    client.flushdb()
    yield BROKER
    client.flushdb()


@pytest.fixture
def stand_in(settings):
    with AgoraStandIn(customer_key=KEY, customer_secret=SECRET, app_id=APP_ID) as agora:
        yield agora


@pytest.fixture
def worker(broker, stand_in, settings, tmp_path):
    agora_env = {
        "AGORA_APP_ID": APP_ID,
        "AGORA_APP_CERTIFICATE": CERTIFICATE,
        "AGORA_CUSTOMER_KEY": KEY,
        "AGORA_CUSTOMER_SECRET": SECRET,
        "AGORA_REST_BASE_URL": stand_in.url,
        "AGORA_RECORDING_STORAGE_BUCKET": "allmine-recordings",
        "AGORA_RECORDING_STORAGE_ACCESS_KEY": "storage-access-key",
        "AGORA_RECORDING_STORAGE_SECRET_KEY": "storage-secret-key",
        "AGORA_RECORDING_STORAGE_ENDPOINT": "https://s3.example.com",
    }
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AGORA_", "CELERY_", "DATABASE_URL", "DJANGO_"))
    }
    env.update(
        agora_env,
        DJANGO_SETTINGS_MODULE="allmine.settings",
        DJANGO_ENV="test",
        DATABASE_URL=database_url_of_tests(),
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="0",
        PUBLIC_BASE_URL=settings.PUBLIC_BASE_URL,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    # This process publishes to the same broker, and uses the same Agora settings.
    for key, value in agora_env.items():
        setattr(settings, key, value)
    settings.AGORA_RECORDING_STORAGE_VENDOR = 11
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.update(task_always_eager=False, broker_url=broker)
    celery_app.amqp._producer_pool = None
    celery_app._pool = None
    process = Worker(env, tmp_path / "worker.log")
    try:
        wait_for(lambda: " ready." in process.log(), "the worker to start", process)
        yield process
    finally:
        process.stop()
        celery_app.conf.update(task_always_eager=True)
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app.amqp._producer_pool = None
        celery_app._pool = None


def timed(request):
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_a_real_worker_a_recorded_stream_is_recorded_rented_watched_and_settled(
    worker, stand_in, client_for
):
    creator, renter, troll = UserFactory(), UserFactory(credits="10"), UserFactory()
    owner = client_for(creator)
    created = assert_envelope(
        owner.post(f"{API}/create", {"title": "Kayıtlı yayın", "recording": True}, format="json"),
        201,
    )
    stream_id = created["id"]

    # Going live: the recording starts in the worker, not in the request.
    response, took = timed(
        lambda: owner.post(f"{API}/join-as-creator", {"liveStreamId": stream_id}, format="json")
    )
    assert_envelope(response, 200)
    assert took < 2
    recording = wait_for(
        lambda: Recording.objects.filter(status=RecordingStatus.RECORDING).first(),
        "the recording to start",
        worker,
    )
    assert [r.route for r in stand_in.requests] == ["recording.acquire", "recording.start"]

    # A ban and its lift leave no rule at Agora, and no request waits for Agora
    # (the stand-in takes 3 s to create the rule).
    assert_envelope(
        client_for(troll).post(f"{API}/join", {"liveStreamId": stream_id}, format="json"), 200
    )
    stand_in.answer("kicking-rule.post", "slow", delay=3)
    body = {"liveStreamId": stream_id, "targetUserId": troll.pk, "actionType": "BLOCK"}
    response, took = timed(lambda: owner.post("/api/v1/live-stream-ban", body, format="json"))
    ban_id = assert_envelope(response, 200)["id"]
    assert took < 2
    wait_for(lambda: stand_in.rules, "the kicking rule", worker)
    kick = wait_for(
        lambda: AgoraKick.objects.filter(status=AgoraKickStatus.DONE).first(), "the kick", worker
    )
    assert kick.rule_id in stand_in.rules
    response, took = timed(lambda: owner.delete(f"/api/v1/live-stream-ban/{ban_id}"))
    assert response.status_code == 200 and took < 2
    wait_for(
        lambda: AgoraKick.objects.filter(pk=kick.pk, status=AgoraKickStatus.LIFTED).exists(),
        "the lift",
        worker,
    )
    assert stand_in.rules == {}

    # The stream ends: the worker stops the recording and the replay gets its URL.
    response, took = timed(lambda: owner.post(f"{API}/{stream_id}/end"))
    assert_envelope(response, 200)
    assert took < 2
    url = wait_for(
        lambda: LiveStream.objects.get(pk=stream_id).recording_url, "the recording URL", worker
    )
    recording.refresh_from_db()
    assert url == recording.url
    assert url.endswith(f"/recordings/{stream_id}/{recording.sid}_{created['channelName']}.m3u8")

    # Offered, rented, watched.
    assert_envelope(
        owner.patch(
            f"{API}/{stream_id}/replay-settings",
            {"isActiveReplayOnCreatorProfile": True, "replayCreditPrice": 5},
            format="json",
        ),
        200,
    )
    viewer = client_for(renter)
    assert assert_envelope(viewer.get(f"{API}/{stream_id}"), 200)["recordingUrl"] is None
    assert_envelope(viewer.post(f"{API}/{stream_id}/replay-rentals"), 200)
    assert assert_envelope(viewer.get(f"{API}/{stream_id}"), 200)["recordingUrl"] == url

    # The rental window closes; the periodic job, run by the worker, pays the creator.
    CreditTransaction.objects.filter(status=TransactionStatus.PENDING).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )
    periodic.settle_replay_revenue.delay()
    wait_for(
        lambda: User.objects.get(pk=creator.pk).credit_balance == Decimal("4.00"),
        "the creator's share",
        worker,
    )
    assert User.objects.get(pk=renter.pk).credit_balance == Decimal("5.00")
    assert "livestreams.settle_replay_revenue" in worker.log()


def test_beat_starts_with_the_schedule_on_the_real_broker(broker, tmp_path):
    """What `make beat` runs: one beat sending CELERY_BEAT_SCHEDULE's jobs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="allmine.settings", CELERY_BROKER_URL=broker)
    log = tmp_path / "beat.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "allmine",
                "beat",
                "--loglevel=DEBUG",
                f"--schedule={tmp_path / 'celerybeat-schedule'}",
            ],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # "Ticking" comes once the schedule file is open: stopping beat sooner
            # could cut it off in the middle of opening it (a partial import).
            wait_for(lambda: "beat: Ticking with max interval" in log.read_text(), "beat to tick")
            assert process.poll() is None
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
    started = log.read_text()
    assert "Traceback" not in started
    assert "expire-streams livestreams.expire_streams()" in started
