"""The Agora system checks (allmine/core/checks.py) and a clean production `check --deploy`."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.checks import ERROR, WARNING

from allmine.core.checks import check_agora_credentials, check_secret_key

BASE_DIR = Path(__file__).resolve().parents[2]
VALID_ID = "0123456789abcdef0123456789ABCDEF"
VALID_CERT = "fedcba9876543210fedcba9876543210"


def _ids(messages):
    return sorted(m.id for m in messages)


@pytest.fixture
def production(settings):
    settings.DJANGO_ENV = "production"
    settings.PRODUCTION = True
    settings.AGORA_APP_ID = VALID_ID
    settings.AGORA_APP_CERTIFICATE = VALID_CERT
    settings.AGORA_TOKEN_TTL = 3600
    return settings


@pytest.fixture
def development(settings):
    settings.DJANGO_ENV = "development"
    settings.PRODUCTION = False
    settings.AGORA_TOKEN_TTL = 3600
    return settings


def test_valid_production_settings_pass(production):
    assert check_agora_credentials(None) == []


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "0123456789abcdef0123456789abcde",  # 31
        "0123456789abcdef0123456789abcdef0",  # 33
        "0123456789abcdef0123456789abcdeg",  # not hex
        " 0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef\n",
    ],
)
@pytest.mark.parametrize("name", ["AGORA_APP_ID", "AGORA_APP_CERTIFICATE"])
def test_malformed_agora_value_is_e001(production, name, value):
    setattr(production, name, value)
    messages = check_agora_credentials(None)
    assert _ids(messages) == ["allmine.E001"]
    assert messages[0].level == ERROR
    assert name in messages[0].msg


def test_malformed_values_in_development_are_e001_too(development):
    development.AGORA_APP_ID = "not-an-id"
    development.AGORA_APP_CERTIFICATE = ""
    messages = check_agora_credentials(None)
    assert [m.id for m in messages].count("allmine.E001") == 2
    assert all(m.level == ERROR for m in messages if m.id == "allmine.E001")


@pytest.mark.parametrize("which", ["id", "certificate", "both"])
def test_placeholders_in_production_are_e002(production, which):
    if which in ("id", "both"):
        production.AGORA_APP_ID = production.AGORA_PLACEHOLDER_APP_ID
    if which in ("certificate", "both"):
        production.AGORA_APP_CERTIFICATE = production.AGORA_PLACEHOLDER_APP_CERTIFICATE
    messages = check_agora_credentials(None)
    assert _ids(messages) == ["allmine.E002"]
    assert messages[0].level == ERROR


@pytest.mark.parametrize("ttl", [0, -1, 86401, 10**9])
def test_ttl_out_of_range_is_e003(production, ttl):
    production.AGORA_TOKEN_TTL = ttl
    messages = check_agora_credentials(None)
    assert _ids(messages) == ["allmine.E003"]
    assert messages[0].level == ERROR


@pytest.mark.parametrize("ttl", [1, 3600, 86400])
def test_ttl_in_range_passes(production, ttl):
    production.AGORA_TOKEN_TTL = ttl
    assert check_agora_credentials(None) == []


def test_placeholders_in_development_are_a_warning(development):
    development.AGORA_APP_ID = development.AGORA_PLACEHOLDER_APP_ID
    development.AGORA_APP_CERTIFICATE = development.AGORA_PLACEHOLDER_APP_CERTIFICATE
    messages = check_agora_credentials(None)
    assert _ids(messages) == ["allmine.W001"]
    assert messages[0].level == WARNING
    assert "PLACEHOLDER" in messages[0].msg


def test_real_credentials_in_development_give_no_warning(development):
    development.AGORA_APP_ID = VALID_ID
    development.AGORA_APP_CERTIFICATE = VALID_CERT
    assert check_agora_credentials(None) == []


def test_development_secret_key_in_production_is_an_error(production):
    production.SECRET_KEY = production.DEV_SECRET_KEY
    assert _ids(check_secret_key(None)) == ["allmine.E004"]


def test_real_secret_key_in_production_passes(production):
    production.SECRET_KEY = secrets.token_urlsafe(50)
    assert check_secret_key(None) == []


# --- manage.py check in a fresh process -----------------------------------------


def _manage(*args, **environ):
    """Run manage.py with only the given settings in the environment (nothing
    inherited from this test run, such as DATABASE_URL or DJANGO_ENV)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    }
    env.update(environ)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production_env(tmp_path, **overrides):
    env = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "api.allmine.example",
        "AGORA_APP_ID": secrets.token_hex(16),
        "AGORA_APP_CERTIFICATE": secrets.token_hex(16),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "PUBLIC_BASE_URL": "https://api.allmine.example",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_production_check_deploy_is_clean(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production_env(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output


def test_production_without_agora_settings_refuses_to_start(tmp_path):
    env = _production_env(tmp_path, AGORA_APP_ID=None, AGORA_APP_CERTIFICATE=None)
    result = _manage("check", **env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "allmine.E001" in output
    assert "AGORA_APP_ID" in output
    assert "AGORA_APP_CERTIFICATE" in output


def test_production_with_placeholders_refuses_to_start(tmp_path):
    env = _production_env(tmp_path, AGORA_APP_ID="0" * 32, AGORA_APP_CERTIFICATE="f" * 32)
    result = _manage("check", **env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "allmine.E002" in output


def test_production_without_secret_key_refuses_to_start(tmp_path):
    result = _manage("check", **_production_env(tmp_path, SECRET_KEY=None))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "SECRET_KEY" in output


BAD_SETTINGS = [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"DJANGO_ENV": "staging"}, "DJANGO_ENV"),
    ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
    ({"STORAGE_BACKEND": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
    ({"AGORA_REST_BASE_URL": "ftp://api.agora.io"}, "AGORA_REST_BASE_URL"),
    ({"AGORA_KICK_MINUTES": "0"}, "AGORA_KICK_MINUTES"),
    ({"AGORA_REST_TIMEOUT": "0"}, "AGORA_REST_TIMEOUT"),
]


@pytest.mark.parametrize(
    ("environ", "named"), BAD_SETTINGS, ids=[named for _environ, named in BAD_SETTINGS]
)
def test_a_bad_setting_is_one_line_naming_it_not_a_traceback(tmp_path, environ, named):
    result = _manage("check", **_production_env(tmp_path, **environ))
    assert result.returncode != 0, result.stdout
    assert 1 <= len(result.stderr.strip().splitlines()) <= 2, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_the_application_server_says_it_in_one_line_too(tmp_path):
    """gunicorn imports allmine.wsgi (with preload_app, in its master)."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(_production_env(tmp_path, SECRET_KEY=None))
    result = subprocess.run(
        [sys.executable, "-c", "import allmine.wsgi"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "Configuration error: SECRET_KEY must be set in production."


# --- The development placeholder warning, once per server start ----------------------

PLACEHOLDER_WARNING = "DEVELOPMENT PLACEHOLDER"


def _development_env(tmp_path) -> dict:
    return {"DJANGO_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}


def test_manage_py_commands_do_not_print_the_placeholder_warning(tmp_path):
    for command in (["check"], ["migrate", "--noinput"]):
        result = _manage(*command, **_development_env(tmp_path))
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert PLACEHOLDER_WARNING not in output, command


def test_runserver_prints_the_placeholder_warning_once(tmp_path):
    """runserver's autoreloader (two processes) and its system checks: one line."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(_development_env(tmp_path), PYTHONUNBUFFERED="1")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the reloader's child is stopped with it
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "runserver did not answer"
                time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert "Starting development server" in output
    assert output.count(PLACEHOLDER_WARNING) == 1, output
    (line,) = [line for line in output.splitlines() if PLACEHOLDER_WARNING in line]
    assert "AGORA_APP_ID" in line
