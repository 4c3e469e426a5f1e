"""Production plumbing: throttling on the shared cache (real Redis), failing open,
the health endpoint, request logs, CORS, static files and gunicorn."""

import json
import logging
import os
import runpy
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.db import OperationalError
from rest_framework.test import APIClient

from tests.api import assert_envelope, assert_error
from tests.factories import DEFAULT_PASSWORD, LiveStreamFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception:
        return False
    return True


@pytest.fixture
def redis_cache(settings):
    """Django's cache on the real Redis (CI sets REDIS_URL and must have it)."""
    if not _redis_reachable():
        if os.environ.get("REDIS_URL"):
            pytest.fail(f"REDIS_URL={REDIS_URL} is set but Redis does not answer")
        pytest.skip("needs Redis on 127.0.0.1:6379 (or REDIS_URL)")
    settings.CACHES = {
        "default": {
            "BACKEND": "allmine.core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # A prefix of its own per test: counters never leak between tests.
            "KEY_PREFIX": f"allmine-test-{os.getpid()}-{time.monotonic_ns()}",
        }
    }
    yield caches["default"]


@pytest.fixture
def dead_cache(settings):
    """A Redis cache whose server is not there (a closed local port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "allmine.core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


def _login(client, user, password=DEFAULT_PASSWORD, address="10.0.0.1"):
    return client.post(
        "/api/v1/auth/login",
        {"login": user.username, "password": password},
        format="json",
        REMOTE_ADDR=address,
    )


# --- Throttling ---------------------------------------------------------------------


@pytest.mark.django_db
def test_login_is_limited_per_client_address_on_redis(redis_cache, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "login": "3/minute"}
    user = UserFactory()
    client = APIClient()
    for _ in range(3):
        assert_envelope(_login(client, user), 200)

    refused = _login(client, user)
    assert_error(refused, 429)
    assert int(refused["Retry-After"]) > 0
    # Another address still gets in: the limit is per client address.
    assert_envelope(_login(client, user, address="10.0.0.2"), 200)


@pytest.mark.django_db
def test_join_limit_is_per_user(redis_cache, settings, client_for):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "join": "2/minute"}
    stream = LiveStreamFactory(status="active")
    first, second = UserFactory(), UserFactory()
    body = {"liveStreamId": stream.pk}
    for _ in range(2):
        assert_envelope(
            client_for(first).post("/api/v1/live-stream/join", body, format="json"), 200
        )
    assert_error(client_for(first).post("/api/v1/live-stream/join", body, format="json"), 429)
    assert_envelope(client_for(second).post("/api/v1/live-stream/join", body, format="json"), 200)


@pytest.mark.django_db
def test_a_throttled_request_is_counted_in_one_redis_round_trip(redis_cache, settings, monkeypatch):
    """The limit's counter costs one round trip to Redis (SET NX and INCR in one
    MULTI/EXEC), not Django's add + incr (three): every join pays it."""
    import redis.connection

    from allmine.core.throttling import JoinThrottle

    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "join": "2/minute"}
    caller = SimpleNamespace(user=UserFactory())
    redis_cache.get("warm-up")  # the connection opened
    sent = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(connection, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return send(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    allowed = [JoinThrottle().allow_request(caller, None) for _ in range(3)]

    assert allowed == [True, True, False]
    assert len(sent) == 3, sent  # one round trip each
    assert all(b"INCR" in packet and b"EXEC" in packet for packet in sent), sent


def test_the_cache_makes_its_redis_client_once(redis_cache, monkeypatch):
    """Django's Redis cache made a `redis.Redis` for every operation, which cost
    more CPU than the operation; ours keeps one per connection pool."""
    import redis

    redis_cache.set("made-once", 1)
    made = []
    make = redis.Redis.__init__

    def counted(client, *args, **kwargs):
        made.append(client)
        make(client, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    for n in range(5):
        redis_cache.set("made-once", n)
        assert redis_cache.get("made-once") == n
    assert redis_cache.incr("made-once") == 5
    redis_cache.delete_many(["made-once"])
    assert made == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_limit_holds_across_cache_clients(redis_cache, settings):
    """Each thread has its own cache client (as each process would): the counter
    they share lives in Redis, so together they get exactly the limit."""
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "register": "4/minute"}
    statuses = []
    barrier = threading.Barrier(8)

    def register(n):
        from django.db import connection

        try:
            barrier.wait()
            response = APIClient().post(
                "/api/v1/auth/register",
                {
                    "username": f"crowd{n}",
                    "email": f"crowd{n}@example.com",
                    "password": "a-long-password-42",
                    "name": "C",
                    "surname": "R",
                },
                format="json",
                REMOTE_ADDR="10.9.9.9",
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 4 + [429] * 4


@pytest.mark.django_db
def test_unreachable_cache_fails_open_and_warns_once(dead_cache, settings, caplog):
    import allmine.core.throttling

    allmine.core.throttling._last_warning = 0.0
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "login": "1/minute"}
    user = UserFactory()
    client = APIClient()
    with caplog.at_level(logging.WARNING, logger="allmine.throttling"):
        for _ in range(3):
            assert_envelope(_login(client, user), 200)  # over the limit, served anyway
    warnings = [r for r in caplog.records if r.name == "allmine.throttling"]
    assert len(warnings) == 1
    assert "cache is unreachable" in warnings[0].getMessage()


# --- Health -------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_reports_each_component(redis_cache):
    data = assert_envelope(APIClient().get("/api/v1/health"), 200)
    assert data == {"status": "ok", "database": "ok", "cache": "ok", "storage": "ok"}


@pytest.mark.django_db
def test_health_without_the_cache_still_serves(dead_cache):
    data = assert_envelope(APIClient().get("/api/v1/health"), 200)
    assert data["database"] == "ok"
    assert data["cache"] == "unavailable"


@pytest.mark.django_db
def test_health_is_503_without_the_database(monkeypatch):
    import allmine.core.views

    def down():
        raise OperationalError("connection refused")

    monkeypatch.setattr(allmine.core.views, "_database_ok", down)
    errors = assert_error(APIClient().get("/api/v1/health"), 503)
    assert "database" in errors[1]


@pytest.mark.django_db
def test_an_unavailable_database_during_a_request_is_a_503(monkeypatch, client_for):
    user = UserFactory()
    client = client_for(user)
    from livestreams.api import streams

    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(streams, "streams_filtered", down)
    errors = assert_error(client.get("/api/v1/live-stream"), 503)
    assert "server closed" not in " ".join(errors)


# --- Request logs -------------------------------------------------------------------


@pytest.mark.django_db
def test_each_request_is_logged_once_without_secrets(caplog, client_for):
    user = UserFactory()
    client = client_for(user)
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    with caplog.at_level(logging.INFO, logger="allmine.request"):
        response = client.get("/api/v1/auth/me", HTTP_X_REQUEST_ID="lb-42")
    assert response["X-Request-ID"] == "lb-42"
    (record,) = [r for r in caplog.records if r.name == "allmine.request"]
    assert record.request_id == "lb-42"
    assert record.user_id == user.pk
    assert record.path == "/api/v1/auth/me"
    assert record.status == 200
    assert record.duration_ms >= 0
    assert token not in caplog.text


@pytest.mark.django_db
def test_a_bad_request_id_is_replaced(caplog):
    with caplog.at_level(logging.INFO, logger="allmine.request"):
        response = APIClient().get("/api/v1/health", HTTP_X_REQUEST_ID="x" * 500 + "\n")
    assert len(response["X-Request-ID"]) == 32


def test_json_log_lines_in_production():
    """DJANGO_ENV=production logs one JSON object per line with the request fields."""
    code = (
        "import logging, django; django.setup();"
        "logging.getLogger('allmine.request').info('GET / 200',"
        " extra={'request_id': 'r1', 'user_id': None, 'path': '/', 'status': 200,"
        " 'duration_ms': 1.5})"
    )
    env = _production_env()
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["request_id"] == "r1"
    assert line["status"] == 200
    assert line["level"] == "INFO"


# --- CORS ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_cors_allows_the_configured_web_app_only(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.allmine.example"]
    client = APIClient()
    allowed = client.options(
        "/api/v1/auth/login",
        HTTP_ORIGIN="https://app.allmine.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert allowed["Access-Control-Allow-Origin"] == "https://app.allmine.example"
    other = client.get("/api/v1/health", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


# --- Static files and gunicorn --------------------------------------------------------


def _production_env(**extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "test-only-" + "k" * 60,
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "AGORA_APP_ID": "0123456789abcdef0123456789abcdef",
        "AGORA_APP_CERTIFICATE": "fedcba9876543210fedcba9876543210",
        "DATABASE_URL": "sqlite:////tmp/allmine-production-test.sqlite3",
        "SECURE_SSL_REDIRECT": "false",
    }
    for leftover in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(leftover, None)
    env.update(extra)
    return env


def test_collectstatic_writes_hashed_names(tmp_path):
    env = _production_env(STATIC_ROOT=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    hashed = manifest["livestreams/default-thumbnail.png"]
    assert hashed != "livestreams/default-thumbnail.png"
    assert (tmp_path / hashed).exists()
    assert (tmp_path / "admin/css/base.css").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_serves_the_api_and_static_files(tmp_path):
    """The documented command, with the repository's gunicorn.conf.py."""
    static_root = tmp_path / "static"
    database = tmp_path / "db.sqlite3"
    env = _production_env(
        STATIC_ROOT=str(static_root),
        DATABASE_URL=f"sqlite:///{database}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
    )
    port = _free_port()
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=120
        )
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "allmine.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        health = _get_when_up(f"http://127.0.0.1:{port}/api/v1/health", server)
        assert json.loads(health)["data"]["database"] == "ok"
        manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
        thumbnail = manifest["livestreams/default-thumbnail.png"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{thumbnail}") as response:
            assert response.status == 200
            assert "max-age" in response.headers["Cache-Control"]
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.parametrize(
    ("environ", "bind"),
    [
        ({}, "127.0.0.1:8000"),
        ({"PORT": "9000"}, "127.0.0.1:9000"),
        ({"GUNICORN_BIND": "0.0.0.0:8000"}, "0.0.0.0:8000"),
    ],
    ids=["default", "port", "gunicorn-bind"],
)
def test_gunicorn_listens_on_loopback_unless_gunicorn_bind_says_otherwise(
    monkeypatch, environ, bind
):
    for name in ("PORT", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == bind


def _get_when_up(url: str, server: subprocess.Popen, seconds: float = 90) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited: {server.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer in time")
