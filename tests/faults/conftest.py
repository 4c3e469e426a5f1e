"""Fault tests (issue 6, "Faults"): the app as a real gunicorn server on its own
PostgreSQL cluster and its own redis-server, each started here on a free
loopback port in a temporary folder, so that stopping them disturbs nothing
else on the machine.

PostgreSQL needs root (initdb and the server run as the `postgres` OS user) and
/usr/lib/postgresql/15/bin; redis-server must be on PATH. Without them the tests
are skipped, saying why, unless REQUIRE_FAULTS=1 (CI), which turns that into a
failure. REQUIRE_POSTGRES=1 alone does not: it is about the database the rest of
the suite runs on, which these tests do not use.

Every process and folder started here is stopped and removed at the end, also
when a test fails; a test that stops a service gets it back (`_services_back_up`).
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.faults.services import (
    DATABASE,
    LOOPBACK,
    PG_BIN,
    ROOT,
    THROTTLES,
    Postgres,
    Redis,
    started_gunicorn,
)

HERE = Path(__file__).resolve().parent
REQUIRED = os.environ.get("REQUIRE_FAULTS") == "1"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "faults: starts its own PostgreSQL, Redis and gunicorn and breaks them "
        "(skipped without root, PostgreSQL 15 and redis-server unless REQUIRE_FAULTS=1)",
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.faults)


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"REQUIRE_FAULTS=1 but the fault tests cannot run: {reason}")
    pytest.skip(f"fault tests: {reason}")


# Services a test may stop; each is brought back after every test.
_RESTARTABLE = []


@pytest.fixture(scope="session")
def fault_folder():
    folder = Path(tempfile.mkdtemp(prefix="allmine-faults-"))
    folder.chmod(0o711)  # the postgres user reaches its own subfolder
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(fault_folder):
    if os.geteuid() != 0:
        _unavailable("they run PostgreSQL as the postgres user, which needs root")
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        _unavailable(f"no PostgreSQL 15 binaries in {PG_BIN}")
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        _unavailable("there is no postgres OS user")
    folder = fault_folder / "pg"
    folder.mkdir()
    os.chown(folder, account.pw_uid, account.pw_gid)
    server = Postgres(folder)
    try:
        server.init()
        server.start()
        with server.connect(dbname="postgres") as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        _RESTARTABLE.append(server)
        yield server
    finally:
        if server in _RESTARTABLE:
            _RESTARTABLE.remove(server)
        if server.running():
            server.stop("immediate")


@pytest.fixture(scope="session")
def redis_server(fault_folder):
    if shutil.which("redis-server") is None:
        _unavailable("redis-server is not on PATH")
    folder = fault_folder / "redis"
    folder.mkdir()
    server = Redis(folder)
    server.start()
    _RESTARTABLE.append(server)
    try:
        yield server
    finally:
        _RESTARTABLE.remove(server)
        server.stop()


@pytest.fixture(autouse=True)
def _services_back_up():
    """A test that stops PostgreSQL or Redis (and fails before starting it again)
    does not take the next test down with it."""
    yield
    for service in list(_RESTARTABLE):
        service.ensure_running()


@pytest.fixture(scope="session")
def app_env(fault_folder, postgres, redis_server):
    """The production environment of the app, pointing at our own services; the
    database migrated and the static files collected."""
    static_root, media_root = fault_folder / "static", fault_folder / "media"
    static_root.mkdir()
    media_root.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "allmine.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": "fault-tests-only-" + "s3cr3t-K3y-" * 6,
        "ALLOWED_HOSTS": LOOPBACK,
        "SECURE_SSL_REDIRECT": "false",
        "AGORA_APP_ID": "0123456789abcdef0123456789abcdef",
        "AGORA_APP_CERTIFICATE": "fedcba9876543210fedcba9876543210",
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis_server.url,
        "STORAGE_BACKEND": "local",
        "STATIC_ROOT": str(static_root),
        "MEDIA_ROOT": str(media_root),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_LOG_LEVEL": "warning",
        **THROTTLES,
    }
    # collectstatic (compressing every file takes a while) runs alongside migrate.
    manage = [sys.executable, "manage.py"]
    commands = [["collectstatic", "--noinput", "-v0"], ["migrate", "--noinput", "-v0"]]
    running = [
        subprocess.Popen(
            [*manage, *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    try:
        for command, process in zip(commands, running, strict=True):
            _out, err = process.communicate(timeout=180)
            assert process.returncode == 0, f"manage.py {command[0]}: {err[-3000:]}"
    finally:
        for process in running:
            if process.poll() is None:
                process.kill()
                process.wait()
    return env


@pytest.fixture(scope="session")
def seed(app_env):
    """Users with access tokens and credits, a paid active stream and a scheduled
    stream with a funding goal (tests/faults/seed.py)."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.faults.seed"],
        cwd=ROOT,
        env=app_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def server(app_env, seed, fault_folder):
    """gunicorn (2 workers x 2 threads) on local media storage."""
    server = started_gunicorn(app_env, fault_folder, "local")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg(postgres):
    """A direct connection (autocommit) to the app's database, for checks."""
    conn = postgres.connect()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def _server_log_on_failure(request):
    """On a failure, the tail of each server's log is shown with the report."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name in ("server", "s3_server"):
            running = request.node.funcargs.get(name)
            if running is not None:
                print(f"--- {name} log ---\n{running.log_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
